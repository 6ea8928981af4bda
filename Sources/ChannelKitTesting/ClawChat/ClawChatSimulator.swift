import Foundation
import Synchronization
import ChannelKit

/// A loopback ClawChat server (REST + Protocol v2 WebSocket on one port), written from
/// the protocol notes and independent of the adapter, for tests, `channelkit demo` and
/// benchmarks.
///
/// ```swift
/// let clock = TestClock()
/// let sim = ClawChatSimulator(configuration: .init(time: clock.timeSource))
/// try sim.start()
/// let agent = sim.addAccount(userID: "usr_agent")
/// let human = sim.addAccount(userID: "usr_alice")
/// let chat = sim.addChat(type: .direct, members: [agent.userID, human.userID])
/// // point an account at sim.baseURL (websocketUrl derives to sim.websocketURL)
/// let id = sim.injectMessage(toUser: agent.userID, chatID: chat, fromUser: human.userID, text: "hi")
/// await sim.shutdown()
/// ```
///
/// What it does, as the notes describe the real server:
/// - `GET /ws` upgrade; `connect.challenge` (24-char nonce) → `connect` → `hello-ok`
///   (`ack_mode:"dseq"` and `ack_epoch` for `protocol_version:2`) or `hello-fail`
///   followed by a drop without a close frame (1006). A second session of the same
///   `(user, device)` takes over: the old one is closed with 4001.
/// - Replay after `hello-ok` of every inbox message not yet delivered to that
///   `(user, device)`, then `replay.done`. With ack mode a message counts as delivered
///   only once its `dseq` is acked (`{"event":"ack","payload":{"dseq":N}}`, INFERRED).
/// - `message.send`/`message.reply` → `message.ack` (same `trace_id`) or `message.error`
///   (`unsupported_version`, `chat_not_found`, `not_member`, `message_id_too_long`,
///   scripted codes); fan-out to every member's inbox with `UNIQUE(recipient,
///   message_id)`, including the sender (self-echo). JSON `ping` → `pong`.
/// - `POST /v1/auth/refresh`: no `Authorization` expected; `X-Device-Id` must equal the
///   account's bound device; single-use refresh tokens (a spent or unknown one, or a
///   device mismatch, answers `10003`); rotates both tokens.
/// - `GET /v1/users/me`, `POST /media/upload` (multipart, part `file`), bearer-checked
///   (HTTP 401 with an envelope otherwise).
/// - Close codes (4001, 4002, 1009, …), drops and server pings on demand.
///
/// Time (token expiry, `emitted_at`, the handshake deadline) comes from
/// ``Configuration/time``.
public final class ClawChatSimulator: Sendable {
    /// Tuning of the simulator.
    public struct Configuration: Sendable {
        /// Clock and wall time. Default ``TimeSource/system``.
        public var time: TimeSource
        /// Lifetime of minted access tokens. Default 24 h.
        public var accessTokenLifetime: Duration
        /// Close (drop) a socket that sends no `connect` within this; `nil` never.
        /// Default 10 s.
        public var handshakeTimeout: Duration?
        /// Send RFC 6455 pings at this interval; `nil` never. Default `nil`.
        public var serverPingInterval: Duration?
        /// Largest inbound frame; larger ones are answered with close 1009. Default 8 MiB.
        public var maximumFrameSize: Int
        /// Grant `ack_mode:"dseq"` to `protocol_version:2` clients. Default `true`.
        public var grantsAckMode: Bool
        /// Echo accepted messages to the sender's own sockets too (self-echo). Default `true`.
        public var echoToSender: Bool
        /// Largest media upload in bytes (answers 413/`41301` above). Default 100 MiB.
        public var maximumUploadSize: Int
        /// How often a spent refresh token may be replayed (answered with the pair it
        /// already bought), and for how long after it was spent: newer servers allow 2
        /// replays within about 90 s. Default `nil`: a spent token answers `10003`.
        public var refreshReplayGrace: (count: Int, window: Duration)?
        /// Send `replay.done` after the replay (older servers did not). Default `true`.
        public var sendsReplayDone: Bool
        /// Answer JSON `ping` with `pong`. Default `true`; `false` plays a server that
        /// went silent.
        public var answersJSONPing: Bool

