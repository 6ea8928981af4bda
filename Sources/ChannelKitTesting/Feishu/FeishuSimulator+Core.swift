import Foundation
import Synchronization
import ChannelKit

extension FeishuSimulator {
    struct TokenRecord: Sendable {
        var value: String
        var appId: String
        var expiresAt: Date
    }

    struct InjectedFailure: Sendable {
        var status: Int
        var code: Int
        var message: String
        var resetSeconds: Int?
    }

    /// One event awaiting its ack.
    struct PendingEvent: Sendable {
        var eventID: String
        var payload: [UInt8]
        var firstPushed: Date
        var deliveries: Int
        var acked = false
    }

    enum Outgoing: Sendable {
        case binary([UInt8])
        case close(UInt16, String)
        case abort
    }

    struct ConnectionRecord: Sendable {
        var outbox: AsyncStream<Outgoing>.Continuation
        var appId: String
    }

    struct AppState: Sendable {
        var app: App
        var currentToken: TokenRecord?
        var tokenFetches = 0
        var endpointCalls = 0
        var botInfoCalls = 0
        var pings = 0
        var pingServices: [Int32] = []
        var acks: [Ack] = []
        var redeliveries = 0
        var duplicateUUIDs = 0
        var botInfoFailures = 0
        var botInfoFailingUntil: Date?
        var botInfoGate: AsyncGate?
        var endpointFailures: [(status: Int, code: Int)] = []
        var handshakeRejection: (status: Int, authCode: Int?, message: String)?
        var injectedFailures: [InjectedFailure] = []
        var clientConfig: JSONValue
        /// Chats the bot is in (p2p chats with its users, groups it was added to).
        var chats: Set<String> = []
        /// open_ids of users who wrote to the bot.
        var users: Set<String> = []
        /// message_id → chat_id of messages in the app's chats.
        var messages: [String: String] = [:]
        /// uuid → message_id of accepted sends (idempotency, 1 h).
        var uuids: [String: String] = [:]
        var pending: [String: PendingEvent] = [:]
        /// frame message_id → event id.
        var frameToEvent: [String: String] = [:]
        var lastEventPayload: JSONValue?
        var fragmentParts = 1
        var fragmentsReversed = false
        init(app: App, clientConfig: JSONValue) {
            self.app = app
            self.clientConfig = clientConfig
        }
    }

    struct State: Sendable {
        var apps: [String: AppState] = [:]
        var tokens: [String: TokenRecord] = [:]
        /// ticket → (appId, used).
        var tickets: [String: (appId: String, used: Bool)] = [:]
        var connections: [UInt64: ConnectionRecord] = [:]
        var uploads: [String: String] = [:]   // image/file key → appId
        var sends: [Send] = []
        var misrouted = 0
        var nextID: UInt64 = 0
        var connectWaiters = ConnectWaiters()
        var closed = false

        mutating func makeID() -> UInt64 {
            nextID += 1
            return nextID
        }

        func liveConnection(appId: String) -> UInt64? {
            connections.filter { $0.value.appId == appId }.keys.max()
        }

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
        private let wsBase = Mutex("")
        var webSocketBase: String {
            get { wsBase.withLock { $0 } }
            set { wsBase.withLock { $0 = newValue } }
        }

        init(configuration: Configuration) {
            self.configuration = configuration
        }

        var now: Date { configuration.time.now() }

        /// A hex id derived from `parts` (FNV-1a), as Feishu ids look after their prefix.
        static func hexID(_ parts: String..., length: Int = 32) -> String {
            let joined = parts.joined(separator: "\u{1F}")
            var out = ""
            var salt: UInt64 = 0
            while out.count < length {
                var h: UInt64 = 0xcbf2_9ce4_8422_2325 &+ salt
                for b in joined.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
                let hex = String(h, radix: 16)
                out += String(repeating: "0", count: 16 - hex.count) + hex
                salt += 1
            }
            return String(out.prefix(length))
        }

        // MARK: Frames (pbbp2, written from the protocol notes on the core protobuf codec)

