import Foundation
import Synchronization
import ChannelKit

/// A loopback Feishu/Lark open platform for tests, demos and benchmarks, written from the
/// protocol notes (it does not use the adapter's code; the pbbp2 frames are written on
/// the core protobuf codec).
///
/// - `POST /open-apis/auth/v3/tenant_access_token/internal`: the same token while more
///   than the rotation window (30 min) is left, `expire` = what remains.
/// - `POST /callback/ws/endpoint` (PascalCase credentials): a ticketed
///   `ws://…/ws/v2?…&service_id=…&ticket=…` URL (each ticket works once) and the
///   ClientConfig.
/// - The pbbp2 WebSocket: pongs carrying the app's ClientConfig, events pushed as data
///   frames (always with `trace_id`; split into fragments on demand, in order or
///   reversed), acks recorded, unacked events pushed again after 3 s on its clock.
/// - `GET /open-apis/bot/v3/info` (can be made to fail or held), send / reply / image
///   and file upload, with the platform's checks: the token's app must be in the chat
///   (else 230002 and a misrouted send counted), open_ids are app-scoped (another app's
///   open_id → 99992361, misrouted), a reply must name a message of the app's chats
///   (231003, misrouted); `uuid` makes a send idempotent; 429/99991400 with
///   `x-ogw-ratelimit-reset` on demand; invalid tokens → 99991663.
///
/// ```swift
/// let sim = try FeishuSimulator(configuration: .init(time: clock.timeSource))
/// let app = sim.addApp(appId: "cli_a1", appSecret: "s1")
/// // point the adapter at sim.accountConfig(for: app)
/// let id = sim.injectDirectMessage(appId: app.appId, user: "alice", text: "hi")
/// await sim.shutdown()
/// ```
public final class FeishuSimulator: Sendable {
    let core: Core
    private let http: LoopbackHTTPServer
    private let ws: LoopbackWebSocketServer

    /// The open-platform base URL (`http://127.0.0.1:<port>`), for `domain`.
    public let baseURL: URL

    /// Starts the HTTP and WebSocket servers on `127.0.0.1` (ephemeral ports).
    /// - Throws: ``LoopbackTCPError`` if a socket cannot be set up.
    public init(configuration: Configuration = Configuration()) throws {
        let core = Core(configuration: configuration)
        let ws = try LoopbackWebSocketServer(decide: { request in core.decide(request) }, handler: { connection in await core.serve(connection) })
        core.webSocketBase = "ws://127.0.0.1:\(ws.port)"
        let http: LoopbackHTTPServer
        do {
            http = try LoopbackHTTPServer()
        } catch {
            let server = ws
            Task { await server.shutdown() }
            throw error
        }
        http.fallback { request in await core.handle(request) }
        self.core = core
        self.http = http
        self.ws = ws
        self.baseURL = http.baseURL
    }

    /// Closes every connection and both servers. Idempotent.
    public func shutdown() async {
        core.closeAll()
        await ws.shutdown()
        await http.shutdown()
    }

    // MARK: Apps

    /// Registers an app (a self-built bot).
    /// - Parameters:
    ///   - appId: The App ID (`cli_…`).
    ///   - appSecret: The App Secret the token and endpoint calls expect.
    ///   - name: The bot's name. Default `bot-<appId>`.
    @discardableResult
    public func addApp(appId: String, appSecret: String, name: String? = nil) -> App {
        let app = App(appId: appId, appSecret: appSecret, name: name ?? "bot-\(appId)", botOpenID: "ou_" + Core.hexID("bot", appId))
        core.state.withLock { $0.apps[appId] = AppState(app: app, clientConfig: core.configuration.clientConfig) }
        return app
    }

    /// The `channels.feishu.accounts.<id>` object that points an account at this
    /// simulator: `appId`, `appSecret`, `domain` (the base URL).
    public func accountConfig(for app: App) -> JSONValue {
        ["appId": .string(app.appId), "appSecret": .string(app.appSecret), "domain": .string(baseURL.absoluteString)]
    }

    /// The registered app of `appId`.
    public func app(appId: String) -> App? { core.state.withLock { $0.apps[appId]?.app } }

    // MARK: Scoped ids

    /// The open_id of human `user` as seen by app `appId` (open_ids are app-scoped).
    public func userOpenID(appId: String, user: String) -> String { "ou_" + Core.hexID("user", appId, user) }

    /// The p2p chat of `user` with app `appId`.
    public func p2pChatID(appId: String, user: String) -> String { "oc_" + Core.hexID("p2p", appId, userOpenID(appId: appId, user: user)) }

    /// The chat id of group `group` (the same for every app in it).
    public func groupChatID(group: String) -> String { "oc_" + Core.hexID("group", group) }

    // MARK: Injecting user messages