        /// Creates a configuration; every parameter defaults to the value documented on
        /// its property.
        public init(
            time: TimeSource = .system,
            accessTokenLifetime: Duration = .seconds(24 * 3600),
            handshakeTimeout: Duration? = .seconds(10),
            serverPingInterval: Duration? = nil,
            maximumFrameSize: Int = 8 << 20,
            grantsAckMode: Bool = true,
            echoToSender: Bool = true,
            maximumUploadSize: Int = 100 << 20,
            refreshReplayGrace: (count: Int, window: Duration)? = nil,
            sendsReplayDone: Bool = true,
            answersJSONPing: Bool = true
        ) {
            self.sendsReplayDone = sendsReplayDone
            self.answersJSONPing = answersJSONPing
            self.refreshReplayGrace = refreshReplayGrace
            self.time = time
            self.accessTokenLifetime = accessTokenLifetime
            self.handshakeTimeout = handshakeTimeout
            self.serverPingInterval = serverPingInterval
            self.maximumFrameSize = maximumFrameSize
            self.grantsAckMode = grantsAckMode
            self.echoToSender = echoToSender
            self.maximumUploadSize = maximumUploadSize
        }
    }

    /// The configuration.
    public let configuration: Configuration
    let state = Mutex(ClawChatSimulatorState())
    private let server = Mutex<LoopbackHTTPServer?>(nil)

    /// Creates a stopped simulator; call ``start()``.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Starts listening on `127.0.0.1:<ephemeral>`. Idempotent.
    /// - Throws: ``LoopbackTCPError`` when the socket cannot be set up.
    public func start() throws {
        if server.withLock({ $0 != nil }) { return }
        let http = try LoopbackHTTPServer()
        installRoutes(on: http)
        server.withLock { $0 = http }
    }

    /// Closes every socket and the listener, and waits for the handlers to end.
    public func shutdown() async {
        let http = server.withLock { s -> LoopbackHTTPServer? in defer { s = nil }; return s }
        let outboxes = state.withLock { s in s.sessions.values.map(\.outbox) }
        for outbox in outboxes { outbox.yield(.abort); outbox.finish() }
        state.withLock { $0.refreshGate?.open() }
        await http?.shutdown()
    }

    /// `http://127.0.0.1:<port>`: the account's `baseUrl`.
    /// - Precondition: ``start()`` was called.
    public var baseURL: URL {
        guard let url = server.withLock({ $0?.baseURL }) else { preconditionFailure("ClawChatSimulator.start() was not called") }
        return url
    }

    /// `ws://127.0.0.1:<port>/ws`: what `websocketUrl` derives to from ``baseURL``.
    public var websocketURL: URL {
        URL(string: "ws://127.0.0.1:\(baseURL.port ?? 0)/ws") ?? baseURL
    }

    // MARK: Accounts and chats

    /// Adds an account with freshly minted tokens (unless given).
    /// - Parameters:
    ///   - userID: The user id. Default: `usr_` + a ULID.
    ///   - nickname: Display name. Default: the user id.
    ///   - accessToken: Use this access token instead of minting one (it is valid until
    ///     ``expireAccessToken(userID:)``).
    ///   - refreshToken: Use this refresh token instead of minting one.
    ///   - deviceID: The REST device id bound to the session (`X-Device-Id`). Default
    ///     `"clawchat-plugin-openclaw"`-style `dev-<userID>`.
    @discardableResult
    public func addAccount(userID: String? = nil, nickname: String? = nil, accessToken: String? = nil,
                           refreshToken: String? = nil, deviceID: String? = nil) -> Account {
        let now = configuration.time.now()
        let lifetime = configuration.accessTokenLifetime.seconds
        return state.withLock { s in
            let id = userID ?? "usr_" + Self.ulid(now, &s)
            let device = deviceID ?? "dev-\(id)"
            let access = accessToken ?? Self.mintAccessToken(userID: id, deviceID: device, now: now, lifetime: lifetime, state: &s)
            let refresh = refreshToken ?? Self.mintRefreshToken(&s)
            let account = Account(userID: id, nickname: nickname ?? id, accessToken: access, refreshToken: refresh, deviceID: device)
            s.accounts[id] = .init(account: account)
            let expiry = JWTClaims(token: access)?.exp ?? now.addingTimeInterval(lifetime)
            s.accessTokens[access] = .init(userID: id, expiresAt: expiry)
            s.refreshTokens[refresh] = id
            return account
        }
    }

