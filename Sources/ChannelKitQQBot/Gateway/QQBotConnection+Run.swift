import Foundation
import ChannelKit

extension QQBotConnection {
    /// What the session loop reacts to, in arrival order.
    enum Input: Sendable {
        case frame(WebSocketMessage)
        case closed(code: Int?, reason: String)
        case helloTimeout
        case terminate(QQBotGatewayStateMachine.Outcome)
    }

    /// Runs one gateway session; see ``QQBotConnection``.
    ///
    /// - Returns: `.reconnect(after: .zero)` after op 7 / 4009 / missed ACKs (resume),
    ///   `.reconnect(after: 60 s)` after 4008, `.reconnect(after: nil)` after drops and
    ///   identify-again codes, `.failed` after fatal close codes and rejected credentials.
    /// - Throws: token, `/gateway` and connect failures (the runtime backs off), or
    ///   `CancellationError` (the socket is closed first; no child task outlives the call).
    public func run() async throws -> AccountRunOutcome {
        let alreadyRunning = state.withLock { s -> Bool in
            defer { s.running = true }
            return s.running
        }
        guard !alreadyRunning else {
            throw ChannelError(.invalidState, "run() is already running for this connection", account: context.account)
        }
        defer { state.withLock { $0.running = false } }
        return try await runSession()
    }

