import Foundation
import ChannelKit

extension ClawChatConnection {
    /// Handles one inbound WebSocket message; returns an outcome when the session must end.
    func received(_ message: WebSocketMessage, generation gen: Int) async -> AccountRunOutcome? {
        guard let current = session, current.generation == gen else { return nil }
        lastInboundAt = context.time.now()
        guard case .text(let text) = message else {
            await report(ChannelError(.malformedInput, "ClawChat sent a binary frame (\(Self.size(message)) bytes); ignored", account: account))
            return nil
        }
        let frame: ClawChatFrame
        do {
            frame = try ClawChatFrame.decode(text)
        } catch let error as ChannelError {
            await report(error.scoped(to: account))
            return nil
        } catch {
            return nil
        }
        switch frame.event {
        case "connect.challenge":
            return await answerChallenge(frame, generation: gen)
        case "hello-ok":
            await helloOK(frame, generation: gen)
        case "hello-fail":
            return await helloFail(frame, generation: gen)
        default:
            guard current.ready else {
                logger.debug("ignoring \(frame.event) before hello-ok", source: "ClawChat")
                return nil
            }
            await dispatch(frame, generation: gen)
        }
        return nil
    }

    static func size(_ message: WebSocketMessage) -> Int {
        switch message {
        case .text(let t): t.utf8.count
        case .binary(let d): d.count
        }
    }

    func report(_ error: ChannelError) async {
        logger.warning("\(error)", source: "ClawChat")
        await context.events.error(error)
    }

    // MARK: Handshake

    func answerChallenge(_ frame: ClawChatFrame, generation gen: Int) async -> AccountRunOutcome? {
        guard var current = session, current.generation == gen, let boot else { return nil }
        if current.connectSent {
            logger.debug("second connect.challenge ignored", source: "ClawChat")
            return nil
        }
        guard let nonce = frame.nonce, !nonce.isEmpty else {
            await report(ChannelError(.malformedInput, "connect.challenge without payload.nonce", account: account, location: "$.payload.nonce"))
            return .reconnect(after: nil, reason: "connect.challenge without a nonce")
        }
        let connect = ClawChatWire.Envelope(
            event: "connect", trace_id: "connect-\(gen)", chat_id: nil,
            payload: ClawChatWire.ConnectPayload(
                token: current.token.reveal(), nonce: nonce, device_id: boot.wsDeviceID,
                client_version: configuration.clientVersion, protocol_version: configuration.protocolV2 ? 2 : nil,
                capabilities: ClawChatWire.capabilities))
        do {
            let text = try ClawChatWire.encode(connect)
            current.connectSent = true
            session = current
            try await current.socket.send(text: text)
        } catch {
            logger.warning("could not send connect: \(error)", source: "ClawChat")
            return .reconnect(after: nil, reason: "could not send connect")
        }
        return nil
    }

    func helloOK(_ frame: ClawChatFrame, generation gen: Int) async {
        guard var current = session, current.generation == gen, !current.ready else { return }
        current.ready = true
        current.ackDseq = configuration.protocolV2 && frame.payload["ack_mode"]?.stringValue == "dseq"
        current.ackEpoch = ClawChatWire.AckEpoch(frame.payload["ack_epoch"])
        current.replaying = true
        current.replayStartedAt = context.time.now()
        session = current
        logger.info("hello-ok (session \(gen), ack mode \(current.ackDseq ? "dseq" : "none"))", source: "ClawChat")
        await context.events.state(.connected)
        await resendPending(generation: gen)
    }

