import Foundation
import Synchronization
import ChannelKit

extension FeishuConnection {
    /// What the session loop reacts to, in arrival order.
    enum Input: Sendable {
        case frame(WebSocketMessage)
        case closed(code: Int?, reason: String)
    }

    /// How a rejected WebSocket handshake is classified (`Handshake-Status`, falling back
    /// to the HTTP status, and `Handshake-Autherrcode`, case-insensitive headers):
    /// 403, and 514 with 1000040350 (connection limit), are fatal configuration errors;
    /// everything else is retried with backoff.
    static func handshakeIsFatal(_ response: HTTPResponse) -> (fatal: Bool, status: Int, authCode: Int?) {
        let status = response.headers["Handshake-Status"].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? response.status
        let authCode = response.headers["Handshake-Autherrcode"].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let fatal = status == FeishuErrorCode.handshakeForbidden
            || (status == FeishuErrorCode.handshakeAuthFailed && authCode == FeishuErrorCode.exceedConnectionLimit)
        return (fatal, status, authCode)
    }

    /// Runs one long-connection session; see ``FeishuConnection``.
    ///
    /// - Returns: `.reconnect(after:)` when the socket ends (the first reconnect waits a
    ///   random time in `[0, ReconnectNonce)`; `ReconnectCount` never ends reconnection);
    ///   `.failed` when endpoint discovery rejects the credentials, or the handshake is
    ///   refused with 403 or 514/1000040350.
    /// - Throws: retryable discovery and connect failures (the runtime backs off), or
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
        let logger = context.logger
        // 1. A fresh endpoint (tickets are single-use).
        let reply: FeishuEndpoint.Reply
        do {
            reply = try await endpoint.discover()
        } catch {
            switch error {
            case .fatal(let e):
                await events.error(e)
                logger.error("endpoint discovery rejected the app: \(e.description)", source: "Feishu")
                return .failed(reason: e.message)
            case .retryable(let e):
                throw e
            }
        }
        try Task.checkCancellation()
        state.withLock { s in
            if let config = reply.config { s.clientConfig.merge(config) }
            s.serviceID = reply.serviceID
            s.sessions += 1
        }
        guard let url = URL(string: reply.url.reveal()) else {
            throw ChannelError(.malformedInput, "endpoint URL cannot be parsed", account: context.account, location: "$.data.URL")
        }
        // 2. Connect.
        let socket: any WebSocketConnection
        do {
            socket = try await context.webSocket.connect(WebSocketRequest(url: url))
        } catch let error as ChannelError {
            if let response = error.response, [.handshakeRejected, .unauthorized, .rateLimited].contains(error.code) {
                let verdict = Self.handshakeIsFatal(response)
                let message = response.headers["Handshake-Msg"].map(Redactor.redact) ?? ""
                let text = "WebSocket handshake refused: status \(verdict.status)\(verdict.authCode.map { ", auth code \($0)" } ?? "")\(message.isEmpty ? "" : " (\(message))")"
                let failure = ChannelError(verdict.fatal ? .unauthorized : .handshakeRejected, text, account: context.account,
                                           platformCode: verdict.authCode ?? verdict.status, platformMessage: message.isEmpty ? nil : message)
                if verdict.fatal {
                    await events.error(failure)
                    logger.error("\(text); not retrying", source: "Feishu")
                    return .failed(reason: text)
                }
                throw failure
            }
            throw error.scoped(to: context.account)
        }
        logger.debug("long connection open (device \(reply.deviceID), service \(reply.serviceID))", source: "Feishu")
        events.activity(at: context.time.now())
        await events.state(.connected)

        let service = reply.serviceID
        let (inputs, continuation) = AsyncStream.makeStream(of: Input.self)
        let (work, workContinuation) = AsyncStream.makeStream(of: FeishuEvent.self)
        let pinger = Pinger()
        defer { pinger.stop() }