    /// A user sends the bot a p2p text message. The user and chat become the app's.
    /// - Returns: The message id (`om_…`).
    @discardableResult
    public func injectDirectMessage(appId: String, user: String, text: String) -> String {
        injectMessage(appId: appId, chatType: "p2p", group: nil, user: user, messageType: "text", content: ["text": .string(text)])
    }

    /// A group member sends a text message, @-mentioning the bot when `mentionBot`
    /// (`@_user_1` placeholder + `mentions[0]` with the bot's open_id). The group becomes
    /// one of the app's chats.
    /// - Parameter mentionOthers: Names of other users mentioned after the bot.
    /// - Returns: The message id.
    @discardableResult
    public func injectGroupMessage(appId: String, group: String, user: String, text: String, mentionBot: Bool = true,
                                   mentionOthers: [String] = []) -> String {
        var placeholders: [String] = []
        var mentions: [JSONValue] = []
        var n = 1
        if mentionBot, let app = app(appId: appId) {
            placeholders.append("@_user_\(n)")
            mentions.append(Self.mention(key: "@_user_\(n)", openID: app.botOpenID, name: app.name))
            n += 1
        }
        for other in mentionOthers {
            placeholders.append("@_user_\(n)")
            mentions.append(Self.mention(key: "@_user_\(n)", openID: userOpenID(appId: appId, user: other), name: other))
            n += 1
        }
        let textWithMentions = (placeholders + [text]).joined(separator: " ")
        return injectMessage(appId: appId, chatType: "group", group: group, user: user, messageType: "text",
                             content: ["text": .string(textWithMentions)], mentions: mentions)
    }

    static func mention(key: String, openID: String, name: String) -> JSONValue {
        ["key": .string(key), "id": ["open_id": .string(openID), "union_id": .string("on_" + Core.hexID("union", openID)), "user_id": ""],
         "name": .string(name), "tenant_key": "sim-tenant"]
    }

    /// Pushes an `im.message.receive_v1` of any type with the given content object.
    /// - Returns: The message id.
    @discardableResult
    public func injectMessage(appId: String, chatType: String, group: String?, user: String, messageType: String, content: JSONValue,
                              mentions: [JSONValue] = [], createTime: Date? = nil) -> String {
        let openID = userOpenID(appId: appId, user: user)
        let chatID = group.map { groupChatID(group: $0) } ?? p2pChatID(appId: appId, user: user)
        let (messageID, eventID) = core.state.withLock { s -> (String, String) in
            let n = s.makeID()
            let messageID = "om_" + Core.hexID("msg", appId, String(n))
            s.apps[appId]?.chats.insert(chatID)
            s.apps[appId]?.users.insert(openID)
            s.apps[appId]?.messages[messageID] = chatID
            return (messageID, Core.hexID("event", appId, String(n)))
        }
        let ms = String(Int64((createTime ?? core.now).timeIntervalSince1970 * 1000))
        let event: JSONValue = [
            "sender": ["sender_id": ["open_id": .string(openID), "union_id": .string("on_" + Core.hexID("union", openID)), "user_id": .string(user)],
                       "sender_type": "user", "tenant_key": "sim-tenant"],
            "message": ["message_id": .string(messageID), "root_id": "", "parent_id": "", "create_time": .string(ms), "update_time": .string(ms),
                        "chat_id": .string(chatID), "thread_id": "", "chat_type": .string(chatType), "message_type": .string(messageType),
                        "content": .string(content.jsonText), "mentions": .array(mentions), "user_agent": "ChannelKitSimulator"],
        ]
        pushEnvelope(appId: appId, eventID: eventID, type: "im.message.receive_v1", createTime: ms, event: event)
        return messageID
    }

    /// Pushes any other event (`im.chat.member.bot.added_v1`, an invented type, …).
    /// - Returns: The event id.
    @discardableResult
    public func injectEvent(appId: String, type: String, event: JSONValue) -> String {
        let eventID = core.state.withLock { s in Core.hexID("event", appId, String(s.makeID())) }
        pushEnvelope(appId: appId, eventID: eventID, type: type, createTime: String(Int64(core.now.timeIntervalSince1970 * 1000)), event: event)
        return eventID
    }

    private func pushEnvelope(appId: String, eventID: String, type: String, createTime: String, event: JSONValue) {
        let envelope: JSONValue = [
            "schema": "2.0",
            "header": ["event_id": .string(eventID), "event_type": .string(type), "create_time": .string(createTime), "token": "",
                       "app_id": .string(appId), "tenant_key": "sim-tenant"],
            "event": event,
        ]
        core.state.withLock { $0.apps[appId]?.lastEventPayload = envelope }
        core.pushEvent(appId: appId, eventID: eventID, payload: Array(envelope.jsonText.utf8))
    }

