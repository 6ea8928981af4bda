import Foundation
import ChannelKit

/// What one simulator session's writer task puts on the wire.
enum ClawChatSimulatorOutgoing: Sendable {
    case text(String)
    case ping
    case close(code: UInt16, reason: String)
    case abort
}

/// The simulator's whole mutable state, guarded by one lock.
struct ClawChatSimulatorState {
    struct AccessToken {
        var userID: String
        var expiresAt: Date
        var revoked = false
    }

    struct AccountEntry {
        var account: ClawChatSimulator.Account
        var refreshCount = 0
    }

    struct Chat {
        var type: ClawChatSimulator.ChatType
        var members: [String]
    }

    struct InboxEntry {
        var messageID: String
        /// The frame as a JSON object without `dseq`.
        var frame: [String: JSONValue]
    }

    struct DeviceKey: Hashable {
        var userID: String
        var deviceID: String
    }

    struct Session {
        var userID: String?
        var deviceID: String = ""
        var token: String = ""
        var nonce: String
        var ackMode = false
        var outbox: AsyncStream<ClawChatSimulatorOutgoing>.Continuation
        /// Inbox positions sent on this socket (without ack mode they count as delivered).
        var authenticated: Bool { userID != nil }
    }

    var accounts: [String: AccountEntry] = [:]
    var accessTokens: [String: AccessToken] = [:]
    /// Unspent refresh tokens → user id.
    var refreshTokens: [String: String] = [:]
    var chats: [String: Chat] = [:]
    var inbox: [String: [InboxEntry]] = [:]
    var inboxIDs: [String: Set<String>] = [:]
    /// Delivered (acked, or sent without ack mode) inbox positions per (user, device), 1-based.
    var delivered: [DeviceKey: Set<Int>] = [:]
    var sessions: [Int: Session] = [:]
    var nextSessionID = 0
    var sent: [ClawChatSimulator.SentRecord] = []
    var acceptedIDs: Set<String> = []
    var refreshes: [ClawChatSimulator.RefreshRecord] = []
    var connects: [ClawChatSimulator.ConnectRecord] = []
    var uploads: [ClawChatSimulator.UploadRecord] = []
    var uplinks: [String: [String]] = [:]
    var misrouted = 0
    var refreshGate: AsyncGate?
    var refreshScripts: [String: [ClawChatSimulator.RefreshScript]] = [:]
    var helloFailScripts: [String: [String]] = [:]
    var sendErrorScripts: [String: [(code: String, reason: String)]] = [:]
    var droppedAcks: [String: Int] = [:]
    var corruptAcks: [String: Int] = [:]
    var legacyErrorField: Set<String> = []
    /// Spent refresh tokens: when, the pair they bought, how often replayed since.
    var spentRefreshTokens: [String: (owner: String, spentAt: Date, access: String, refresh: String, replays: Int)] = [:]
    var ackEpoch = 1
    var counter: UInt64 = 0

    /// Authenticated sessions per user (an index over ``sessions``).
    var sessionsByUser: [String: Set<Int>] = [:]
    /// Direct chats by their two members (sorted, joined by NUL).
    var directChats: [String: String] = [:]

    func sessionIDs(of userID: String) -> [Int] {
        (sessionsByUser[userID] ?? []).sorted()
    }

    /// Sets or clears the authenticated user of a session, keeping the index.
    mutating func setUser(_ userID: String?, ofSession id: Int) {
        if let old = sessions[id]?.userID { sessionsByUser[old]?.remove(id) }
        sessions[id]?.userID = userID
        if let userID { sessionsByUser[userID, default: []].insert(id) }
    }

    mutating func removeSession(_ id: Int) {
        if let old = sessions[id]?.userID { sessionsByUser[old]?.remove(id) }
        sessions[id] = nil
    }

    static func directKey(_ a: String, _ b: String) -> String { a < b ? a + "\u{0}" + b : b + "\u{0}" + a }

    mutating func addChat(_ id: String, type: ClawChatSimulator.ChatType, members: [String]) {
        chats[id] = Chat(type: type, members: members)
        if type == .direct, members.count == 2 { directChats[Self.directKey(members[0], members[1])] = id }
    }
}