        static func frame(seqID: UInt64, logID: UInt64, service: Int32, method: Int32, headers: [(String, String)], payload: [UInt8]?) -> [UInt8] {
            var w = ProtobufWriter(capacity: 64 + (payload?.count ?? 0))
            w.writeUInt64(1, seqID, always: true)
            w.writeUInt64(2, logID, always: true)
            w.writeInt32(3, service, always: true)
            w.writeInt32(4, method, always: true)
            for (k, v) in headers {
                w.writeMessage(5) { h in
                    h.writeString(1, k, always: true)
                    h.writeString(2, v, always: true)
                }
            }
            if let payload { w.writeBytes(8, payload, always: true) }
            return w.bytes
        }

        struct ClientFrame {
            var seqID: UInt64 = 0, logID: UInt64 = 0, service: Int32 = 0, method: Int32 = -1
            var headers: [(String, String)] = []
            var payload: [UInt8] = []
            func header(_ key: String) -> String? { headers.first { $0.0 == key }?.1 }
        }

        static func parseFrame(_ bytes: [UInt8]) -> ClientFrame? {
            try? ProtobufReader.read(bytes) { r throws(ProtobufDecodingError) -> ClientFrame in
                var f = ClientFrame()
                var seen = 0
                while let key = try r.nextField() {
                    switch key.number {
                    case 1: f.seqID = try r.readUInt64(); seen |= 1
                    case 2: f.logID = try r.readUInt64(); seen |= 2
                    case 3: f.service = try r.readInt32(); seen |= 4
                    case 4: f.method = try r.readInt32(); seen |= 8
                    case 5:
                        let h = try r.readMessage { m throws(ProtobufDecodingError) -> (String, String) in
                            var k = "", v = ""
                            while let hk = try m.nextField() {
                                switch hk.number {
                                case 1: k = try m.readString()
                                case 2: v = try m.readString()
                                default: try m.skip(hk)
                                }
                            }
                            return (k, v)
                        }
                        f.headers.append(h)
                    case 8: f.payload = try r.readBytes()
                    default: try r.skip(key)
                    }
                }
                guard seen == 15 else { throw ProtobufDecodingError(.missingRequiredField, offset: r.offset, message: "required field missing") }
                return f
            }
        }

        // MARK: Events

        /// Records a pending event and pushes it on the app's live connection (split into
        /// the app's fragment count).
        func pushEvent(appId: String, eventID: String, payload: [UInt8], redelivery: Bool = false) {
            let now = self.now
            let sends: [(AsyncStream<Outgoing>.Continuation, [UInt8])] = state.withLock { s in
                guard var app = s.apps[appId] else { return [] }
                if redelivery {
                    app.pending[eventID]?.deliveries += 1
                    app.redeliveries += 1
                } else if app.pending[eventID] == nil {
                    app.pending[eventID] = PendingEvent(eventID: eventID, payload: payload, firstPushed: now, deliveries: 1)
                } else {
                    app.pending[eventID]?.deliveries += 1
                    app.pending[eventID]?.acked = false
                }
                let n = s.makeID()
                let frameMessageID = "fm_" + Self.hexID("frame", appId, String(n), length: 24)
                app.frameToEvent[frameMessageID] = eventID
                let parts = max(1, min(app.fragmentParts, max(1, payload.count)))
                var chunks: [[UInt8]] = []
                let size = (payload.count + parts - 1) / parts
                for i in 0..<parts {
                    let lo = min(payload.count, i * size), hi = min(payload.count, lo + size)
                    chunks.append(Array(payload[lo..<hi]))
                }
                var frames: [[UInt8]] = []
                for (i, chunk) in chunks.enumerated() {
                    let headers: [(String, String)] = [
                        ("type", "event"), ("message_id", frameMessageID), ("sum", String(parts)), ("seq", String(i)),
                        ("trace_id", "trace-" + Self.hexID("trace", String(n), length: 16)),
                        ("timestamp", String(Int64(now.timeIntervalSince1970 * 1000))),
                    ]
                    frames.append(Self.frame(seqID: n, logID: n, service: configuration.serviceID, method: 1, headers: headers, payload: chunk))
                }
                if app.fragmentsReversed { frames.reverse() }
                s.apps[appId] = app
                guard let c = s.liveConnection(appId: appId), let outbox = s.connections[c]?.outbox else { return [] }
                return frames.map { (outbox, $0) }
            }
            for (outbox, bytes) in sends { outbox.yield(.binary(bytes)) }
            scheduleRedelivery(appId: appId, eventID: eventID)
        }