    /// The `channels.clawchat.accounts.<id>` object that points an account at this
    /// simulator: `baseUrl` (`websocketUrl` derives from it), the account's current
    /// `accessToken` and `refreshToken`, and its bound `deviceId`.
    public func accountConfig(for account: Account) -> JSONValue {
        let current = self.account(account.userID) ?? account
        return ["baseUrl": .string(baseURL.absoluteString), "accessToken": .string(current.accessToken),
                "refreshToken": .string(current.refreshToken), "deviceId": .string(current.deviceID)]
    }

    /// The account's current state (tokens rotate on every refresh).
    public func account(_ userID: String) -> Account? {
        state.withLock { $0.accounts[userID]?.account }
    }

    /// Adds a chat and returns its id (`cnv_` + ULID unless given).
    @discardableResult
    public func addChat(type: ChatType, members: [String], chatID: String? = nil) -> String {
        let now = configuration.time.now()
        return state.withLock { s in
            let id = chatID ?? "cnv_" + Self.ulid(now, &s)
            s.addChat(id, type: type, members: members)
            return id
        }
    }

    /// The direct chat between two users, created when missing.
    public func directChat(_ a: String, _ b: String) -> String {
        if let existing = state.withLock({ s in
            s.directChats[ClawChatSimulatorState.directKey(a, b)]
        }) { return existing }
        return addChat(type: .direct, members: [a, b])
    }

    // MARK: Injecting traffic

    /// `fromUser` sends `text` into a chat: stored in every other member's inbox and
    /// pushed to their live sockets (with `dseq` under ack mode).
    /// - Parameters:
    ///   - toUser: A member that must receive it (added to the chat if missing).
    ///   - chatID: The chat; default the direct chat of `toUser` and `fromUser`.
    ///   - chatType: Used when the chat has to be created. Default `.direct`.
    ///   - fromUser: The sender. Default `usr_human`.
    ///   - text: One text fragment.
    ///   - mentions: User ids to mention (`"all"` for everyone), as leading mention fragments.
    ///   - replyTo: A message id to quote.
    ///   - messageMode: `message_mode` (default `"normal"`; `""` and `"thinking"` test skipping).
    /// - Returns: The new `message_id`.
    @discardableResult
    public func injectMessage(toUser: String, chatID: String? = nil, chatType: ChatType = .direct, fromUser: String = "usr_human",
                              text: String, mentions: [String] = [], replyTo: String? = nil, messageMode: String = "normal",
                              extraFragments: [JSONValue] = []) -> String {
        let chat: String
        if let chatID {
            chat = chatID
            state.withLock { s in
                if s.chats[chatID] == nil { s.addChat(chatID, type: chatType, members: [toUser, fromUser]) }
                if s.chats[chatID]?.members.contains(toUser) == false { s.chats[chatID]?.members.append(toUser) }
            }
        } else if chatType == .group {
            chat = addChat(type: .group, members: [toUser, fromUser])
        } else {
            chat = directChat(toUser, fromUser)
        }
        let now = configuration.time.now()
        let messageID = "msg-" + state.withLock { Self.ulid(now, &$0) }
        var fragments: [JSONValue] = mentions.map { .object(["kind": "mention", "user_id": .string($0), "display": .string($0)]) }
        fragments.append(.object(["kind": "text", "text": .string(text)]))
        fragments.append(contentsOf: extraFragments)
        let context: JSONValue = .object([
            "mentions": .array(mentions.map { .string($0) }),
            "reply": replyTo.map { .object(["reply_to_msg_id": .string($0)]) } ?? .null,
        ])
        let payload: JSONValue = .object([
            "message_id": .string(messageID), "message_mode": .string(messageMode),
            "message": .object(["body": .object(["fragments": .array(fragments)]), "context": context, "streaming": .null]),
        ])
        deliver(event: replyTo == nil ? "message.send" : "message.reply", chatID: chat, from: fromUser, messageID: messageID,
                payload: payload, includeSender: false)
        return messageID
    }

    /// Pushes an already stored message to the user's live sockets again (a duplicate
    /// delivery, as after a lost ack). Returns whether it was found.
    @discardableResult
    public func replayDuplicate(toUser userID: String, messageID: String) -> Bool {
        state.withLock { s in
            guard let entries = s.inbox[userID], let index = entries.firstIndex(where: { $0.messageID == messageID }) else { return false }
            for id in s.sessionIDs(of: userID) {
                guard let session = s.sessions[id] else { continue }
                session.outbox.yield(.text(Self.render(entries[index].frame, dseq: session.ackMode ? index + 1 : nil)))
            }
            return true
        }
    }

