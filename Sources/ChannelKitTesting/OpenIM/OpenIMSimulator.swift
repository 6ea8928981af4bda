import Foundation
import Synchronization
import ChannelKit

/// A loopback OpenIM server (msg gateway and REST API on two ports, like 10001/10002),
/// written from the protocol notes and independent of the adapter, for tests,
/// `channelkit demo` and benchmarks. Two instances are two servers.
///
/// ```swift
/// let sim = OpenIMSimulator(configuration: .init(time: clock.timeSource))
/// try sim.start()
/// let bot = sim.addAccount(userID: "bot")
/// sim.addUser("alice")
/// // point an account at sim.accountConfig(for: bot)
/// sim.injectMessage(from: "alice", to: "bot", text: "hi")
/// await sim.shutdown()
/// ```
///
/// What it does, as the notes describe the real server:
/// - Msg gateway on any path: `sendID`, `token`, `platformID`, `operationID`,
///   `isBackground`, `sdkType=js`, `isMsgResp=true` checked; the first text frame is
///   `{"errCode":0,…}` or the token error (1501 expired, 1502 invalid or another user's
///   token, 1506 kicked, 1507 unknown) followed by a close. Binary JSON envelopes with
///   base64 protobuf: 1001 (max/min seqs), 1002 (pull by ranges), 1003 (raw MsgData →
///   SendMsgResp, stored with the next seq of its conversation and pushed as 2001 to
///   every member's sockets, the sender's included). Text `{"type":"ping"}` → pong; any
///   other text frame or a `sendID` that is not the socket's user closes the socket.
///   Frames over 51,200 bytes are closed with 1009. A new login of the same user and
///   platform with another token kicks the old one (2002, token status kicked).
/// - REST: `/auth/get_user_token`, `/auth/parse_token`, `/msg/send_msg`, the `/object/`
///   multipart upload (`part_limit`, `initiate_multipart_upload`, signed part PUTs,
///   `complete_multipart_upload`, objects served by GET), `/friend/*` (minimal), and
///   `/test/refresh` (`{"userID"}` → `{"token"}`, or garbage on demand).
public final class OpenIMSimulator: Sendable {
    /// Tuning of the simulator.
    public struct Configuration: Sendable {
        /// Clock and wall time. Default ``TimeSource/system``.
        public var time: TimeSource
        /// Largest inbound frame (closed with 1009 above). Default 51,200 bytes.
        public var maximumFrameSize: Int
        /// `minPartSize` of `part_limit`. Default 5 MiB.
        public var minPartSize: Int
        /// Push a user's own messages back to the sender's sockets. Default `true`.
        public var echoToSender: Bool
        /// Platform id of minted tokens. Default 5 (Web).
        public var platformID: Int

        /// Creates a configuration; every parameter defaults to the value documented on
        /// its property.
        public init(time: TimeSource = .system, maximumFrameSize: Int = 51_200, minPartSize: Int = 5 << 20,
                    echoToSender: Bool = true, platformID: Int = 5) {
            self.time = time
            self.maximumFrameSize = maximumFrameSize
            self.minPartSize = minPartSize
            self.echoToSender = echoToSender
            self.platformID = platformID
        }
    }

    /// A user of the server and its current token.
    public struct Account: Sendable, Hashable {
        public var userID: String
        public var platformID: Int
        public var token: String
        public var nickname: String
    }

    /// One message the server accepted from a user (1003 or `/msg/send_msg`).
    public struct SentRecord: Sendable, Hashable {
        public var sendID: String
        public var conversationID: String
        public var message: OpenIMSimulatorMessage
        /// `direct` peers: the recipient; groups: the group id.
        public var peerID: String { message.groupID.isEmpty ? message.recvID : message.groupID }
        /// The text of a text / @-text elem (`content` or `text`), else the raw content.
        public var text: String {
            let object = (try? JSONDecoder().decode(JSONValue.self, from: Data(message.content)))?.objectValue
            return object?["content"]?.stringValue ?? object?["text"]?.stringValue ?? message.contentText
        }
    }