    func helloFail(_ frame: ClawChatFrame, generation gen: Int) async -> AccountRunOutcome? {
        guard let current = session, current.generation == gen, let boot else { return nil }
        let reason = frame.payload["reason"]?.stringValue ?? ""
        let safeReason = Redactor.redact(reason)
        switch ClawChatSessionRules.helloFail(reason: reason) {
        case .reconnectSameToken:
            logger.warning("hello-fail \"\(safeReason)\"; reconnecting with the same token", source: "ClawChat")
            return .reconnect(after: nil, reason: "hello-fail: \(safeReason)")
        case .refreshToken:
            logger.warning("hello-fail \"authentication failed\"; refreshing the access token", source: "ClawChat")
            await current.socket.close(code: .normalClosure, reason: "")
            if await boot.coordinator.credentials.accessToken != current.token {
                return .reconnect(after: .zero, reason: "hello-fail with a token already rotated; reconnecting with the new one")
            }
            guard let outcome = await ClawChatRefreshWaiter.refresh(boot.coordinator, reason: "hello-fail") else {
                return .reconnect(after: nil, reason: "cancelled while refreshing after hello-fail")
            }
            if let failed = await failIfPermanent(outcome) { return failed }
            if case .success = outcome {
                return .reconnect(after: .zero, reason: "access token refreshed after hello-fail")
            }
            if await boot.coordinator.credentials.accessToken != current.token {
                return .reconnect(after: .zero, reason: "access token rotated meanwhile")
            }
            return .reconnect(after: nil, reason: "hello-fail: authentication failed; refresh \(outcome)")
        }
    }

    // MARK: Frames after hello-ok

    func dispatch(_ frame: ClawChatFrame, generation gen: Int) async {
        var ackable = frame.dseq != nil
        switch frame.event {
        case "message.send", "message.reply":
            ackable = await inbound(frame, generation: gen)
        case "message.ack":
            acknowledged(frame)
        case "message.error":
            rejected(frame)
        case "replay.done":
            await finishReplay(generation: gen)
            await context.events.platformEvent(frame.event, payload: frame.payload, isKnown: true)
        case "pong":
            break
        case "ping":
            struct Pong: Encodable { var version = ClawChatWire.version; var event = "pong"; var trace_id: String }
            if let current = session, let text = try? ClawChatWire.encode(Pong(trace_id: frame.traceID ?? "")) {
                try? await current.socket.send(text: text)
            }
        default:
            await context.events.platformEvent(frame.event, payload: frame.raw, isKnown: ClawChatSessionRules.knownEvents.contains(frame.event))
        }
        if ackable, let dseq = frame.dseq { await ackDseq(dseq, generation: gen) }
    }

    /// Acks a `dseq` under Protocol v2 (frame shape INFERRED: the notes only say "ack any
    /// frame that carries a dseq"): `{"version":"2","event":"ack","trace_id":"dseq-N",
    /// "payload":{"dseq":N,"ack_epoch":E}}`.
    func ackDseq(_ dseq: Int, generation gen: Int) async {
        guard let current = session, current.generation == gen, current.ackDseq else { return }
        let frame = ClawChatWire.Envelope(event: "ack", trace_id: "dseq-\(dseq)", chat_id: nil,
                                          payload: ClawChatWire.DseqAckPayload(dseq: dseq, ack_epoch: current.ackEpoch))
        guard let text = try? ClawChatWire.encode(frame) else { return }
        try? await current.socket.send(text: text)
    }

    /// A materialised message. Returns whether its `dseq` may be acked: not when it was
    /// dropped fail-closed (then the server replays it once the own id is known) nor
    /// while it waits in the replay buffer (acked when delivered).
    func inbound(_ frame: ClawChatFrame, generation gen: Int) async -> Bool {
        if let chatID = frame.chatID, blockedChats.removeValue(forKey: chatID) != nil {
            logger.info("chat \(chatID) is reachable again; sends unblocked", source: "ClawChat")
        }
        guard let ownID = context.identity.current?.id, !ownID.isEmpty else {
            logger.error("dropping \(frame.event) fail-closed: own user id unknown, cannot tell self-echo (trace \(frame.traceID ?? "-"))", source: "ClawChat")
            await context.events.error(ChannelError(.invalidState, "inbound message dropped fail-closed: own user id unknown", account: account))
            return false
        }
        switch ClawChatInboundParser.parse(frame, account: account, ownUserID: ownID) {
        case .skipped(let reason):
            logger.debug("skipped \(frame.event): \(reason)", source: "ClawChat")
            return true
        case .invalid(let error):
            await report(error)
            return true
        case .message(let message):
            if var current = session, current.generation == gen, current.replaying {
                current.replayBuffer.append((message, frame.dseq))
                session = current
                if current.replayBuffer.count >= 512 { await finishReplay(generation: gen) }
                return false
            }
            await deliver(message)
            return true
        }
    }

