import Foundation
import Synchronization
import ChannelKit

/// A loopback QQ Bot platform for tests, demos and benchmarks, written from the protocol
/// notes (it does not use the adapter's code).
///
/// - Token endpoint `POST /app/getAppAccessToken`: the same token while more than the
///   rotation window (60 s) is left, `expires_in` = what remains; inside the window a new
///   token, the old one valid until it expires.
/// - REST: `GET /gateway`, `GET /gateway/bot`, `GET /users/@me`, the four send endpoints
///   and the two upload endpoints, with the platform's checks: unknown/expired token →
///   401 (11243/11244); one app's token used for another app's (or nobody's) openid →
///   HTTP 500 11255 and a misrouted reply counted; foreign or unknown `msg_id` → 40034024;
///   window passed → 304027; repeated `msg_seq` → 40054005; markdown not permitted →
///   40034012; empty → 50006. Uploads mint a `file_info` usable only by the same app for
///   the same target (else 40034025, a simulator-specific code).
/// - WebSocket gateway: Hello; Identify and Resume checked against the app's current
///   tokens (bad → close 4004); READY (`s` 1) or replay of the missed dispatches then
///   RESUMED; heartbeat ACKs; dispatches numbered per session; op 7, op 9 and any close
///   code on demand.
///
/// Openids are scoped per app: the same human has a different openid for each bot
/// (``userOpenID(appId:user:)``).
///
/// ```swift
/// let sim = try QQBotSimulator(configuration: .init(time: clock.timeSource))
/// sim.addBot(appId: "1001", clientSecret: "s1")
/// // point the adapter at sim.apiBaseURL / sim.tokenURL
/// let id = sim.injectC2CMessage(appId: "1001", userOpenID: sim.userOpenID(appId: "1001", user: "alice"), text: "hi")
/// await sim.shutdown()
/// ```
public final class QQBotSimulator: Sendable {
    let core: Core
    private let http: LoopbackHTTPServer
    private let ws: LoopbackWebSocketServer

    /// The REST base URL (`http://127.0.0.1:<port>`), for `apiBaseUrl`.
    public let apiBaseURL: URL
    /// The token endpoint, for `tokenUrl`.
    public let tokenURL: URL
    /// The WebSocket gateway URL that `GET /gateway` returns.
    public let gatewayURL: URL

    /// Starts the HTTP and WebSocket servers on `127.0.0.1` (ephemeral ports).
    /// - Throws: ``LoopbackTCPError`` if a socket cannot be set up.
    public init(configuration: Configuration = Configuration()) throws {
        let core = Core(configuration: configuration)
        let ws = try LoopbackWebSocketServer { connection in await core.serve(connection) }
        let gatewayURL = ws.url("/websocket/")
        core.gatewayURL = gatewayURL.absoluteString
        let http: LoopbackHTTPServer
        do {
            http = try LoopbackHTTPServer()
        } catch {
            let server = ws
            Task { await server.shutdown() }
            throw error
        }
        http.fallback { request in core.handle(request) }
        self.core = core
        self.http = http
        self.ws = ws
        self.apiBaseURL = http.baseURL
        self.tokenURL = http.url("/app/getAppAccessToken")
        self.gatewayURL = gatewayURL
    }

    /// Closes every connection and both servers. Idempotent.
    public func shutdown() async {
        core.closeAll()
        await ws.shutdown()
        await http.shutdown()
    }

    // MARK: Bots

    /// Registers a bot.
    /// - Parameters:
    ///   - appId: The AppID (numeric string).
    ///   - clientSecret: The AppSecret the token endpoint expects.
    ///   - username: The bot's name. Default `bot-<appId>`.
    ///   - markdownAllowed: Whether `msg_type` 2 is permitted. Default `true`.
    ///   - permittedIntents: Intents the bot may use; `nil` (default) allows all.
    /// - Returns: The bot, with its user id.
    @discardableResult
    public func addBot(appId: String, clientSecret: String, username: String? = nil, markdownAllowed: Bool = true,
                       permittedIntents: Int? = nil) -> Bot {
        let bot = Bot(appId: appId, clientSecret: clientSecret, userID: Self.numericID("bot", appId),
                      username: username ?? "bot-\(appId)", markdownAllowed: markdownAllowed, permittedIntents: permittedIntents)
        core.state.withLock { $0.apps[appId] = AppState(bot: bot) }
        return bot
    }

    /// The `channels.qqbot.accounts.<id>` object that points an account at this
    /// simulator: `appId`, `clientSecret`, `apiBaseUrl`, `tokenUrl`.
    public func accountConfig(for bot: Bot) -> JSONValue {
        ["appId": .string(bot.appId), "clientSecret": .string(bot.clientSecret),
         "apiBaseUrl": .string(apiBaseURL.absoluteString), "tokenUrl": .string(tokenURL.absoluteString)]
    }

    /// The registered bot of `appId`.
    public func bot(appId: String) -> Bot? { core.state.withLock { $0.apps[appId]?.bot } }

    // MARK: Scoped ids