    /// One msg gateway connect attempt.
    public struct ConnectRecord: Sendable, Hashable {
        public var userID: String
        public var platformID: String
        public var sdkType: String
        public var isMsgResp: String
        public var tokenOwner: String?
        /// 0 or the error code sent.
        public var errCode: Int
    }

    /// The configuration.
    public let configuration: Configuration
    let state = Mutex(OpenIMSimulatorState())
    private let servers = Mutex<(ws: LoopbackHTTPServer, api: LoopbackHTTPServer)?>(nil)
    /// The token `/auth/get_user_token` and `/msg/send_msg` require.
    public let adminToken = "sim-admin-token"

    /// Creates a stopped simulator; call ``start()``.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Starts both listeners on `127.0.0.1:<ephemeral>`. Idempotent.
    public func start() throws {
        if servers.withLock({ $0 != nil }) { return }
        let ws = try LoopbackHTTPServer()
        let api = try LoopbackHTTPServer()
        installGateway(on: ws)
        installREST(on: api)
        servers.withLock { $0 = (ws, api) }
    }

    /// Closes every socket and both listeners.
    public func shutdown() async {
        let both = servers.withLock { s -> (ws: LoopbackHTTPServer, api: LoopbackHTTPServer)? in defer { s = nil }; return s }
        let outboxes = state.withLock { s in s.sessions.values.map(\.outbox) }
        for outbox in outboxes { outbox.yield(.abort); outbox.finish() }
        await both?.ws.shutdown()
        await both?.api.shutdown()
    }

    /// `ws://127.0.0.1:<port>`: the accounts' `wsAddr`.
    public var wsURL: URL {
        guard let port = servers.withLock({ $0?.ws.port }) else { preconditionFailure("OpenIMSimulator.start() was not called") }
        return URL(string: "ws://127.0.0.1:\(port)") ?? URL(fileURLWithPath: "/")
    }

    /// `http://127.0.0.1:<port>`: the accounts' `apiAddr`.
    public var apiURL: URL {
        guard let url = servers.withLock({ $0?.api.baseURL }) else { preconditionFailure("OpenIMSimulator.start() was not called") }
        return url
    }

    // MARK: Users and groups

    /// Adds a user with a freshly minted token (unless given) for `platformID`.
    @discardableResult
    public func addAccount(userID: String, platformID: Int? = nil, nickname: String? = nil, token: String? = nil) -> Account {
        let platform = platformID ?? configuration.platformID
        let now = configuration.time.now()
        return state.withLock { s in
            let minted = token ?? Self.mintToken(userID: userID, platformID: platform, now: now, state: &s)
            let account = Account(userID: userID, platformID: platform, token: minted, nickname: nickname ?? userID)
            s.users[userID] = account
            s.tokens[minted] = .init(userID: userID, platformID: platform, status: .normal)
            return account
        }
    }

    /// Adds a (human) user; same as ``addAccount(userID:platformID:nickname:token:)``.
    @discardableResult
    public func addUser(_ userID: String, nickname: String? = nil) -> Account {
        addAccount(userID: userID, nickname: nickname)
    }

    /// The user's current state (its token changes on refresh and kick).
    public func account(_ userID: String) -> Account? { state.withLock { $0.users[userID] } }

    /// The `channels.openim.accounts.<id>` object for `account`: `token`, `wsAddr`, `apiAddr`
    /// (userID and platformID come from the token's claims).
    public func accountConfig(for account: Account) -> JSONValue {
        let current = self.account(account.userID) ?? account
        return ["token": .string(current.token), "wsAddr": .string(wsURL.absoluteString), "apiAddr": .string(apiURL.absoluteString)]
    }

    /// Creates (or replaces) a group with `members`.
    public func addGroup(_ groupID: String, members: [String]) {
        state.withLock { $0.groups[groupID] = members }
    }

