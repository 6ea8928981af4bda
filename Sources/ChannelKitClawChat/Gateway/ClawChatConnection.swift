import Foundation
import ChannelKit

/// One ClawChat account's connection: one Protocol v2 WebSocket session per ``run()``,
/// plus sends, identity discovery and probing.
///
/// State that must survive reconnects lives here, not in a session: the
/// ``RefreshCoordinator`` (single flight, rejected-token latch, 30 s minimum interval),
/// the unacked sends (re-sent byte-identical after a reconnect), the device ids, and the
/// chats blocked after `chat_not_found`/`not_member`.
///
/// Each ``run()``:
/// 1. loads the stored pair (the configured pair seeds it; a changed configured pair
///    replaces it), and refreshes first when the token is already due;
/// 2. connects, answers `connect.challenge` with `connect`, and waits for `hello-*`
///    (``ClawChatAdapter/Configuration/handshakeTimeout``);
/// 3. after `hello-ok` reports `.connected`, re-sends unacked frames, buffers the replay
///    until `replay.done` and delivers it sorted by message id, then serves frames;
/// 4. runs the proactive refresh as a child task; a rotation closes the socket and the
///    run returns `.reconnect(after: .zero)` so the next run uses the new token.
///
/// Cancelling ``run()`` closes the socket and ends every child task before it returns.
public actor ClawChatConnection: AccountConnection {
    /// Longest text per message, in Characters.
    public nonisolated let textChunkLimit: Int
    /// The account's settings.
    public nonisolated let settings: ClawChatAccountSettings
    nonisolated let context: AccountContext
    nonisolated let configuration: ClawChatAdapter.Configuration

    struct Bootstrapped: Sendable {
        let coordinator: RefreshCoordinator
        let api: ClawChatAPI
        let restDeviceID: String
        let wsDeviceID: String
        let seedFingerprint: String
    }

    /// One WebSocket session.
    struct Session {
        let generation: Int
        let socket: any WebSocketConnection
        /// The access token sent in `connect`.
        let token: Secret
        var connectSent = false
        var ready = false
        var ackDseq = false
        var ackEpoch: ClawChatWire.AckEpoch?
        var replaying = false
        var replayStartedAt: Date?
        var replayBuffer: [(message: InboundMessage, dseq: Int?)] = []
        /// Set when the socket is closed on purpose, with the run's outcome.
        var closingOutcome: AccountRunOutcome?
        /// Seq number of the frame last put on the wire (for close 1009).
        var lastSentSendID: UInt64?
    }

    /// One outbound frame waiting for its ack.
    struct PendingSend {
        let id: UInt64
        let traceID: String
        let messageID: String
        let chatID: String
        let frame: String
        var transmissions = 0
        var sentInGeneration: Int?
        let waiter: ClawChatSendWaiter
    }

    var boot: Bootstrapped?
    var bootTask: Task<Bootstrapped, any Error>?
    /// Set after a permanent refresh failure: the account needs re-activation.
    var permanentFailure: String?
    var session: Session?
    var generation = 0
    var pending: [PendingSend] = []
    var nextSendID: UInt64 = 0
    var blockedChats: [String: (until: Date, code: String)] = [:]
    var lastInboundAt: Date?
    var keepaliveCounter = 0
    var isShutDown = false

    /// Creates the connection; no I/O happens before ``run()``.
    public init(settings: ClawChatAccountSettings, context: AccountContext, configuration: ClawChatAdapter.Configuration = .init()) {
        self.settings = settings
        self.context = context
        self.configuration = configuration
        self.textChunkLimit = configuration.textChunkLimit
    }

    var logger: ChannelLogger { context.logger }
    var account: AccountKey { context.account }

    // MARK: Run

    /// Runs one session. See the type's discussion.
    /// - Returns: `.reconnect(after:reason:)` — `.zero` after a token rotation, ≥ 5 s after
    ///   close 4001, `retry_after_ms` after 4002, `nil` (the runtime's backoff) otherwise —
    ///   or `.failed` when the refresh token was permanently rejected or the tokens are
    ///   blank (re-activation required).
    /// - Throws: `CancellationError` when cancelled (after closing the socket); a store
    ///   error when the stored credentials cannot be read.
    public func run() async throws -> AccountRunOutcome {
        if isShutDown { return .failed(reason: "connection was shut down") }
        let boot = try await bootstrap()
        if let permanentFailure { return .failed(reason: permanentFailure) }
        if let mismatch = await identityMismatch(boot) { return .failed(reason: mismatch) }
        if context.identity.current == nil {
            do {
                if let identity = try await discoverIdentity() { await context.events.identity(identity) }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                logger.warning("own user id unknown (\(error)); inbound messages are dropped fail-closed until it is", source: "ClawChat")
            }
        }
        if let permanentFailure { return .failed(reason: permanentFailure) }
        if await boot.coordinator.isNearExpiry() {
            guard let outcome = await ClawChatRefreshWaiter.refresh(boot.coordinator, reason: "startup") else { throw CancellationError() }
            if let failed = await failIfPermanent(outcome) { return failed }
        }
        let pair = await boot.coordinator.credentials
        if pair.accessToken.isEmpty || pair.refreshToken.isEmpty {
            return .failed(reason: Self.reactivationRequired)
        }
        try Task.checkCancellation()

        let socket: any WebSocketConnection
        do {
            socket = try await context.webSocket.connect(WebSocketRequest(url: settings.websocketURL))
        } catch {
            if Task.isCancelled { throw CancellationError() }
            let reason = "WebSocket connect failed: \(error)"
            logger.warning(reason, source: "ClawChat")
            return .reconnect(after: nil, reason: Redactor.redact(reason))
        }
        generation += 1
        let gen = generation
        session = Session(generation: gen, socket: socket, token: pair.accessToken)
        lastInboundAt = context.time.now()
        logger.debug("WebSocket open (session \(gen)); waiting for connect.challenge", source: "ClawChat")

        let outcome = await withTaskGroup(of: AccountRunOutcome?.self) { group in
            group.addTask { await self.readLoop(socket, generation: gen) }
            group.addTask { await self.watchdog(generation: gen); return nil }
            group.addTask { await self.proactiveRefresh(boot.coordinator, generation: gen) }
            var result: AccountRunOutcome?
            for await value in group {
                if let value { result = value; break }
            }
            group.cancelAll()
            return result ?? .reconnect(after: nil, reason: "session ended")
        }

        let leftover = session?.generation == gen ? (session?.replayBuffer ?? []) : []
        if session?.generation == gen { session = nil }
        await socket.close(code: .normalClosure, reason: "")
        // Messages that arrived during an unfinished replay are delivered; their dseq
        // stays unacked, so the server replays them and the gateway's dedup drops them.
        for item in leftover { await deliver(item.message) }
        if Task.isCancelled { throw CancellationError() }
        logger.info("session \(gen) ended: \(outcome)", source: "ClawChat")
        return outcome
    }

    static let reactivationRequired = "re-activation required: the ClawChat tokens were revoked or are blank"

    /// Reads frames until the socket ends, then applies the close rules.
    func readLoop(_ socket: any WebSocketConnection, generation gen: Int) async -> AccountRunOutcome {
        var failure: (any Error)?
        do {
            for try await message in socket.messages {
                context.events.activity(at: context.time.now())
                if let outcome = await received(message, generation: gen) {
                    await socket.close(code: .normalClosure, reason: "")
                    return outcome
                }
            }
        } catch {
            failure = error
        }
        return await socketEnded(socket, generation: gen, error: failure)
    }

    func socketEnded(_ socket: any WebSocketConnection, generation gen: Int, error: (any Error)?) async -> AccountRunOutcome {
        if let planned = session?.generation == gen ? session?.closingOutcome : nil { return planned }
        let wasReady = session?.generation == gen && session?.ready == true
        let action = ClawChatSessionRules.closeAction(socket.closeStatus, configuration: configuration)
        if action.dropLastFrame, let id = session?.lastSentSendID {
            failSend(id, ChannelError(.platform, "ClawChat closed the socket with 1009 (frame too large); the frame is not resent",
                                      account: account, platformCode: 1009))
        }
        if let error, socket.closeStatus == nil {
            logger.info("socket dropped: \(error)", source: "ClawChat")
        }
        if !wasReady, socket.closeStatus?.code.rawValue != 4001, socket.closeStatus?.code.rawValue != 4002 {
            return .reconnect(after: action.after, reason: "handshake did not complete: \(action.reason)")
        }
        return .reconnect(after: action.after, reason: action.reason)
    }

    /// Handshake deadline, replay flush deadline and keepalive, for one session.
    func watchdog(generation gen: Int) async {
        let time = context.time
        let tick = min(configuration.handshakeTimeout, configuration.keepaliveInterval ?? configuration.handshakeTimeout)
        let started = time.now()
        var lastKeepalive = started
        while !Task.isCancelled {
            do { try await time.sleep(for: tick) } catch { return }
            guard let session, session.generation == gen else { return }
            let now = time.now()
            if !session.ready {
                if now.timeIntervalSince(started) >= configuration.handshakeTimeout.seconds {
                    logger.warning("no hello within \(configuration.handshakeTimeout); closing", source: "ClawChat")
                    await closeSession(gen, outcome: .reconnect(after: nil, reason: "handshake timed out"))
                    return
                }
                continue
            }
            if session.replaying, let since = session.replayStartedAt, now.timeIntervalSince(since) >= configuration.handshakeTimeout.seconds {
                logger.info("no replay.done within \(configuration.handshakeTimeout); delivering the replay so far", source: "ClawChat")
                await finishReplay(generation: gen)
            }
            guard let interval = configuration.keepaliveInterval else {
                if session.replaying { continue }
                return   // handshake and replay done, no keepalive: nothing left to watch
            }
            if let last = lastInboundAt, now.timeIntervalSince(last) >= 2 * interval.seconds + 1 {
                logger.warning("nothing received for \(Int(now.timeIntervalSince(last))) s; closing the stale socket", source: "ClawChat")
                await closeSession(gen, outcome: .reconnect(after: nil, reason: "socket went silent"))
                return
            }
            if now.timeIntervalSince(lastKeepalive) >= interval.seconds {
                lastKeepalive = now
                await sendKeepalive(generation: gen)
            }
        }
    }

    /// The proactive refresh for the session's lifetime, on the JWT schedule (with ±5 min
    /// jitter), retrying transient failures with the coordinator's backoff. A rotation
    /// closes the socket so the run returns `.reconnect(after: .zero)` and the next run
    /// connects with the new token. Returns `.failed` on a permanent failure; ends at once
    /// when cancelled (a refresh in flight still completes and is stored).
    func proactiveRefresh(_ coordinator: RefreshCoordinator, generation gen: Int) async -> AccountRunOutcome? {
        let refresh = coordinator.configuration
        let time = context.time
        var backoff = Backoff(refresh.transientRetry)
        while !Task.isCancelled {
            let pair = await coordinator.credentials
            let unit = refresh.random() * 2 - 1
            guard let at = refresh.schedule.refreshTime(of: pair.accessToken, activatedAt: pair.activatedAt, unitJitter: unit) else {
                logger.debug("no token expiry known; proactive refresh not armed", source: "ClawChat")
                return nil
            }
            do { try await time.sleep(untilWall: at) } catch { return nil }
            guard let outcome = await ClawChatRefreshWaiter.refresh(coordinator, reason: "proactive") else { return nil }
            switch outcome {
            case .success:
                await closeSession(gen, outcome: .reconnect(after: .zero, reason: "access token rotated proactively"))
                return nil
            case .transient:
                let delay = max(backoff.next(unitRandom: refresh.random()), refresh.minimumInterval)
                do { try await time.sleep(for: delay) } catch { return nil }
            case .skipped(.minInterval):
                do { try await time.sleep(for: refresh.minimumInterval) } catch { return nil }
            case .skipped(.stopped):
                return nil
            case .permanent, .skipped:
                return await failIfPermanent(outcome)
            }
        }
        return nil
    }

    /// After a rotation outside the session (a REST 401/403): the live socket was opened
    /// with the old token, so it is closed and the run reconnects at once with the new one.
    func reconnectIfTokenChanged() async {
        guard let session, let boot, await boot.coordinator.credentials.accessToken != session.token else { return }
        await closeSession(session.generation, outcome: .reconnect(after: .zero, reason: "access token rotated; reconnecting with it"))
    }

    /// Closes the session's socket on purpose; its run returns `outcome`.
    func closeSession(_ gen: Int, outcome: AccountRunOutcome) async {
        guard var current = session, current.generation == gen else { return }
        if current.closingOutcome == nil { current.closingOutcome = outcome }
        session = current
        await current.socket.close(code: .normalClosure, reason: "")
    }

    func sendKeepalive(generation gen: Int) async {
        guard let session, session.generation == gen, session.ready else { return }
        keepaliveCounter += 1
        struct Ping: Encodable { var version = ClawChatWire.version; var event = "ping"; var trace_id: String }
        guard let text = try? ClawChatWire.encode(Ping(trace_id: "ping-\(keepaliveCounter)")) else { return }
        try? await session.socket.send(text: text)
    }

    // MARK: Refresh outcomes

    /// Turns a permanent refresh outcome into `.failed` (blanking the stored tokens);
    /// returns `nil` for every other outcome.
    func failIfPermanent(_ outcome: RefreshOutcome) async -> AccountRunOutcome? {
        switch outcome {
        case .permanent, .skipped(.rejectedLatch), .skipped(.noRefreshToken):
            await markPermanentFailure(outcome)
            return .failed(reason: permanentFailure ?? Self.reactivationRequired)
        default:
            return nil
        }
    }

    /// Permanent refresh failure: blank both tokens in the store (ids kept), stop the
    /// coordinator, fail queued sends, and remember why.
    func markPermanentFailure(_ outcome: RefreshOutcome) async {
        if permanentFailure != nil { return }
        var reason = Self.reactivationRequired
        if case .permanent(let code, _) = outcome { reason += " (refresh code \(code.map(String.init) ?? "none"))" }
        permanentFailure = reason
        logger.error("refresh permanently rejected: \(outcome); blanking the stored tokens, account stops", source: "ClawChat")
        if let boot {
            await boot.coordinator.stop()
            let key = StateKey(account, boot.coordinator.configuration.documentName)
            let store = context.store
            do {
                try await store.withExclusiveAccess(key) {
                    try await store.save(CredentialPair(accessToken: Secret(""), refreshToken: Secret("")), for: key)
                }
            } catch {
                logger.error("could not blank the stored tokens: \(error)", source: "ClawChat")
            }
            await saveGuardState(boot)
        }
        var platformCode: Int?
        if case .permanent(let code, _) = outcome { platformCode = code }
        let error = ChannelError(.refreshPermanent, reason, account: account, platformCode: platformCode)
        await context.events.error(error)
        for item in pending { item.waiter.resolve(.failure(error)) }
        pending.removeAll()
        if let session { await closeSession(session.generation, outcome: .failed(reason: reason)) }
    }

    func saveGuardState(_ boot: Bootstrapped) async {
        struct GuardDocument: Codable { var seedFingerprint: String; var state: RefreshGuardState }
        let state = await boot.coordinator.exportState()
        do {
            try await context.store.save(GuardDocument(seedFingerprint: boot.seedFingerprint, state: state),
                                         for: StateKey(account, ClawChatDeviceRecord.guardDocumentName))
        } catch {
            logger.warning("could not store the refresh guard state: \(error)", source: "ClawChat")
        }
    }

    // MARK: Identity, probe, shutdown

    /// The own user id: configured `userId`, else the access token's `sub`, else
    /// `GET /v1/users/me` (refreshing once on 401/403).
    /// - Throws: ``ChannelError`` from the store or the REST call.
    public func discoverIdentity() async throws -> AccountIdentity? {
        let boot = try await bootstrap()
        if let userID = settings.userID { return AccountIdentity(id: userID) }
        let token = await boot.coordinator.credentials.accessToken
        if let sub = JWTClaims(token: token.reveal())?.sub, !sub.isEmpty { return AccountIdentity(id: sub) }
        return try await boot.api.usersMe()
    }

    /// `GET /v1/users/me` with the current token (refreshing once on 401/403, joining any
    /// refresh in flight).
    /// - Throws: ``ChannelError``: `.unauthorized`, `.refreshPermanent`, `.platform`, …
    public func fetchOwnUser() async throws -> AccountIdentity {
        try await bootstrap().api.usersMe()
    }

    /// A configured `userId` that disagrees with the token's `sub` means the token
    /// belongs to another account: refuse to run rather than act as someone else.
    func identityMismatch(_ boot: Bootstrapped) async -> String? {
        guard let userID = settings.userID else { return nil }
        let token = await boot.coordinator.credentials.accessToken
        guard let sub = JWTClaims(token: token.reveal())?.sub, !sub.isEmpty, sub != userID else { return nil }
        let reason = "the access token belongs to another user than the configured userId \(userID); refusing to run"
        logger.error(reason, source: "ClawChat")
        return reason
    }

    /// Checks the token (`GET /v1/users/me`, refreshing once if needed), the identity,
    /// and that the WebSocket endpoint sends `connect.challenge`. Redacted problems.
    public func probe() async -> AccountProbe {
        var probe = AccountProbe()
        do {
            let boot = try await bootstrap()
            if let permanentFailure { probe.tokenOK = false; probe.problems.append(permanentFailure); return probe }
            do {
                probe.identity = try await boot.api.usersMe()
                probe.tokenOK = true
            } catch let error as ChannelError {
                probe.tokenOK = error.code == .unauthorized || error.code == .refreshPermanent ? false : nil
                probe.problems.append(error.description)
            }
        } catch {
            probe.problems.append(Redactor.redact("\(error)"))
            return probe
        }
        do {
            let socket = try await context.webSocket.connect(WebSocketRequest(url: settings.websocketURL))
            let time = context.time
            let timeout = configuration.handshakeTimeout
            let sawChallenge = await withTaskGroup(of: Bool?.self) { group in
                group.addTask {
                    do {
                        for try await message in socket.messages {
                            if case .text(let text) = message, let frame = try? ClawChatFrame.decode(text) {
                                return frame.event == "connect.challenge"
                            }
                            return false
                        }
                    } catch {}
                    return false
                }
                group.addTask {
                    do { try await time.sleep(for: timeout) } catch { return nil }
                    return false
                }
                var result = false
                for await value in group {
                    if let value { result = value; break }
                }
                group.cancelAll()
                return result
            }
            await socket.close(code: .normalClosure, reason: "")
            probe.gatewayReachable = sawChallenge
            if !sawChallenge { probe.problems.append("the WebSocket endpoint did not send connect.challenge within \(timeout)") }
        } catch {
            probe.gatewayReachable = false
            probe.problems.append(Redactor.redact("WebSocket: \(error)"))
        }
        return probe
    }

    /// Stops the refresh coordinator (an attempt in flight still completes and stores
    /// its pair), stores the refresh guard state, fails queued sends with `.stopped`,
    /// and closes a socket left open.
    public func shutdown() async {
        if isShutDown { return }
        isShutDown = true
        if let boot {
            await boot.coordinator.stop()
            await saveGuardState(boot)
        }
        let error = ChannelError(.stopped, "the ClawChat connection was shut down", account: account)
        for item in pending { item.waiter.resolve(.failure(error)) }
        pending.removeAll()
        if let session {
            self.session = nil
            await session.socket.close(code: .goingAway, reason: "")
        }
    }
}