        let outcome: AccountRunOutcome? = await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    for try await message in socket.messages { continuation.yield(.frame(message)) }
                    let status = socket.closeStatus
                    continuation.yield(.closed(code: status.map { Int($0.code.rawValue) }, reason: status?.reason ?? ""))
                } catch {
                    let status = socket.closeStatus
                    continuation.yield(.closed(code: status.map { Int($0.code.rawValue) }, reason: Self.describe(error)))
                }
            }
            // Delivery runs behind the acks: a slow host never delays an ack.
            group.addTask { [self] in
                for await event in work { await process(event) }
            }
            pinger.start { [self] in await pingLoop(socket: socket, service: service) }
            try? await socket.send(binary: Data(FeishuFrame.ping(service: service).encoded()))

            var assembler = FeishuFragmentAssembler(configuration: configuration.fragments)
            var result: AccountRunOutcome?
            loop: for await input in inputs {
                switch input {
                case .frame(.text):
                    continue   // all frames are binary; text frames are ignored
                case .frame(.binary(let data)):
                    events.activity(at: context.time.now())
                    let frame: FeishuFrame
                    do throws(ProtobufDecodingError) {
                        frame = try FeishuFrame.decode(data)
                    } catch {
                        logger.warning("unreadable frame: \(error)", source: "Feishu")
                        await events.error(ChannelError(.malformedInput, "unreadable pbbp2 frame: \(error.message)", account: context.account,
                                                        location: "byte \(error.offset)\(error.field.map { " field \($0)" } ?? "")"))
                        continue
                    }
                    if frame.method == FeishuFrame.methodControl {
                        handleControl(frame, pinger: pinger, socket: socket, service: service)
                        continue
                    }
                    guard frame.method == FeishuFrame.methodData, frame.header("type") == "event" else { continue }
                    let sum = frame.header("sum").flatMap { Int($0) } ?? 1
                    let seq = frame.header("seq").flatMap { Int($0) } ?? 0
                    let messageID = frame.header("message_id") ?? ""
                    switch assembler.add(messageID: messageID, sum: sum, seq: seq, payload: frame.payload ?? [], now: context.time.now()) {
                    case .pending:
                        continue
                    case .rejected(let reason):
                        logger.warning("fragment dropped: \(reason)", source: "Feishu")
                        continue
                    case .complete(let payload):
                        let started = context.time.now()
                        var code = 200
                        let decoded: FeishuEvent?
                        do throws(ChannelError) {
                            decoded = try decoder.decode(payload, botOpenID: context.identity.current?.id)
                        } catch {
                            code = 500
                            decoded = nil
                            logger.warning("unreadable event: \(error.message)", source: "Feishu")
                            await events.error(error)
                        }
                        let ms = max(0, Int((context.time.now().timeIntervalSince(started) * 1000).rounded()))
                        // Ack first (within the platform's 3 s), deliver after.
                        do {
                            let ack = data.withUnsafeBytes { raw in
                                (try? FeishuFrame.encodedAck(echoing: raw.bindMemory(to: UInt8.self), code: code, businessMilliseconds: ms))
                            } ?? frame.encodedAck(code: code, businessMilliseconds: ms)
                            try await socket.send(binary: Data(ack))
                        } catch {
                            logger.debug("ack not sent: \(Self.describe(error))", source: "Feishu")
                        }
                        if let decoded { workContinuation.yield(decoded) }
                    }
                case .closed(let code, let reason):
                    logger.info("long connection closed: \(code.map(String.init) ?? "no code") \(reason)", source: "Feishu")
                    let nonce = state.withLock { $0.clientConfig.reconnectNonce }
                    let wait = Duration.milliseconds(Int64(nonce.seconds * 1000 * min(max(configuration.random(), 0), 0.999)))
                    result = .reconnect(after: wait, reason: "long connection closed (\(code.map(String.init) ?? "dropped"))")
                    break loop
                }
            }
            pinger.stop()
            await socket.close(code: .normalClosure, reason: "")
            continuation.finish()
            workContinuation.finish()
            await group.waitForAll()
            return result
        }
        await pinger.wait()
        guard let outcome, !Task.isCancelled else { throw CancellationError() }
        return outcome
    }

    /// Pongs (with an optional ClientConfig, merged field by field and applied at once);
    /// other control frames are ignored.
    private func handleControl(_ frame: FeishuFrame, pinger: Pinger, socket: any WebSocketConnection, service: Int32) {
        guard frame.header("type") == "pong", let payload = frame.payload, !payload.isEmpty else { return }
        let (changed, interval, error): (Bool, Duration, ChannelError?) = state.withLock { s in
            let before = s.clientConfig.pingInterval
            do throws(ChannelError) {
                try s.clientConfig.merge(payload: payload)
                return (s.clientConfig.pingInterval != before, s.clientConfig.pingInterval, nil)
            } catch {
                return (false, before, error.scoped(to: context.account))
            }
        }
        if let error {
            context.logger.warning("pong with an unreadable ClientConfig: \(error.message)", source: "Feishu")
            return
        }
        if changed {
            context.logger.info("server set PingInterval to \(interval)", source: "Feishu")
            pinger.start { [self] in await pingLoop(socket: socket, service: service) }
        }
    }

    /// Pings every `PingInterval` (re-read before every sleep) until cancelled.
    private func pingLoop(socket: any WebSocketConnection, service: Int32) async {
        let ping = Data(FeishuFrame.ping(service: service).encoded())
        while !Task.isCancelled {
            let interval = state.withLock { $0.clientConfig.pingInterval }
            do { try await context.time.sleep(for: interval) } catch { return }
            do { try await socket.send(binary: ping) } catch { return }
        }
    }

    /// Delivers one decoded event (after its ack went out).
    private func process(_ event: FeishuEvent) async {
        switch event {
        case .message(let message):
            await context.events.deliver(message)
        case .skipped(let id, let reason):
            context.logger.debug("message \(id) not delivered: \(reason)", source: "Feishu")
        case .platform(let type, let payload, let isKnown):
            await context.events.platformEvent(type, payload: payload, isKnown: isKnown)
        }
    }
}

/// The ping loop of one session: restartable (a new PingInterval applies at once), and
/// awaited when the session ends so no task outlives ``FeishuConnection/run()``.
final class Pinger: Sendable {
    private let tasks = Mutex<[Task<Void, Never>]>([])

    /// Cancels the running loop and starts `body` as the new one.
    func start(_ body: @escaping @Sendable () async -> Void) {
        let task = Task { await body() }
        tasks.withLock { list in
            for t in list { t.cancel() }
            list.append(task)
        }
    }

    /// Cancels every loop.
    func stop() {
        tasks.withLock { list in for t in list { t.cancel() } }
    }

    /// Waits for every loop started so far to end.
    func wait() async {
        for task in tasks.withLock({ $0 }) { await task.value }
    }
}
