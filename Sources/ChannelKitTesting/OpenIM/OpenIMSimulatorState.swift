import Foundation
import ChannelKit

/// What one simulator session's writer task puts on the wire.
enum OpenIMSimulatorOutgoing: Sendable {
    case text(String)
    case binary(Data)
    case close(code: UInt16, reason: String)
    case abort
}

/// The simulator's whole mutable state, guarded by one lock.
struct OpenIMSimulatorState {
    enum TokenStatus: Sendable { case normal, expired, invalid, kicked }

    struct TokenRecord {
        var userID: String
        var platformID: Int
        var status: TokenStatus
    }

    struct Session {
        var userID: String
        var platformID: Int
        var token: String
        var gzip = false
        var outbox: AsyncStream<OpenIMSimulatorOutgoing>.Continuation
    }

    var users: [String: OpenIMSimulator.Account] = [:]
    var tokens: [String: TokenRecord] = [:]
    var groups: [String: [String]] = [:]
    /// Messages per conversation, in seq order (seq = index + 1).
    var conversations: [String: [OpenIMSimulatorMessage]] = [:]
    var sessions: [Int: Session] = [:]
    var nextSessionID = 0
    var counter: UInt64 = 0
    var skipPushes: [String: Int] = [:]
    var sendFailures: [String: [(code: Int, message: String)]] = [:]
    var refreshGarbage = false
    var droppedReplies: [String: [Int: Int]] = [:]
    var uploads: [String: (name: String, contentType: String, parts: [Int: [UInt8]])] = [:]
    var objects: [String: [UInt8]] = [:]
    var friendCalls: [(path: String, userID: String)] = []
    var friends: [String: Set<String>] = [:]
    var blacks: [String: Set<String>] = [:]

    // Counters.
    var pushes = 0
    var pulls = 0
    var maxSeqRequests = 0
    var sends: [OpenIMSimulator.SentRecord] = []
    var misrouted = 0
    var refreshes: [String: Int] = [:]
    var connects: [OpenIMSimulator.ConnectRecord] = []
    var closedForOversize = 0

    func sessionIDs(of userID: String) -> [Int] {
        sessions.filter { $0.value.userID == userID }.map(\.key).sorted()
    }

    static func singleConversation(_ a: String, _ b: String) -> String {
        a < b ? "si_\(a)_\(b)" : "si_\(b)_\(a)"
    }

    /// The chat conversations a user belongs to.
    func conversationIDs(of userID: String) -> [String] {
        conversations.keys.filter { id in
            if id.hasPrefix("sg_") { return groups[String(id.dropFirst(3))]?.contains(userID) ?? false }
            if id.hasPrefix("si_") { return id.split(separator: "_").dropFirst().contains(Substring(userID)) }
            return false
        }.sorted()
    }
}