    /// Pushes the app's last event again, unchanged (same event id and message id).
    public func duplicateLastEvent(appId: String) {
        guard let last = core.state.withLock({ $0.apps[appId]?.lastEventPayload }), let eventID = last["header"]?["event_id"]?.stringValue else { return }
        core.pushEvent(appId: appId, eventID: eventID, payload: Array(last.jsonText.utf8))
    }

    /// Pushes the app's last message again under a new event id and a new message id,
    /// same sender, chat, create_time and content (openclaw #46778).
    public func redeliverLastWithNewMessageID(appId: String) {
        guard var last = core.state.withLock({ $0.apps[appId]?.lastEventPayload }), case .object(var root) = last,
              case .object(var header) = root["header"] ?? .null, case .object(var event) = root["event"] ?? .null,
              case .object(var message) = event["message"] ?? .null else { return }
        let (eventID, messageID) = core.state.withLock { s -> (String, String) in
            let n = s.makeID()
            let messageID = "om_" + Core.hexID("msg", appId, String(n))
            if let chat = message["chat_id"]?.stringValue { s.apps[appId]?.messages[messageID] = chat }
            return (Core.hexID("event", appId, String(n)), messageID)
        }
        header["event_id"] = .string(eventID)
        message["message_id"] = .string(messageID)
        event["message"] = .object(message)
        root["header"] = .object(header)
        root["event"] = .object(event)
        last = .object(root)
        core.state.withLock { $0.apps[appId]?.lastEventPayload = last }
        core.pushEvent(appId: appId, eventID: eventID, payload: Array(last.jsonText.utf8))
    }

    /// Sends `bytes` verbatim as a binary message on the app's live connection
    /// (malformed protobuf).
    public func injectRawFrame(appId: String, bytes: [UInt8]) {
        core.sendToLive(appId: appId, .binary(bytes))
    }

    /// Pushes a well-formed data frame whose payload is `payload` verbatim (malformed
    /// JSON). It is tracked for acks like any event.
    /// - Returns: The event id used for ack tracking.
    @discardableResult
    public func injectRawEventPayload(appId: String, payload: [UInt8]) -> String {
        let eventID = core.state.withLock { s in "raw-" + Core.hexID("raw", appId, String(s.makeID()), length: 16) }
        core.pushEvent(appId: appId, eventID: eventID, payload: payload)
        return eventID
    }

    /// Splits the app's next pushes into `parts` fragments (1 = unsplit), sent in order
    /// or reversed.
    public func setFragmentation(appId: String, parts: Int, reversed: Bool = false) {
        core.state.withLock { s in
            s.apps[appId]?.fragmentParts = max(1, parts)
            s.apps[appId]?.fragmentsReversed = reversed
        }
    }

    // MARK: Connection control

    /// Drops the app's connections without a close frame.
    public func dropConnections(appId: String) { core.sendToLive(appId: appId, .abort) }

    /// Closes the app's connections normally, as the server does when it wants the
    /// client to reconnect (to another node).
    public func requestReconnect(appId: String) { core.sendToLive(appId: appId, .close(1000, "reconnect")) }

    /// Replaces (merges into) the app's ClientConfig and pushes it at once in an
    /// unsolicited pong (later pongs carry it too).
    public func pushClientConfig(appId: String, _ config: JSONValue) {
        let merged: JSONValue? = core.state.withLock { s in
            guard case .object(var current) = s.apps[appId]?.clientConfig ?? .null, case .object(let new) = config else { return nil }
            for (k, v) in new { current[k] = v }
            s.apps[appId]?.clientConfig = .object(current)
            return config
        }
        guard let merged else { return }
        core.sendToLive(appId: appId, .binary(Core.frame(seqID: 0, logID: 0, service: core.configuration.serviceID, method: 0,
                                                         headers: [("type", "pong")], payload: Array(merged.jsonText.utf8))))
    }

    /// Makes the app's WebSocket handshakes fail with `status` (in `Handshake-Status`),
    /// `authCode` (`Handshake-Autherrcode`) and `message`; `nil` status restores them.
    public func rejectHandshakes(appId: String, status: Int?, authCode: Int? = nil, message: String = "rejected") {
        core.state.withLock { $0.apps[appId]?.handshakeRejection = status.map { ($0, authCode, message) } }
    }

    /// Makes the app's next endpoint calls fail: HTTP `status` (200 = a JSON `code`).
    public func failEndpoint(appId: String, status: Int = 200, code: Int, times: Int = 1) {
        core.state.withLock { s in
            for _ in 0..<times { s.apps[appId]?.endpointFailures.append((status, code)) }
        }
    }

    /// Ends every token of the app now: calls with them get 99991663, the next fetch
    /// mints a new one.
    public func expireToken(appId: String) { core.expireTokens(appId: appId) }