    private func runSession() async throws -> AccountRunOutcome {
        let events = context.events
        let time = context.time
        // The set-up's deep frames (token, REST, handshake) run in a child task, so an
        // idle session does not keep their memory (see runInChildTask).
        let setup: Result<any WebSocketConnection, ChannelError> = try await runInChildTask { [self] in
            await restoreSavedSession()
            do {
                _ = try await tokens.token()
            } catch let error as ChannelError {
                if error.code == .unauthorized, let code = error.platformCode, QQBotErrorCode.isPermanentCredentialFailure(code) {
                    return .failure(error)
                }
                throw error
            }
            let url = try await rest.gatewayURL()
            try Task.checkCancellation()
            return .success(try await context.webSocket.connect(WebSocketRequest(url: url)))
        }
        let socket: any WebSocketConnection
        switch setup {
        case .success(let connected):
            socket = connected
        case .failure(let error):
            await events.error(error)
            return .failed(reason: "credentials rejected by the token endpoint (code \(error.platformCode ?? 0))")
        }
        context.logger.debug("gateway socket open", source: "QQBot")
        var decoder = QQBotEventDecoder(account: context.account, botID: state.withLock { s in
            s.machine.socketOpened()
            return s.identity?.id
        })
        let (inputs, continuation) = AsyncStream.makeStream(of: Input.self)
        let helloTimeout = configuration.helloTimeout
        var identifiedWith: Secret?

        let outcome: QQBotGatewayStateMachine.Outcome? = await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    for try await message in socket.messages { continuation.yield(.frame(message)) }
                    let status = socket.closeStatus
                    continuation.yield(.closed(code: status.map { Int($0.code.rawValue) }, reason: status?.reason ?? ""))
                } catch {
                    self.context.logger.debug("gateway socket lost: \(Self.describe(error))", source: "QQBot")
                    let status = socket.closeStatus
                    let code = status.map { Int($0.code.rawValue) }
                    continuation.yield(.closed(code: code == 1006 ? nil : code, reason: status?.reason ?? Self.describe(error)))
                }
            }
            group.addTask {
                do { try await time.sleep(for: helloTimeout) } catch { return }
                continuation.yield(.helloTimeout)
            }
            var result: QQBotGatewayStateMachine.Outcome?
            loop: for await input in inputs {
                var actions: [QQBotGatewayStateMachine.Action] = []
                switch input {
                case .frame(let message):
                    events.activity(at: time.now())
                    guard case .text(let text) = message else {
                        await events.error(ChannelError(.malformedInput, "binary gateway frame ignored", account: context.account))
                        continue
                    }
                    let event: QQBotGatewayEvent
                    do throws(ChannelError) {
                        event = try decoder.decode(text)
                    } catch {
                        context.logger.warning("unreadable gateway frame: \(error.message)", source: "QQBot")
                        await events.error(error)
                        continue
                    }
                    actions = await handle(event, decoder: &decoder)
                case .helloTimeout:
                    actions = [state.withLock { $0.machine.helloTimedOut() }]
                case .terminate(let outcome):
                    result = outcome
                    break loop
                case .closed(let code, let reason):
                    context.logger.debug("gateway socket closed: \(code.map(String.init) ?? "no code") \(reason)", source: "QQBot")
                    result = state.withLock { $0.machine.socketClosed(code: code, reason: reason) }
                    break loop
                }
                for action in actions {
                    switch action {
                    case .identify, .resume:
                        do {
                            let token = try await tokens.token()
                            identifiedWith = token.value
                            try await socket.send(text: gatewayFrame(for: action, token: token))
                        } catch {
                            let reason = "could not send \(action == .identify ? "Identify" : "Resume"): \(Self.describe(error))"
                            result = .reconnect(after: nil, reason: reason, refreshToken: false)
                            break loop
                        }
                    case .startHeartbeats(let interval):
                        group.addTask { [self] in await heartbeatLoop(socket: socket, every: interval, continuation: continuation) }
                    case .sendHeartbeat(let seq):
                        try? await socket.send(text: Self.heartbeatFrame(seq: seq))
                    case .connected:
                        await events.state(.connected)
                    case .close(let outcome):
                        result = outcome
                        break loop
                    case .none:
                        break
                    }
                }
            }
            // Cancelled (result nil) or ending: close the socket first so the pump ends.
            let resume: Bool
            if case .reconnect = result { resume = true } else { resume = false }
            await socket.close(code: resume ? WebSocketCloseCode(4000) : .normalClosure, reason: "")
            group.cancelAll()
            continuation.finish()
            return result
        }
        // The socket is gone; whatever the machine decided about the session stands.
        state.withLock { $0.machine.abandoned() }
        guard let outcome, !Task.isCancelled else { throw CancellationError() }
        switch outcome {
        case .reconnect(let after, let reason, let refreshToken):
            if refreshToken { tokens.invalidate(ifValue: identifiedWith) }
            context.logger.info("gateway session ended: \(reason)", source: "QQBot")
            return .reconnect(after: after, reason: reason)
        case .failed(let reason):
            context.logger.error("gateway stopped for good: \(reason)", source: "QQBot")
            await events.error(ChannelError(.platform, reason, account: context.account))
            return .failed(reason: reason)
        }
    }

    /// Applies one decoded frame; returns the machine's actions.
    private func handle(_ event: QQBotGatewayEvent, decoder: inout QQBotEventDecoder) async -> [QQBotGatewayStateMachine.Action] {
        let events = context.events
        switch event {
        case .hello(let interval):
            return state.withLock { $0.machine.hello(heartbeatInterval: interval) }
        case .heartbeatAck:
            state.withLock { $0.machine.heartbeatAcked() }
            return []
        case .heartbeatRequest:
            return [state.withLock { $0.machine.heartbeatRequested() }]
        case .reconnect:
            return [state.withLock { $0.machine.reconnectRequested() }]
        case .invalidSession(let canResume):
            return [state.withLock { $0.machine.invalidSession(canResume: canResume) }]
        case .ready(let seq, let sessionID, let user):
            let action = state.withLock { s in
                s.identity = user
                return s.machine.ready(sessionID: sessionID, seq: seq)
            }
            decoder.botID = user.id
            context.logger.info("gateway READY as \(user)", source: "QQBot")
            await events.identity(user)
            await saveSession()
            return [action]
        case .resumed(let seq):
            return [state.withLock { s in
                s.machine.dispatchHandled(seq: seq)
                return s.machine.resumed()
            }]
        case .message(let seq, let message):
            await events.deliver(message)
            state.withLock { $0.machine.dispatchHandled(seq: seq) }
            return []
        case .event(let seq, let type, let payload, let isKnown):
            await events.platformEvent(type, payload: payload, isKnown: isKnown)
            state.withLock { $0.machine.dispatchHandled(seq: seq) }
            return []
        case .malformedDispatch(let seq, let type, let error):
            context.logger.warning("unreadable \(type) dispatch: \(error.message)", source: "QQBot")
            await events.error(error)
            state.withLock { $0.machine.dispatchHandled(seq: seq) }
            return []
        case .unknownOpcode(let op):
            context.logger.debug("ignoring gateway opcode \(op)", source: "QQBot")
            return []
        }
    }

    /// Sends heartbeats until cancelled; a due heartbeat with too many unacknowledged ones
    /// ends the session.
    private func heartbeatLoop(socket: any WebSocketConnection, every interval: Duration,
                               continuation: AsyncStream<Input>.Continuation) async {
        while true {
            do { try await context.time.sleep(for: interval) } catch { return }
            switch state.withLock({ $0.machine.heartbeatDue() }) {
            case .sendHeartbeat(let seq):
                try? await socket.send(text: Self.heartbeatFrame(seq: seq))
            case .close(let outcome):
                continuation.yield(.terminate(outcome))
                return
            default:
                break
            }
        }
    }

    /// The Identify or Resume frame.
    private func gatewayFrame(for action: QQBotGatewayStateMachine.Action, token: AccessToken) throws -> String {
        guard token.key == CredentialKey(.qqbot, settings.appId) else {
            throw ChannelError(.invalidState, "token of \(token.key) offered to AppID \(settings.appId)", account: context.account)
        }
        let auth = JSONValue.quoted("QQBot " + token.value.reveal())
        switch action {
        case .resume(let sessionID, let seq):
            return #"{"op":6,"d":{"token":\#(auth),"session_id":\#(JSONValue.quoted(sessionID)),"seq":\#(seq)}}"#
        default:
            return #"{"op":2,"d":{"token":\#(auth),"intents":\#(settings.intents.rawValue),"shard":[0,1],"properties":{"$os":"linux","$browser":"ChannelKit","$device":"ChannelKit"}}}"#
        }
    }

    static func heartbeatFrame(seq: Int?) -> String {
        #"{"op":1,"d":\#(seq.map(String.init) ?? "null")}"#
    }
}