    /// The C2C `user_openid` of human `user` as seen by app `appId` (32 upper-case hex,
    /// different for every app).
    public func userOpenID(appId: String, user: String) -> String { Self.openID("user", appId, user) }

    /// The `group_openid` of group `group` as seen by app `appId`.
    public func groupOpenID(appId: String, group: String) -> String { Self.openID("group", appId, group) }

    /// The `member_openid` of `user` in `group` as seen by app `appId`.
    public func memberOpenID(appId: String, group: String, user: String) -> String { Self.openID("member", appId, group, user) }

    // MARK: Injecting user messages

    /// A user sends the bot a C2C message. The openid becomes one of the app's peers.
    /// - Returns: The message id (`d.id`).
    @discardableResult
    public func injectC2CMessage(appId: String, userOpenID: String, text: String, attachments: [InboundAttachment] = []) -> String {
        core.injectMessage(appId: appId, scene: "c2c", target: userOpenID, type: "C2C_MESSAGE_CREATE") { id, timestamp, _ in
            var d: [String: JSONValue] = [
                "id": .string(id), "content": .string(text), "timestamp": .string(timestamp),
                "author": ["id": .string(userOpenID), "user_openid": .string(userOpenID), "union_openid": .string(Self.openID("union", userOpenID))],
                "message_scene": ["source": "default"], "message_type": 0,
            ]
            if !attachments.isEmpty { d["attachments"] = Self.attachmentsJSON(attachments) }
            return .object(d)
        }
    }

    /// A group member @-mentions the bot. The group becomes one of the app's peers. The
    /// platform removes the mention and leaves a leading space in `content`.
    /// - Returns: The message id.
    @discardableResult
    public func injectGroupAtMessage(appId: String, groupOpenID: String, memberOpenID: String, text: String,
                                     attachments: [InboundAttachment] = []) -> String {
        core.injectMessage(appId: appId, scene: "group", target: groupOpenID, type: "GROUP_AT_MESSAGE_CREATE") { id, timestamp, _ in
            var d: [String: JSONValue] = [
                "id": .string(id), "content": .string(" " + text), "timestamp": .string(timestamp),
                "group_id": .string(groupOpenID), "group_openid": .string(groupOpenID),
                "author": ["id": .string(memberOpenID), "member_openid": .string(memberOpenID)],
            ]
            if !attachments.isEmpty { d["attachments"] = Self.attachmentsJSON(attachments) }
            return .object(d)
        }
    }

    /// A guild member @-mentions the bot in a channel (`AT_MESSAGE_CREATE`; content
    /// starts with `<@!botUserID>`). The channel becomes one of the app's peers.
    /// - Returns: The message id.
    @discardableResult
    public func injectGuildAtMessage(appId: String, guildID: String, channelID: String, authorID: String,
                                     username: String = "member", text: String) -> String {
        core.injectMessage(appId: appId, scene: "guild", target: channelID, type: "AT_MESSAGE_CREATE") { id, timestamp, bot in
            .object([
                "id": .string(id), "content": .string("<@!\(bot.userID)> " + text), "timestamp": .string(timestamp),
                "channel_id": .string(channelID), "guild_id": .string(guildID), "seq": 1,
                "author": ["id": .string(authorID), "username": .string(username), "avatar": "", "bot": false],
                "member": ["roles": ["1"], "joined_at": .string(timestamp)],
                "mentions": [["id": .string(bot.userID), "username": .string(bot.username), "bot": true]],
            ])
        }
    }

    /// A guild member sends the bot a direct message (`DIRECT_MESSAGE_CREATE`).
    /// `dmGuildID` is the DM session's own guild id (replies go to `/dms/{dmGuildID}`).
    /// - Returns: The message id.
    @discardableResult
    public func injectGuildDirectMessage(appId: String, dmGuildID: String, sourceGuildID: String = "9000", authorID: String,
                                         username: String = "member", text: String) -> String {
        core.injectMessage(appId: appId, scene: "guild-dm", target: dmGuildID, type: "DIRECT_MESSAGE_CREATE") { id, timestamp, _ in
            .object([
                "id": .string(id), "content": .string(text), "timestamp": .string(timestamp),
                "channel_id": .string(Self.numericID("dmchannel", dmGuildID)), "guild_id": .string(dmGuildID),
                "src_guild_id": .string(sourceGuildID), "direct_message": true,
                "author": ["id": .string(authorID), "username": .string(username), "avatar": "", "bot": false],
            ])
        }
    }

    /// Pushes any dispatch (lifecycle such as `GROUP_ADD_ROBOT`, or an invented type).
    public func injectEvent(appId: String, type: String, payload: JSONValue) {
        core.push(appId: appId, type: type, d: payload)
    }

    /// Sends `text` verbatim on the app's live connection (malformed frames).
    public func injectRawFrame(appId: String, text: String) {
        core.sendToLive(appId: appId, .text(text))
    }

    /// Pushes the app's last dispatch again under a new seq (the platform's duplicate
    /// pushes of one `d.id`).
    public func duplicateLastPush(appId: String) {
        core.duplicateLastPush(appId: appId)
    }

