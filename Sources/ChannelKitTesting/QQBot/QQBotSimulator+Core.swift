import Foundation
import Synchronization
import ChannelKit

extension QQBotSimulator {
    struct TokenRecord: Sendable {
        var value: String
        var appId: String
        var expiresAt: Date
    }

    struct InjectedFailure: Sendable {
        var status: Int
        var code: Int
        var message: String
        var retryAfter: Int?
    }

    struct InboundRecord: Sendable {
        var appId: String
        var scene: String
        var target: String
        var receivedAt: Date
        var seqs: Set<Int> = []
    }

    struct UploadRecord: Sendable {
        var appId: String
        var scene: String
        var target: String
    }

    struct SessionRecord: Sendable {
        var id: String
        var appId: String
        var seq: Int
        var log: [(seq: Int, frame: String)] = []
        var connection: UInt64?
    }

    enum Outgoing: Sendable {
        case text(String)
        case close(UInt16, String)
        case abort
    }

    struct ConnectionRecord: Sendable {
        var outbox: AsyncStream<Outgoing>.Continuation
        var appId: String?
        var sessionID: String?
        var ready = false
    }

    struct AppState: Sendable {
        var bot: Bot
        var currentToken: TokenRecord?
        var tokenFetches = 0
        var identifies = 0
        var resumes = 0
        var heartbeats = 0
        var acknowledgeHeartbeats = true
        var currentSession: String?
        /// `scene:target` of every peer that wrote to the bot.
        var peers: Set<String> = []
        var injectedFailures: [InjectedFailure] = []
        var lastPush: (type: String, d: JSONValue)?
        init(bot: Bot) { self.bot = bot }
    }

    struct State: Sendable {
        var apps: [String: AppState] = [:]
        var tokens: [String: TokenRecord] = [:]
        var sessions: [String: SessionRecord] = [:]
        var connections: [UInt64: ConnectionRecord] = [:]
        var inbound: [String: InboundRecord] = [:]
        var uploads: [String: UploadRecord] = [:]
        var sends: [Send] = []
        var misrouted = 0
        var nextID: UInt64 = 0
        var connectWaiters = ConnectWaiters()
        var closed = false

        mutating func makeID() -> UInt64 {
            nextID += 1
            return nextID
        }

        /// The app's ready connection, if any.
        func liveConnection(appId: String) -> UInt64? {
            guard let sid = apps[appId]?.currentSession, let c = sessions[sid]?.connection, connections[c]?.ready == true else { return nil }
            return c
        }

        /// Removes and returns the waiters of apps that are now connected.
        mutating func takeReadyWaiters() -> [CheckedContinuation<Void, Never>] {
            var waiters = connectWaiters
            let ready = waiters.takeReady { closed || liveConnection(appId: $0) != nil }
            connectWaiters = waiters
            return ready
        }
    }

    /// State and protocol logic shared by the HTTP and WebSocket servers.
    final class Core: Sendable {
        let configuration: Configuration
        let state = Mutex(State())
        private let gatewayURLStorage = Mutex("")
        var gatewayURL: String {
            get { gatewayURLStorage.withLock { $0 } }
            set { gatewayURLStorage.withLock { $0 = newValue } }
        }

        init(configuration: Configuration) {
            self.configuration = configuration
        }

        var now: Date { configuration.time.now() }

        static func json(_ value: JSONValue) -> String {
            value.jsonText
        }

        /// `2026-01-01T08:00:00+08:00` (the platform's Beijing-time RFC 3339), formatted by
        /// hand: a formatter per message dominated the simulator's push cost.
        static func rfc3339(_ date: Date) -> String {
            let seconds = Int(date.timeIntervalSince1970.rounded(.down)) + 8 * 3600
            let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
            let secondOfDay = seconds - days * 86_400
            // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
            let z = days + 719_468
            let era = (z >= 0 ? z : z - 146_096) / 146_097
            let doe = z - era * 146_097
            let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
            let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
            let mp = (5 * doy + 2) / 153
            let day = doy - (153 * mp + 2) / 5 + 1
            let month = mp < 10 ? mp + 3 : mp - 9
            let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
            func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
            return "\(year)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay % 3600 / 60)):\(two(secondOfDay % 60))+08:00"
        }

        // MARK: Dispatch

        /// Records an inbound message, makes its peer the app's, pushes the dispatch.
        func injectMessage(appId: String, scene: String, target: String, type: String,
                           _ build: (_ id: String, _ timestamp: String, _ bot: Bot) -> JSONValue) -> String {
            let now = self.now
            let timestamp = Self.rfc3339(now)
            let (id, bot): (String, Bot?) = state.withLock { s in
                let n = s.makeID()
                let id = "ROBOT1.0_" + QQBotSimulator.openID("msg", appId, String(n)).prefix(22) + String(n)
                guard s.apps[appId] != nil else { return (id, nil) }
                s.apps[appId]?.peers.insert(scene + ":" + target)
                s.inbound[id] = InboundRecord(appId: appId, scene: scene, target: target, receivedAt: now)
                return (id, s.apps[appId]?.bot)
            }
            guard let bot else { return id }
            push(appId: appId, type: type, d: build(id, timestamp, bot))
            return id
        }