    // MARK: Injecting traffic

    /// `from` sends a message to `to` (direct, sessionType 1): stored with the next seq of
    /// their `si_` conversation and pushed to both users' sockets (the sender's only with
    /// ``Configuration/echoToSender``). Returns the stored message (clientMsgID, seq).
    @discardableResult
    public func injectMessage(from: String, to: String, text: String, contentType: Int32 = 101, content: JSONValue? = nil,
                              clientMsgID: String? = nil) -> OpenIMSimulatorMessage {
        var m = OpenIMSimulatorMessage()
        m.sendID = from
        m.recvID = to
        m.sessionType = 1
        m.contentType = contentType
        m.content = Array((content ?? ["content": .string(text)]).jsonText.utf8)
        if let clientMsgID { m.clientMsgID = clientMsgID }
        return store(m, echo: true)
    }

    /// `from` sends to group `groupID` (sessionType 3), @-mentioning `atUserIDs` (an
    /// @-text 106 elem then). The group is created with both users when missing.
    @discardableResult
    public func injectGroupMessage(from: String, groupID: String, text: String, atUserIDs: [String] = [], content: JSONValue? = nil,
                                   contentType: Int32? = nil) -> OpenIMSimulatorMessage {
        state.withLock { s in
            if s.groups[groupID] == nil { s.groups[groupID] = [from] }
            if s.groups[groupID]?.contains(from) == false { s.groups[groupID]?.append(from) }
        }
        var m = OpenIMSimulatorMessage()
        m.sendID = from
        m.groupID = groupID
        m.sessionType = 3
        m.atUserIDList = atUserIDs
        if atUserIDs.isEmpty {
            m.contentType = contentType ?? 101
            m.content = Array((content ?? ["content": .string(text)]).jsonText.utf8)
        } else {
            m.contentType = contentType ?? 106
            let atText = atUserIDs.map { "@\($0) " }.joined() + text
            m.content = Array((content ?? ["text": .string(atText), "atUserList": .array(atUserIDs.map { .string($0) }), "isAtSelf": false]).jsonText.utf8)
        }
        return store(m, echo: true)
    }

    /// Stores a message and pushes it: assigns serverMsgID, clientMsgID (when empty),
    /// seq and times.
    func store(_ input: OpenIMSimulatorMessage, echo: Bool) -> OpenIMSimulatorMessage {
        let nowMs = Int64((configuration.time.now().timeIntervalSince1970 * 1000).rounded())
        let echoToSender = configuration.echoToSender && echo
        return state.withLock { s in
            var m = input
            s.counter += 1
            if m.clientMsgID.isEmpty { m.clientMsgID = String(format: "%032llx", s.counter &* 0x9E37_79B9_7F4A_7C15) }
            m.serverMsgID = "srv-\(s.counter)"
            m.sendTime = nowMs
            if m.createTime == 0 { m.createTime = nowMs }
            if m.senderNickname.isEmpty { m.senderNickname = s.users[m.sendID]?.nickname ?? m.sendID }
            let conversationID = m.sessionType == 3 ? "sg_\(m.groupID)" : OpenIMSimulatorState.singleConversation(m.sendID, m.recvID)
            m.seq = Int64((s.conversations[conversationID]?.count ?? 0) + 1)
            s.conversations[conversationID, default: []].append(m)
            let recipients: [String] = m.sessionType == 3 ? (s.groups[m.groupID] ?? []) : [m.recvID, m.sendID]
            for user in Set(recipients) where user != m.sendID || echoToSender {
                Self.push([m], conversationID: conversationID, to: user, state: &s)
            }
            return m
        }
    }

    static func push(_ msgs: [OpenIMSimulatorMessage], conversationID: String, to user: String, state s: inout OpenIMSimulatorState) {
        let ids = s.sessionIDs(of: user)
        guard !ids.isEmpty else { return }
        if let skip = s.skipPushes[user], skip > 0 {
            s.skipPushes[user] = skip - 1
            return
        }
        let frame = OpenIMSimulatorWire.envelope(2001, data: OpenIMSimulatorWire.pushMessages([(conversationID, msgs)]))
        for id in ids {
            s.sessions[id]?.outbox.yield(.binary(frame))
            s.pushes += 1
        }
    }