    func deliver(_ message: InboundMessage) async {
        let accepted = await context.events.deliver(message)
        if !accepted { logger.debug("message \(message.origin.messageID) was a duplicate", source: "ClawChat") }
    }

    /// Ends replay buffering: delivers the buffered messages sorted by the ULID in their
    /// message id (replay arrival order does not follow send order), acking each dseq.
    func finishReplay(generation gen: Int) async {
        guard var current = session, current.generation == gen, current.replaying || !current.replayBuffer.isEmpty else { return }
        let buffered = current.replayBuffer.enumerated().sorted { a, b in
            let ka = a.element.message.origin.messageID, kb = b.element.message.origin.messageID
            return ka == kb ? a.offset < b.offset : ka < kb
        }.map(\.element)
        current.replayBuffer.removeAll()
        current.replaying = false
        session = current
        for item in buffered {
            await deliver(item.message)
            if let dseq = item.dseq { await ackDseq(dseq, generation: gen) }
        }
    }

    // MARK: Acks

    func acknowledged(_ frame: ClawChatFrame) {
        guard let traceID = frame.traceID, let index = pending.firstIndex(where: { $0.traceID == traceID }) else {
            logger.debug("message.ack for no pending send (trace \(frame.traceID ?? "-"))", source: "ClawChat")
            return
        }
        let item = pending.remove(at: index)
        let acked = frame.payload["message_id"]?.stringValue
        if acked == item.messageID {
            item.waiter.resolve(.success(SentMessage(messageID: item.messageID)))
        } else {
            let error = ChannelError(.protocolViolation, "message.ack message_id mismatch: expected \(item.messageID), got \(acked ?? "none")",
                                     account: account, location: "$.payload.message_id")
            logger.error("\(error)", source: "ClawChat")
            item.waiter.resolve(.failure(error))
        }
    }

    func rejected(_ frame: ClawChatFrame) {
        let payload = frame.payload
        let code = payload["code"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? "unknown"
        let reason = payload["reason"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            ?? payload["message"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? "message send failed"
        var index = frame.traceID.flatMap { trace in pending.firstIndex { $0.traceID == trace } }
        if index == nil, let id = payload["message_id"]?.stringValue { index = pending.firstIndex { $0.messageID == id } }
        let chatID = frame.chatID ?? index.map { pending[$0].chatID }
        if ClawChatSessionRules.blockingErrorCodes.contains(code), let chatID {
            let until = context.time.now().addingTimeInterval(configuration.blockedChatDuration.seconds)
            blockedChats[chatID] = (until, code)
            logger.warning("sends to chat \(chatID) blocked for \(configuration.blockedChatDuration) after \(code)", source: "ClawChat")
        }
        guard let index else {
            logger.warning("message.error \(code) for no pending send (trace \(frame.traceID ?? "-"))", source: "ClawChat")
            return
        }
        let item = pending.remove(at: index)
        item.waiter.resolve(.failure(Self.sendError(code: code, reason: reason, chatID: item.chatID, payload: payload, account: account)))
    }

    static func sendError(code: String, reason: String, chatID: String, payload: JSONValue, account: AccountKey) -> ChannelError {
        let safeReason = Redactor.redact(reason)
        let isRateLimit = ClawChatSessionRules.rateLimitCodes.contains(code)
        var error = ChannelError(isRateLimit ? .rateLimited : .platform, "ClawChat rejected the message: \(code)",
                                 account: account, platformMessage: "\(code): \(safeReason)",
                                 underlying: ClawChatMessageError(code: code, reason: safeReason, chatID: chatID))
        if let ms = payload["retry_after_ms"]?.doubleValue, ms.isFinite, ms >= 0 { error.retryAfter = .milliseconds(Int64(ms)) }
        return error
    }
}