    /// Sends a raw text frame to every live socket of the user (malformed JSON, unknown
    /// events, frames without fields).
    public func injectRawFrame(toUser userID: String, _ text: String) {
        state.withLock { s in
            for id in s.sessionIDs(of: userID) { s.sessions[id]?.outbox.yield(.text(text)) }
        }
    }

    // MARK: Faults on demand

    /// Drops every socket of the user without a close frame (the client sees 1006).
    public func dropConnections(userID: String) {
        state.withLock { s in
            for id in s.sessionIDs(of: userID) { s.sessions[id]?.outbox.yield(.abort) }
        }
    }

    /// Closes every socket of the user with `code` and `reason` (4001, 4002 with
    /// `{"retry_after_ms":…}`, 1009, …).
    public func close(userID: String, code: UInt16, reason: String = "") {
        state.withLock { s in
            for id in s.sessionIDs(of: userID) { s.sessions[id]?.outbox.yield(.close(code: code, reason: reason)) }
        }
    }

    /// Sends an RFC 6455 ping to every socket of the user.
    public func ping(userID: String) {
        state.withLock { s in
            for id in s.sessionIDs(of: userID) { s.sessions[id]?.outbox.yield(.ping) }
        }
    }

    /// Invalidates every access token of the user: the next `connect` gets `hello-fail
    /// "authentication failed"` and REST calls get HTTP 401, until a refresh.
    public func expireAccessToken(userID: String) {
        state.withLock { s in
            for (token, record) in s.accessTokens where record.userID == userID { s.accessTokens[token]?.revoked = true }
        }
    }

    /// Revokes the user's refresh token(s): the next refresh answers `10003`.
    public func revokeRefreshToken(userID: String) {
        state.withLock { s in s.refreshTokens = s.refreshTokens.filter { $0.value != userID } }
    }

    /// The next `connect`s of the user get `hello-fail` with these reasons, in order.
    public func failNextHellos(userID: String, reasons: [String]) {
        state.withLock { s in s.helloFailScripts[userID, default: []].append(contentsOf: reasons) }
    }

    /// The next refreshes of the user's token answer these, in order.
    public func scriptRefreshes(userID: String, _ scripts: [RefreshScript]) {
        state.withLock { s in s.refreshScripts[userID, default: []].append(contentsOf: scripts) }
    }

    /// The user's next sends are answered with `message.error` (`code`, `reason`).
    public func failNextSends(userID: String, code: String, reason: String = "", count: Int = 1) {
        state.withLock { s in
            for _ in 0..<max(0, count) { s.sendErrorScripts[userID, default: []].append((code, reason)) }
        }
    }

    /// The user's next `count` sends are accepted and stored but never acked.
    public func dropNextAcks(userID: String, count: Int = 1) {
        state.withLock { s in s.droppedAcks[userID, default: 0] += count }
    }

    /// The user's next `count` acks carry a wrong `payload.message_id`.
    public func corruptNextAcks(userID: String, count: Int = 1) {
        state.withLock { s in s.corruptAcks[userID, default: 0] += count }
    }

    /// `message.error` frames to the user carry the legacy `message` field instead of `reason`.
    public func useLegacyErrorField(userID: String) {
        state.withLock { s in _ = s.legacyErrorField.insert(userID) }
    }

    /// A new activation of the account: a fresh pair; the old refresh token dies (the old
    /// access tokens stay valid until they expire or are expired).
    @discardableResult
    public func reactivate(userID: String) -> Account? {
        let now = configuration.time.now()
        let lifetime = configuration.accessTokenLifetime.seconds
        return state.withLock { s -> Account? in
            guard var entry = s.accounts[userID] else { return nil }
            s.refreshTokens = s.refreshTokens.filter { $0.value != userID }
            let access = Self.mintAccessToken(userID: userID, deviceID: entry.account.deviceID, now: now, lifetime: lifetime, state: &s)
            let refresh = Self.mintRefreshToken(&s)
            s.accessTokens[access] = .init(userID: userID, expiresAt: now.addingTimeInterval(lifetime))
            s.refreshTokens[refresh] = userID
            entry.account.accessToken = access
            entry.account.refreshToken = refresh
            s.accounts[userID] = entry
            return entry.account
        }
    }

    /// Holds every `POST /v1/auth/refresh` until ``releaseRefreshes()``.
    public func holdRefreshes() {
        state.withLock { s in if s.refreshGate == nil || s.refreshGate?.isOpen == true { s.refreshGate = AsyncGate() } }
    }