    // MARK: Connection control

    /// Drops the app's connections without a close frame (the client sees 1006).
    public func dropConnections(appId: String) { core.sendToLive(appId: appId, .abort) }

    /// Sends op 7 (reconnect) on the app's live connection.
    public func sendReconnect(appId: String) { core.sendToLive(appId: appId, .text(#"{"op":7}"#)) }

    /// Sends op 9 (invalid session) with `canResume`; when `false` the session is gone.
    public func sendInvalidSession(appId: String, canResume: Bool) {
        if !canResume { core.forgetSessions(appId: appId) }
        core.sendToLive(appId: appId, .text(#"{"op":9,"d":\#(canResume)}"#))
    }

    /// Closes the app's live connection with `code` (e.g. 4009, 4914).
    public func close(appId: String, code: UInt16, reason: String = "") {
        core.sendToLive(appId: appId, .close(code, reason))
    }

    /// Stops (or resumes) answering the app's heartbeats with op 11, as a half-open
    /// connection would look to the client.
    public func acknowledgeHeartbeats(appId: String, _ acknowledge: Bool) {
        core.state.withLock { $0.apps[appId]?.acknowledgeHeartbeats = acknowledge }
    }

    /// Ends every token of the app now: REST calls with them get 11244, Identify 4004,
    /// and the next fetch mints a new one.
    public func expireToken(appId: String) { core.expireTokens(appId: appId) }

    /// Makes the app's next send or upload fail with `status` and `code` (and a
    /// `Retry-After` header when `retryAfterSeconds` is given).
    public func failNextSend(appId: String, status: Int, code: Int, message: String = "injected failure", retryAfterSeconds: Int? = nil) {
        core.state.withLock { $0.apps[appId]?.injectedFailures.append(InjectedFailure(status: status, code: code, message: message, retryAfter: retryAfterSeconds)) }
    }

    // MARK: Inspection

    /// The accepted sends authorised by `appId`'s token, in order.
    public func sentMessages(appId: String) -> [Send] {
        core.state.withLock { $0.sends.filter { $0.appId == appId && $0.accepted && !$0.scene.hasSuffix("-file") } }
    }

    /// Every send and upload request, accepted or not, in order.
    public var allSends: [Send] { core.state.withLock { $0.sends } }

    /// Replies the platform would have misrouted: a token of one app used for a peer of
    /// another, a peer that never wrote to the bot, a `msg_id` another bot (or another
    /// peer) received.
    public var misroutedReplyCount: Int { core.state.withLock { $0.misrouted } }

    /// How many tokens the app fetched (answers of the token endpoint, new or same).
    public func tokenFetchCount(appId: String) -> Int { core.state.withLock { $0.apps[appId]?.tokenFetches ?? 0 } }

    /// The app's current token value.
    public func currentToken(appId: String) -> String? { core.state.withLock { $0.apps[appId]?.currentToken?.value } }

    /// How many Identify frames the app sent.
    public func identifyCount(appId: String) -> Int { core.state.withLock { $0.apps[appId]?.identifies ?? 0 } }

    /// How many successful Resume frames the app sent.
    public func resumeCount(appId: String) -> Int { core.state.withLock { $0.apps[appId]?.resumes ?? 0 } }

    /// How many heartbeats the app sent.
    public func heartbeatCount(appId: String) -> Int { core.state.withLock { $0.apps[appId]?.heartbeats ?? 0 } }

    /// Whether the app has a live connection whose session is READY or RESUMED.
    public func isConnected(appId: String) -> Bool { core.state.withLock { $0.liveConnection(appId: appId) != nil } }

    /// The number of apps with a live, ready session.
    public var connectedBotCount: Int { core.state.withLock { s in s.apps.keys.filter { s.liveConnection(appId: $0) != nil }.count } }

    /// Waits until the app's session is ready (READY or RESUMED sent) on a live
    /// connection. Returns at once if it is. Ends early on ``shutdown()``.
    public func waitUntilConnected(appId: String) async {
        await core.waitUntilConnected(appId: appId)
    }

    // MARK: Helpers

    /// 32 upper-case hex characters derived from `parts` (FNV-1a), as openids look.
    static func openID(_ parts: String...) -> String {
        let joined = parts.joined(separator: "\u{1F}")
        var out = ""
        for salt in 0..<2 {
            var h: UInt64 = 0xcbf2_9ce4_8422_2325 &+ UInt64(salt)
            for b in joined.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            out += String(h, radix: 16, uppercase: true).leftPadded(to: 16)
        }
        return out
    }

    /// A decimal id derived from `parts`.
    static func numericID(_ parts: String...) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in parts.joined(separator: "\u{1F}").utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return String(h % 9_000_000_000_000_000 + 1_000_000_000_000_000)
    }

    static func attachmentsJSON(_ list: [InboundAttachment]) -> JSONValue {
        .array(list.map { a in
            ["content_type": .string(a.contentType), "filename": .string(a.filename), "url": .string(a.url),
             "size": .number(Double(a.size)), "width": 10, "height": 10]
        })
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