        /// After the ack timeout, pushes the event again if it is still unacked.
        private func scheduleRedelivery(appId: String, eventID: String) {
            let time = configuration.time
            let timeout = configuration.ackTimeout
            Task { [self] in
                do { try await time.sleep(for: timeout) } catch { return }
                let again: [UInt8]? = state.withLock { s in
                    guard !s.closed, let p = s.apps[appId]?.pending[eventID], !p.acked,
                          p.deliveries <= configuration.maximumRedeliveries else { return nil }
                    return p.payload
                }
                if let again { pushEvent(appId: appId, eventID: eventID, payload: again, redelivery: true) }
            }
        }

        func recordAck(appId: String, frame: ClientFrame) {
            let now = self.now
            guard let frameMessageID = frame.header("message_id") else { return }
            state.withLock { s in
                guard let eventID = s.apps[appId]?.frameToEvent[frameMessageID], let pending = s.apps[appId]?.pending[eventID] else { return }
                let code = (try? JSONDecoder().decode(JSONValue.self, from: Data(frame.payload)))?["code"]?.intValue
                let echoed = frame.seqID == frame.logID && frame.service == configuration.serviceID && frame.header("type") == "event"
                    && frame.header("trace_id") != nil && frame.header("sum") != nil
                s.apps[appId]?.acks.append(Ack(appId: appId, eventID: eventID, code: code, bizRT: frame.header("biz_rt"), echoedFrame: echoed,
                                               latency: .milliseconds(Int64(now.timeIntervalSince(pending.firstPushed) * 1000))))
                s.apps[appId]?.pending[eventID]?.acked = true
            }
        }

        // MARK: Tokens

        enum AuthResult {
            case app(String)
            case failure(Int, String)
        }

        func authenticate(_ header: String?) -> AuthResult {
            guard let header, header.hasPrefix("Bearer "), header.count > 7 else { return .failure(99_991_661, "missing access token") }
            let value = String(header.dropFirst(7))
            let now = self.now
            return state.withLock { s in
                guard let record = s.tokens[value], now < record.expiresAt else { return .failure(99_991_663, "invalid tenant access token") }
                return .app(record.appId)
            }
        }

        func issueToken(appId: String, secret: String) -> String {
            let now = self.now
            return state.withLock { s -> String in
                guard let app = s.apps[appId] else { return #"{"code":10003,"msg":"invalid param"}"# }
                guard app.app.appSecret == secret else { return #"{"code":10014,"msg":"app secret invalid"}"# }
                s.apps[appId]?.tokenFetches += 1
                var token = app.currentToken
                if let current = token, current.expiresAt.timeIntervalSince(now) <= configuration.rotationWindow.seconds { token = nil }
                if token == nil {
                    let n = s.makeID()
                    let record = TokenRecord(value: "t-" + Self.hexID("token", appId, String(n), length: 40), appId: appId,
                                             expiresAt: now.addingTimeInterval(configuration.tokenLifetime.seconds))
                    s.tokens[record.value] = record
                    s.apps[appId]?.currentToken = record
                    token = record
                }
                guard let token else { return #"{"code":1,"msg":"system busy"}"# }
                let remaining = max(0, Int(token.expiresAt.timeIntervalSince(now).rounded(.down)))
                return #"{"code":0,"msg":"ok","tenant_access_token":"\#(token.value)","expire":\#(remaining)}"#
            }
        }

        func expireTokens(appId: String) {
            let now = self.now
            state.withLock { s in
                for (value, record) in s.tokens where record.appId == appId && record.expiresAt > now { s.tokens[value]?.expiresAt = now }
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

        func sendToLive(appId: String, _ item: Outgoing) {
            state.withLock { s in
                for (_, c) in s.connections where c.appId == appId { c.outbox.yield(item) }
            }
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
    }
}