    /// Pushes an already stored message to the user's sockets again (a duplicate push).
    @discardableResult
    public func pushDuplicate(toUser userID: String, clientMsgID: String) -> Bool {
        state.withLock { s in
            for (conversationID, msgs) in s.conversations {
                if let m = msgs.first(where: { $0.clientMsgID == clientMsgID }) {
                    Self.push([m], conversationID: conversationID, to: userID, state: &s)
                    return true
                }
            }
            return false
        }
    }

    /// The user's next `count` pushes are lost (the stored messages stay pullable), so the
    /// next delivered push skips seqs.
    public func losePushes(toUser userID: String, count: Int) {
        state.withLock { $0.skipPushes[userID, default: 0] += count }
    }

    /// Sends a raw binary frame to every socket of the user (malformed envelopes,
    /// base64 or protobuf).
    public func injectRawFrame(toUser userID: String, _ bytes: Data) {
        state.withLock { s in for id in s.sessionIDs(of: userID) { s.sessions[id]?.outbox.yield(.binary(bytes)) } }
    }

    /// Sends a raw text frame to every socket of the user.
    public func injectRawText(toUser userID: String, _ text: String) {
        state.withLock { s in for id in s.sessionIDs(of: userID) { s.sessions[id]?.outbox.yield(.text(text)) } }
    }

    // MARK: Faults

    /// Drops every socket of the user without a close frame (1006).
    public func dropConnections(userID: String) {
        state.withLock { s in for id in s.sessionIDs(of: userID) { s.sessions[id]?.outbox.yield(.abort) } }
    }

    /// Closes every socket of the user with `code` and `reason`.
    public func close(userID: String, code: UInt16 = 1000, reason: String = "") {
        state.withLock { s in for id in s.sessionIDs(of: userID) { s.sessions[id]?.outbox.yield(.close(code: code, reason: reason)) } }
    }

    /// Marks every token of the user expired: the next connect gets 1501. Live sockets
    /// stay up (as on the real server) unless `drop`.
    public func expireTokens(userID: String, drop: Bool = false) {
        state.withLock { s in
            for (token, record) in s.tokens where record.userID == userID { s.tokens[token]?.status = .expired }
        }
        if drop { dropConnections(userID: userID) }
    }

    /// Marks every token of the user invalid (1502 on the next connect).
    public func invalidateTokens(userID: String) {
        state.withLock { s in
            for (token, record) in s.tokens where record.userID == userID { s.tokens[token]?.status = .invalid }
        }
    }

    /// A second login of the same user and platform: a new token is minted, the old ones
    /// are kicked (1506), and live sockets get a 2002 push and are closed. Returns the new token.
    @discardableResult
    public func kick(userID: String) -> String? {
        let now = configuration.time.now()
        return state.withLock { s -> String? in
            guard var account = s.users[userID] else { return nil }
            let token = Self.rotate(&account, now: now, state: &s)
            s.users[userID] = account
            return token
        }
    }

    /// Mints a new token for the account, kicking the old ones and their sockets.
    static func rotate(_ account: inout Account, now: Date, state s: inout OpenIMSimulatorState) -> String {
        for (token, record) in s.tokens where record.userID == account.userID && record.platformID == account.platformID {
            s.tokens[token]?.status = .kicked
        }
        for id in s.sessionIDs(of: account.userID) {
            s.sessions[id]?.outbox.yield(.binary(OpenIMSimulatorWire.envelope(2002, data: [])))
            s.sessions[id]?.outbox.yield(.close(code: 1000, reason: ""))
        }
        let token = mintToken(userID: account.userID, platformID: account.platformID, now: now, state: &s)
        s.tokens[token] = .init(userID: account.userID, platformID: account.platformID, status: .normal)
        account.token = token
        return token
    }