        /// Appends a dispatch to the app's current session and sends it on the live
        /// connection, if any (it is replayed on resume otherwise).
        func push(appId: String, type: String, d: JSONValue) {
            let body = Self.json(d)
            state.withLock { s in
                s.apps[appId]?.lastPush = (type, d)
                // Taken out of the dictionary while it is changed, so its replay log is
                // not copied on every push.
                guard let sid = s.apps[appId]?.currentSession, var session = s.sessions.removeValue(forKey: sid) else { return }
                session.seq += 1
                let eventID = type + ":" + QQBotSimulator.openID("event", sid, String(session.seq)).prefix(24)
                let frame = #"{"op":0,"s":\#(session.seq),"t":"\#(type)","id":"\#(eventID)","d":\#(body)}"#
                session.log.append((session.seq, frame))
                if session.log.count > configuration.replayLimit { session.log.removeFirst(session.log.count - configuration.replayLimit) }
                if let c = session.connection, let connection = s.connections[c], connection.ready {
                    connection.outbox.yield(.text(frame))
                }
                s.sessions[sid] = session
            }
        }

        func duplicateLastPush(appId: String) {
            guard let last = state.withLock({ $0.apps[appId]?.lastPush }) else { return }
            push(appId: appId, type: last.type, d: last.d)
        }

        func sendToLive(appId: String, _ item: Outgoing) {
            state.withLock { s in
                for (_, connection) in s.connections where connection.appId == appId {
                    connection.outbox.yield(item)
                }
            }
        }

        func forgetSessions(appId: String) {
            state.withLock { s in
                s.sessions = s.sessions.filter { $0.value.appId != appId }
                s.apps[appId]?.currentSession = nil
            }
        }

        func expireTokens(appId: String) {
            let now = self.now
            state.withLock { s in
                for (value, record) in s.tokens where record.appId == appId && record.expiresAt > now {
                    s.tokens[value]?.expiresAt = now
                }
                s.apps[appId]?.currentToken = nil
            }
        }

        func closeAll() {
            let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                s.closed = true
                for (_, c) in s.connections { c.outbox.yield(.abort) }
                return s.takeReadyWaiters()
            }
            for w in waiters { w.resume() }
        }

        func waitUntilConnected(appId: String) async {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { s -> Bool in
                    if s.closed || s.liveConnection(appId: appId) != nil { return true }
                    s.connectWaiters.add(appId, c)
                    return false
                }
                if ready { c.resume() }
            }
        }

        // MARK: Tokens

        /// The app owning a valid token, or the platform code for why it is not valid.
        struct AuthFailure: Error {
            var status: Int
            var code: Int
            var message: String
        }

        func authenticate(_ header: String?) -> Result<String, AuthFailure> {
            guard let header, !header.isEmpty else { return .failure(AuthFailure(status: 401, code: 11241, message: "token missing")) }
            guard header.hasPrefix("QQBot ") else {
                return .failure(AuthFailure(status: 401, code: header.hasPrefix("Bot ") ? 11245 : 11242, message: "token check failed"))
            }
            let value = String(header.dropFirst(6))
            let now = self.now
            return state.withLock { s in
                guard let record = s.tokens[value] else { return .failure(AuthFailure(status: 401, code: 11243, message: "token invalid")) }
                guard now < record.expiresAt else { return .failure(AuthFailure(status: 401, code: 11244, message: "token expired")) }
                return .success(record.appId)
            }
        }

        func issueToken(appId: String, secret: String) -> (status: Int, body: String) {
            let now = self.now
            return state.withLock { s -> (Int, String) in
                guard let app = s.apps[appId] else { return (200, #"{"code":100007,"message":"appid invalid"}"#) }
                guard app.bot.clientSecret == secret else { return (200, #"{"code":100016,"message":"invalid appid or secret"}"#) }
                s.apps[appId]?.tokenFetches += 1
                var token = app.currentToken
                if let current = token, current.expiresAt.timeIntervalSince(now) <= configuration.rotationWindow.seconds {
                    token = nil   // rotation window: mint a new one; the old stays valid until it expires
                }
                if token == nil || (token.map { now >= $0.expiresAt } ?? true) {
                    let n = s.makeID()
                    let value = "simtok." + QQBotSimulator.openID("token", appId, String(n)).lowercased() + "." + String(n)
                    let record = TokenRecord(value: value, appId: appId, expiresAt: now.addingTimeInterval(configuration.tokenLifetime.seconds))
                    s.tokens[value] = record
                    s.apps[appId]?.currentToken = record
                    token = record
                }
                guard let token else { return (500, "{}") }
                let remaining = max(0, Int(token.expiresAt.timeIntervalSince(now).rounded(.down)))
                let expires = configuration.expiresInAsString ? "\"\(remaining)\"" : "\(remaining)"
                return (200, #"{"access_token":"\#(token.value)","expires_in":\#(expires)}"#)
            }
        }
    }
}
