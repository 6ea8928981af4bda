import Foundation
import ChannelKit

/// One OpenIM account's connection: one msg gateway session per ``run()``, plus sends,
/// friend operations, identity and probing.
///
/// State that must survive reconnects lives here: the synced seq of every conversation
/// (also persisted in the state store, document `openim-seqs`, so a restarted process
/// pulls what it missed), the pending requests, the consecutive dial failures and the
/// account's ``OpenIMTokenRecovery``.
///
/// Each ``run()``:
/// 1. takes the token from the recovery (`currentToken()`: a refreshed token that
///    replaced the configured one, else the configured one; a manual-login marker ends
///    the account as *failed*);
/// 2. dials `wsAddr/?sendID&token&platformID&operationID&isBackground=false&sdkType=js&isMsgResp=true`
///    (`&compression=gzip` with ``OpenIMAdapter/Configuration/gzip``) and waits for the gateway's text frame `{"errCode":…}`: 0 reports `.connected`,
///    1501 / 1502–1505, 1507 / 1506 start a token recovery;
/// 3. syncs: 1001 (max seqs) then 1002 pulls from each conversation's synced seq (≤ 100
///    per range), and pulls again whenever a push skips seqs;
/// 4. decodes pushes (2001) into messages, skipping self-sent ones; 2002 (kicked) starts
///    a token recovery; a WebSocket ping every 25 s keeps the server's 30 s deadline.
///
/// After three consecutive dial failures a `connectFailed` recovery is tried (one blip
/// never spends a refresh). A recovered token reconnects at once; `retryLater` uses the
/// runtime's backoff; a terminal failure ends the run with `.failed("manual login
/// required: …")`. Cancelling ``run()`` closes the socket and ends every child task.
public actor OpenIMConnection: AccountConnection {
    /// Longest text per message, in Characters.
    public nonisolated let textChunkLimit: Int
    /// The account's settings.
    public nonisolated let settings: OpenIMAccountSettings
    /// The account's friend and blacklist operations (guarded by `disableFriendSdk`).
    public nonisolated let friends: OpenIMFriends
    nonisolated let context: AccountContext
    nonisolated let configuration: OpenIMAdapter.Configuration
    nonisolated let recovery: OpenIMTokenRecovery
    nonisolated let api: OpenIMAPI
    nonisolated let rules: OpenIMInbound.Rules

    /// How a session ended.
    enum SessionEnd: Sendable {
        case outcome(AccountRunOutcome)
        case token(OpenIMTokenRecoveryTrigger)
    }

    /// One msg gateway session.
    struct Session {
        let generation: Int
        let socket: any WebSocketConnection
        var ready = false
        var end: SessionEnd?
    }

    var session: Session?
    var generation = 0
    var dialFailures = 0
    /// The reply to one request (`msgIncr`), or the signal that a session is ready.
    typealias Reply = OneShot<Result<OpenIMResponseEnvelope, ChannelError>>

    var pending: [String: Reply] = [:]
    var readyWaiters: [Reply] = []
    var requestCounter: UInt64 = 0
    var activeToken: Secret?
    var seqs = OpenIMSeqDocument()
    var seqsLoaded = false
    var seqsDirty = false
    /// Seqs above a conversation's synced seq that were already seen (push before gap).
    var seqsAbove: [String: Set<Int64>] = [:]
    var syncSignal: AsyncStream<Void>.Continuation?
    var needsFullSync = false
    var isShutDown = false
    var lastInboundAt = Date.distantPast

    var account: AccountKey { context.account }
    var logger: ChannelLogger { context.logger }

    init(settings: OpenIMAccountSettings, context: AccountContext, configuration: OpenIMAdapter.Configuration) {
        self.settings = settings
        self.context = context
        self.configuration = configuration
        self.textChunkLimit = configuration.textChunkLimit
        let recovery = OpenIMTokenRecovery(accountID: context.account.account.rawValue, configuredToken: settings.token,
                                           refresh: settings.tokenRefresh, hook: configuration.tokenHook,
                                           didRefresh: configuration.tokenDidRefresh, context: context)
        self.recovery = recovery
        let api = OpenIMAPI(settings: settings, account: context.account, http: context.http, time: context.time,
                            timeout: configuration.requestTimeout * 3) {
            if case .recovered(let token) = await recovery.currentToken() { return token }
            return nil
        }
        self.api = api
        self.friends = OpenIMFriends(account: context.account, isDisabled: settings.disableFriendSdk, api: api, ownUserID: settings.userID)
        self.rules = OpenIMInbound.Rules(ownUserID: settings.userID, requireMention: settings.requireMention,
                                         inboundWhitelist: Set(settings.inboundWhitelist), atAllMentions: configuration.atAllMentions)
    }

    /// Runs one session. See the type's discussion.
    /// - Returns: `.reconnect(after: .zero)` after a recovered token, `.reconnect(after:
    ///   nil)` otherwise, or `.failed` when a manual login is required.
    /// - Throws: `CancellationError` when cancelled (after closing the socket); a store
    ///   error when the synced seqs cannot be read.
    public func run() async throws -> AccountRunOutcome {
        if isShutDown { return .failed(reason: "connection was shut down") }
        try await loadSeqs()
        if context.identity.current?.id != settings.userID {
            await context.events.identity(AccountIdentity(id: settings.userID))
        }
        let token: Secret
        switch await recovery.currentToken() {
        case .recovered(let t): token = t
        case .retryLater(let reason): return .reconnect(after: nil, reason: reason)
        case .manualLoginRequired(let reason): return .failed(reason: "manual login required: \(reason)")
        }
        activeToken = token
        try Task.checkCancellation()

        let socket: any WebSocketConnection
        do {
            socket = try await context.webSocket.connect(WebSocketRequest(url: gatewayURL(token: token)))
        } catch {
            if Task.isCancelled { throw CancellationError() }
            if let rejected = error as? ChannelError, let body = rejected.response?.body,
               let object = (try? JSONDecoder().decode(JSONValue.self, from: body))?.objectValue,
               let code = object["errCode"]?.intValue, let trigger = Self.trigger(code: code, message: object["errMsg"]?.stringValue ?? "") {
                dialFailures = 0
                return await recover(trigger)
            }
            dialFailures += 1
            let reason = Redactor.redact("msg gateway connect failed (\(dialFailures) in a row): \(error)")
            logger.warning(reason, source: "OpenIM")
            if dialFailures >= configuration.dialFailuresBeforeRecovery {
                dialFailures = 0
                return await recover(.connectFailed(code: 10000, message: reason))
            }
            return .reconnect(after: nil, reason: reason)
        }
        generation += 1
        let gen = generation
        session = Session(generation: gen, socket: socket)
        lastInboundAt = context.time.now()
        let (signals, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        syncSignal = continuation
        needsFullSync = true
        logger.debug("msg gateway socket open (session \(gen)); waiting for the connect result", source: "OpenIM")

        let end = await withTaskGroup(of: SessionEnd?.self) { group in
            group.addTask { await self.readLoop(socket, generation: gen) }
            group.addTask { await self.watchdog(generation: gen); return nil }
            group.addTask { await self.syncLoop(signals, generation: gen); return nil }
            var result: SessionEnd?
            for await value in group {
                if let value { result = value; break }
            }
            group.cancelAll()
            return result ?? .outcome(.reconnect(after: nil, reason: "session ended"))
        }

        if session?.generation == gen { session = nil }
        continuation.finish()
        syncSignal = nil
        let closed = ChannelError(.connectionClosed, "the msg gateway session ended before the reply", account: account)
        for waiter in pending.values { waiter.resolve(.failure(closed)) }
        pending.removeAll()
        await socket.close(code: .normalClosure, reason: "")
        await saveSeqs()
        if Task.isCancelled { throw CancellationError() }
        switch end {
        case .outcome(let outcome):
            logger.info("session \(gen) ended: \(outcome)", source: "OpenIM")
            return outcome
        case .token(let trigger):
            return await recover(trigger)
        }
    }

    /// The token codes of the connect result and of failed requests.
    static func trigger(code: Int, message: String) -> OpenIMTokenRecoveryTrigger? {
        let safe = Redactor.redact(message)
        switch code {
        case 1501: return .expired(code: code, message: safe)
        case 1502...1505, 1507: return .invalid(code: code, message: safe)
        case 1506: return .kicked(code: code, message: safe)
        default: return nil
        }
    }

    /// Asks the recovery for a new token and turns its answer into the run's outcome.
    func recover(_ trigger: OpenIMTokenRecoveryTrigger) async -> AccountRunOutcome {
        logger.warning("token problem (\(trigger.reason)); trying token recovery", source: "OpenIM")
        switch await recovery.recover(trigger) {
        case .recovered:
            logger.info("token recovered after \(trigger.reason); reconnecting", source: "OpenIM")
            return .reconnect(after: .zero, reason: "token recovered after \(trigger.reason)")
        case .retryLater(let reason):
            return .reconnect(after: nil, reason: Redactor.redact(reason))
        case .manualLoginRequired(let reason):
            let text = "manual login required: \(Redactor.redact(reason))"
            await context.events.error(ChannelError(.unauthorized, text, account: account))
            return .failed(reason: text)
        }
    }

    /// `wsAddr` with the connect query (the token only ever travels here).
    func gatewayURL(token: Secret) -> URL {
        var components = URLComponents(url: settings.wsAddr, resolvingAgainstBaseURL: false) ?? URLComponents()
        if components.path.isEmpty { components.path = "/" }
        var items = components.queryItems ?? []
        items.append(contentsOf: [
            URLQueryItem(name: "sendID", value: settings.userID),
            URLQueryItem(name: "token", value: token.reveal()),
            URLQueryItem(name: "platformID", value: String(settings.platformID)),
            URLQueryItem(name: "operationID", value: OpenIMAPI.operationID()),
            URLQueryItem(name: "isBackground", value: "false"),
            URLQueryItem(name: "sdkType", value: "js"),
            URLQueryItem(name: "isMsgResp", value: "true"),
        ])
        if configuration.gzip { items.append(URLQueryItem(name: "compression", value: "gzip")) }
        components.queryItems = items
        return components.url ?? settings.wsAddr
    }

    // MARK: Identity, probe, shutdown

    /// The own user id, from the configuration or the token's `UserID` claim.
    public func discoverIdentity() async throws -> AccountIdentity? {
        AccountIdentity(id: settings.userID)
    }

    /// Checks the token (`/auth/parse_token`: its user and platform must be this
    /// account's) and that the msg gateway accepts it (connect result `errCode` 0 within
    /// the handshake timeout). Problems are redacted.
    public func probe() async -> AccountProbe {
        var probe = AccountProbe(identity: AccountIdentity(id: settings.userID))
        let token: Secret
        switch await recovery.currentToken() {
        case .recovered(let t): token = t
        case .retryLater(let reason), .manualLoginRequired(let reason):
            probe.tokenOK = false
            probe.problems.append(Redactor.redact(reason))
            return probe
        }
        do {
            let data = try await api.post("/auth/parse_token", ["token": .string(token.reveal())], authenticated: false)
            let user = data["userID"]?.stringValue, platform = data["platformID"]?.intValue
            probe.tokenOK = user == settings.userID && (platform == nil || platform == settings.platformID)
            if probe.tokenOK == false {
                probe.problems.append("the token belongs to user \(user ?? "?") platform \(platform.map(String.init) ?? "?"), not \(settings.userID) platform \(settings.platformID)")
            }
        } catch let error as ChannelError {
            probe.tokenOK = error.code == .unauthorized ? false : nil
            probe.problems.append(error.description)
        } catch {
            probe.problems.append(Redactor.redact("\(error)"))
        }
        do {
            let socket = try await context.webSocket.connect(WebSocketRequest(url: gatewayURL(token: token)))
            let time = context.time, timeout = configuration.handshakeTimeout
            let code = await withTaskGroup(of: Int??.self) { group in
                group.addTask {
                    do {
                        for try await message in socket.messages {
                            if case .text(let text) = message, case .connectResult(let code, _)? = try? OpenIMEnvelopeCodec.decodeText(text) { return code }
                        }
                    } catch {}
                    return .some(nil)
                }
                group.addTask {
                    do { try await time.sleep(for: timeout) } catch { return nil }
                    return .some(nil)
                }
                var result: Int?
                for await value in group {
                    if let value { result = value; break }
                }
                group.cancelAll()
                return result
            }
            await socket.close(code: .normalClosure, reason: "")
            probe.gatewayReachable = code != nil
            if let code, code != 0 {
                probe.tokenOK = false
                probe.problems.append("the msg gateway refused the token: errCode \(code)")
            } else if code == nil {
                probe.problems.append("the msg gateway sent no connect result within \(timeout)")
            }
        } catch {
            probe.gatewayReachable = false
            probe.problems.append(Redactor.redact("msg gateway: \(error)"))
        }
        return probe
    }

    /// Stores the synced seqs, fails pending requests with `.stopped` and closes a socket
    /// left open.
    public func shutdown() async {
        if isShutDown { return }
        isShutDown = true
        await recovery.cancel()
        await saveSeqs()
        let error = ChannelError(.stopped, "the OpenIM connection was shut down", account: account)
        for waiter in pending.values { waiter.resolve(.failure(error)) }
        pending.removeAll()
        for waiter in readyWaiters { waiter.resolve(.failure(error)) }
        readyWaiters.removeAll()
        if let session {
            self.session = nil
            await session.socket.close(code: .goingAway, reason: "")
        }
    }
}