    /// Releases held refreshes; later ones are answered at once.
    public func releaseRefreshes() {
        let gate = state.withLock { s -> AsyncGate? in defer { s.refreshGate = nil }; return s.refreshGate }
        gate?.open()
    }

    /// Refresh requests waiting at the hold.
    public var heldRefreshCount: Int { state.withLock { $0.refreshGate?.waiting ?? 0 } }

    // MARK: Observations

    /// Frames the server accepted from the user's sockets, in order.
    public func sentMessages(userID: String) -> [SentRecord] {
        state.withLock { s in s.sent.filter { $0.userID == userID } }
    }

    /// Every accepted frame, in order.
    public var allSentMessages: [SentRecord] { state.withLock { $0.sent } }

    /// Refresh requests made with the user's refresh tokens.
    public func refreshRequestCount(userID: String) -> Int {
        state.withLock { $0.refreshes.filter { $0.userID == userID }.count }
    }

    /// Every refresh request, in order.
    public var refreshRequests: [RefreshRecord] { state.withLock { $0.refreshes } }

    /// Every `connect` frame, in order.
    public var connects: [ConnectRecord] { state.withLock { $0.connects } }

    /// `connect` frames of the user (by token owner).
    public func connects(userID: String) -> [ConnectRecord] {
        state.withLock { s in s.connects.filter { $0.userID == userID } }
    }

    /// Every media upload.
    public var uploads: [UploadRecord] { state.withLock { $0.uploads } }

    /// Every uplink text frame of the user's authenticated sockets, in order.
    public func uplinkFrames(userID: String) -> [String] {
        state.withLock { $0.uplinks[userID] ?? [] }
    }

    /// Authenticated sockets of the user right now.
    public func liveSessionCount(userID: String) -> Int {
        state.withLock { $0.sessionIDs(of: userID).count }
    }

    /// Authenticated sockets of all users right now.
    public var liveSessionCount: Int { state.withLock { s in s.sessions.values.filter(\.authenticated).count } }

    /// Sends on a socket whose user is not a member of the chat, plus REST or refresh
    /// calls whose `X-Device-Id` belongs to another account: traffic that went out
    /// through the wrong account. Must stay 0.
    public var misroutedCount: Int { state.withLock { $0.misrouted } }

    /// Messages stored in the user's inbox.
    public func inboxCount(userID: String) -> Int { state.withLock { $0.inbox[userID]?.count ?? 0 } }

    /// Waits (in scheduling turns, never real sleeps) until the user has `count` live
    /// sockets. Returns `false` if that did not happen.
    @discardableResult
    public func waitForSessions(userID: String, count: Int = 1, maxTurns: Int = 2_000_000) async -> Bool {
        for _ in 0..<maxTurns {
            if liveSessionCount(userID: userID) >= count { return true }
            await Task.yield()
        }
        return liveSessionCount(userID: userID) >= count
    }

    // MARK: Helpers

    static func ulid(_ now: Date, _ s: inout ClawChatSimulatorState) -> String {
        var rng = SeededRandomNumberGenerator(seed: s.counter &+ 0x9E37_79B9_7F4A_7C15 &* (s.counter &+ 1))
        s.counter &+= 1
        return ULID(timestamp: now, using: &rng).description
    }

    static func mintAccessToken(userID: String, deviceID: String, now: Date, lifetime: Double, state s: inout ClawChatSimulatorState) -> String {
        s.counter &+= 1
        return TestJWT.make(issuedAt: now, expiresAt: now.addingTimeInterval(lifetime),
                            extra: ["sub": userID, "did": deviceID, "aid": "agt_\(userID)", "jti": Int(s.counter)])
    }

    static func mintRefreshToken(_ s: inout ClawChatSimulatorState) -> String {
        var rng = SeededRandomNumberGenerator(seed: 0xC1A7_C4A7 &+ s.counter &* 0x2545_F491_4F6C_DD1D)
        s.counter &+= 1
        return (0..<4).map { _ in String(format: "%016llx", rng.next() as UInt64) }.joined()
    }

    /// Encodes a frame object, adding `dseq` when given.
    static func render(_ frame: [String: JSONValue], dseq: Int?) -> String {
        var object = frame
        if let dseq { object["dseq"] = .number(Double(dseq)) }
        return encode(.object(object))
    }

    /// Compact JSON with integers written as integers.
    static func encode(_ value: JSONValue) -> String { value.jsonText }

    static func quote(_ s: String) -> String { JSONValue.quoted(s) }
}