    /// Makes the app's next `times` bot-info calls fail with HTTP 500.
    public func failBotInfo(appId: String, times: Int) {
        core.state.withLock { $0.apps[appId]?.botInfoFailures = times }
    }

    /// Makes the app's bot-info calls fail with HTTP 500 for `duration` from now (on the
    /// simulator's clock).
    public func failBotInfo(appId: String, for duration: Duration) {
        let until = core.now.addingTimeInterval(duration.seconds)
        core.state.withLock { $0.apps[appId]?.botInfoFailingUntil = until }
    }

    /// Holds the app's bot-info replies until the returned gate opens (`nil` to stop
    /// holding later calls).
    @discardableResult
    public func holdBotInfo(appId: String) -> AsyncGate {
        let gate = AsyncGate()
        core.state.withLock { $0.apps[appId]?.botInfoGate = gate }
        return gate
    }

    /// Stops holding bot-info replies (calls already held wait for their gate).
    public func releaseBotInfoHold(appId: String) {
        core.state.withLock { $0.apps[appId]?.botInfoGate = nil }
    }

    /// Makes the app's next send, reply or upload fail with `status` and `code` (and
    /// `x-ogw-ratelimit-reset` when `resetSeconds` is given).
    public func failNextSend(appId: String, status: Int, code: Int, message: String = "injected failure", resetSeconds: Int? = nil) {
        core.state.withLock { $0.apps[appId]?.injectedFailures.append(InjectedFailure(status: status, code: code, message: message, resetSeconds: resetSeconds)) }
    }

    // MARK: Inspection

    /// The accepted sends and replies authorised by `appId`'s token, in order (a
    /// `uuid` retry that the platform deduplicated is not counted again).
    public func sentMessages(appId: String) -> [Send] {
        core.state.withLock { $0.sends.filter { $0.appId == appId && $0.accepted && ($0.kind == "send" || $0.kind == "reply") } }
    }

    /// Every send, reply and upload request, accepted or not, in order.
    public var allSends: [Send] { core.state.withLock { $0.sends } }

    /// Sends the platform refused as misrouted: a chat the app is not in, another app's
    /// open_id, a reply to a message the app never saw.
    public var misroutedCount: Int { core.state.withLock { $0.misrouted } }

    /// How many tenant tokens the app fetched.
    public func tokenFetchCount(appId: String) -> Int { core.state.withLock { $0.apps[appId]?.tokenFetches ?? 0 } }

    /// The app's current tenant token value.
    public func currentToken(appId: String) -> String? { core.state.withLock { $0.apps[appId]?.currentToken?.value } }

    /// How many endpoint calls (tickets) the app made.
    public func endpointCallCount(appId: String) -> Int { core.state.withLock { $0.apps[appId]?.endpointCalls ?? 0 } }

    /// How many bot-info calls the app made.
    public func botInfoCallCount(appId: String) -> Int { core.state.withLock { $0.apps[appId]?.botInfoCalls ?? 0 } }

    /// How many pings the app sent, and the `service` of each.
    public func pingCount(appId: String) -> Int { core.state.withLock { $0.apps[appId]?.pings ?? 0 } }
    /// The `service` field of every ping the app sent.
    public func pingServices(appId: String) -> [Int32] { core.state.withLock { $0.apps[appId]?.pingServices ?? [] } }

    /// Every ack the app sent, in order.
    public func acks(appId: String) -> [Ack] { core.state.withLock { $0.apps[appId]?.acks ?? [] } }

    /// How many events were pushed again after their ack timeout.
    public func redeliveryCount(appId: String) -> Int { core.state.withLock { $0.apps[appId]?.redeliveries ?? 0 } }

    /// How many events of the app are still unacked.
    public func unackedCount(appId: String) -> Int { core.state.withLock { $0.apps[appId]?.pending.values.filter { !$0.acked }.count ?? 0 } }

    /// How many sends were deduplicated by their `uuid`.
    public func duplicateUUIDCount(appId: String) -> Int { core.state.withLock { $0.apps[appId]?.duplicateUUIDs ?? 0 } }

    /// Whether the app has a live long connection.
    public func isConnected(appId: String) -> Bool { core.state.withLock { $0.liveConnection(appId: appId) != nil } }

    /// The number of live long connections of the app.
    public func connectionCount(appId: String) -> Int { core.state.withLock { s in s.connections.values.filter { $0.appId == appId }.count } }

    /// The number of apps with a live long connection.
    public var connectedAppCount: Int { core.state.withLock { s in Set(s.connections.values.map(\.appId)).count } }

    /// Waits until the app has a live long connection. Ends early on ``shutdown()``.
    public func waitUntilConnected(appId: String) async { await core.waitUntilConnected(appId: appId) }
}