    /// The user's next `count` requests with `reqIdentifier` get no reply (a lost frame).
    public func dropNextReplies(userID: String, reqIdentifier: Int, count: Int = 1) {
        state.withLock { $0.droppedReplies[userID, default: [:]][reqIdentifier, default: 0] += count }
    }

    /// `/test/refresh` answers garbage (HTTP 200, not the `{"token"}` shape) while `true`.
    public func setRefreshReturnsGarbage(_ garbage: Bool) {
        state.withLock { $0.refreshGarbage = garbage }
    }

    /// The user's next `count` sends (1003) are rejected with `code` / `message`.
    public func failNextSends(userID: String, code: Int, message: String = "", count: Int = 1) {
        state.withLock { s in for _ in 0..<max(0, count) { s.sendFailures[userID, default: []].append((code, message)) } }
    }

    // MARK: Observations

    /// Messages the server accepted from the user, in order.
    public func sentMessages(userID: String) -> [SentRecord] { state.withLock { $0.sends.filter { $0.sendID == userID } } }
    /// Every accepted send.
    public var allSentMessages: [SentRecord] { state.withLock { $0.sends } }
    /// Push frames written (one per socket).
    public var pushCount: Int { state.withLock { $0.pushes } }
    /// 1002 requests served.
    public var pullCount: Int { state.withLock { $0.pulls } }
    /// 1001 requests served.
    public var maxSeqRequestCount: Int { state.withLock { $0.maxSeqRequests } }
    /// Frames whose `sendID` was not the socket's user, REST calls for a user with
    /// another user's token, sends to a group the sender is not in: traffic that went out
    /// through the wrong account. Must stay 0.
    public var misroutedCount: Int { state.withLock { $0.misrouted } }
    /// `/test/refresh` calls for the user.
    public func refreshCount(userID: String) -> Int { state.withLock { $0.refreshes[userID] ?? 0 } }
    /// Every connect attempt.
    public var connects: [ConnectRecord] { state.withLock { $0.connects } }
    /// Connect attempts of the user.
    public func connects(userID: String) -> [ConnectRecord] { state.withLock { $0.connects.filter { $0.userID == userID } } }
    /// Sockets closed with 1009 for an oversized frame.
    public var oversizeCloseCount: Int { state.withLock { $0.closedForOversize } }
    /// Friend REST calls (path, calling user), in order.
    public var friendCalls: [(path: String, userID: String)] { state.withLock { $0.friendCalls } }
    /// Bytes of an uploaded object by its name (`<userID>/<file>`).
    public func object(named name: String) -> [UInt8]? { state.withLock { $0.objects[name] } }
    /// Messages stored in a conversation.
    public func messages(conversationID: String) -> [OpenIMSimulatorMessage] { state.withLock { $0.conversations[conversationID] ?? [] } }
    /// Authenticated sockets of the user.
    public func liveSessionCount(userID: String) -> Int { state.withLock { $0.sessionIDs(of: userID).count } }

    /// Waits (in scheduling turns, never real sleeps) until the user has `count` sockets.
    @discardableResult
    public func waitForSessions(userID: String, count: Int = 1, maxTurns: Int = 2_000_000) async -> Bool {
        for _ in 0..<maxTurns {
            if liveSessionCount(userID: userID) >= count { return true }
            await Task.yield()
        }
        return liveSessionCount(userID: userID) >= count
    }

    // MARK: Helpers

    static func mintToken(userID: String, platformID: Int, now: Date, state s: inout OpenIMSimulatorState) -> String {
        s.counter += 1
        return TestJWT.make(issuedAt: now.addingTimeInterval(-5), expiresAt: now.addingTimeInterval(90 * 86400),
                            extra: ["UserID": userID, "PlatformID": platformID, "jti": Int(s.counter)])
    }
}
