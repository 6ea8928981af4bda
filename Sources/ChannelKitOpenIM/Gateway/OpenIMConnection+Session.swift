import Foundation
import ChannelKit

extension OpenIMConnection {
    /// Reads frames until the socket ends or a frame ends the session.
    func readLoop(_ socket: any WebSocketConnection, generation gen: Int) async -> SessionEnd {
        do {
            for try await message in socket.messages {
                context.events.activity(at: context.time.now())
                if let end = await received(message, generation: gen) {
                    await endSession(gen, end)
                    return end
                }
            }
        } catch {
            logger.info("msg gateway socket dropped: \(Redactor.redact("\(error)"))", source: "OpenIM")
        }
        if let planned = session?.generation == gen ? session?.end : nil { return planned }
        let wasReady = session?.generation == gen && session?.ready == true
        let status = socket.closeStatus.map { "\($0)" } ?? "dropped"
        return .outcome(.reconnect(after: nil, reason: wasReady ? "socket closed: \(status)" : "socket closed before the connect result: \(status)"))
    }

    /// Handles one frame; returns how the session ends when it must.
    func received(_ message: WebSocketMessage, generation gen: Int) async -> SessionEnd? {
        guard let current = session, current.generation == gen else { return nil }
        lastInboundAt = context.time.now()
        switch message {
        case .text(let text):
            guard text.utf8.count <= configuration.maximumInboundFrameSize else {
                await report(ChannelError(.malformedInput, "OpenIM text frame of \(text.utf8.count) bytes exceeds the \(configuration.maximumInboundFrameSize)-byte limit; dropped", account: account))
                return nil
            }
            let frame: OpenIMEnvelopeCodec.TextFrame
            do { frame = try OpenIMEnvelopeCodec.decodeText(text) } catch {
                await report(error.channelError(account, frame: "text frame"))
                return nil
            }
            switch frame {
            case .connectResult(let code, let errMsg):
                guard !current.ready else { return nil }
                if code == 0 {
                    await markReady(gen)
                    return nil
                }
                if let trigger = Self.trigger(code: code, message: errMsg) { return .token(trigger) }
                let reason = "the msg gateway refused the connection: errCode \(code) \(Redactor.redact(errMsg))"
                logger.warning(reason, source: "OpenIM")
                return .outcome(.reconnect(after: nil, reason: reason))
            case .heartbeat:
                return nil
            }
        case .binary(let data):
            guard data.count <= configuration.maximumInboundFrameSize else {
                await report(ChannelError(.malformedInput, "OpenIM binary frame of \(data.count) bytes exceeds the \(configuration.maximumInboundFrameSize)-byte limit; dropped", account: account))
                return nil
            }
            var frame = data
            if configuration.gzip {
                do { frame = Data(try OpenIMGzip.decompress([UInt8](data), limit: configuration.maximumInboundFrameSize)) } catch {
                    await report(ChannelError(.malformedInput, "OpenIM frame: \(error)", account: account, location: "gzip"))
                    return nil
                }
            }
            let envelope: OpenIMResponseEnvelope
            do { envelope = try OpenIMEnvelopeCodec.decodeResponse(frame) } catch {
                await report(error.channelError(account, frame: "frame"))
                return nil
            }
            switch envelope.reqIdentifier {
            case OpenIMReqIdentifier.pushMsg:
                await handlePush(envelope, generation: gen)
            case OpenIMReqIdentifier.kickOnlineMsg:
                return .token(.kicked(code: 1506, message: "kicked offline (2002): another login took over this user and platform"))
            default:
                if let waiter = pending.removeValue(forKey: envelope.msgIncr) {
                    waiter.resolve(.success(envelope))
                } else {
                    logger.debug("reply \(envelope.reqIdentifier) for no pending request (msgIncr \(envelope.msgIncr))", source: "OpenIM")
                }
            }
            return nil
        }
    }

    func report(_ error: ChannelError) async {
        logger.warning("\(error)", source: "OpenIM")
        await context.events.error(error)
    }

    /// The connect result was `errCode 0`.
    func markReady(_ gen: Int) async {
        guard var current = session, current.generation == gen, !current.ready else { return }
        current.ready = true
        session = current
        dialFailures = 0
        logger.info("msg gateway connected (session \(gen))", source: "OpenIM")
        await context.events.state(.connected)
        let waiters = readyWaiters
        readyWaiters.removeAll()
        for waiter in waiters { waiter.resolve(.success(OpenIMResponseEnvelope(reqIdentifier: 0))) }
        needsFullSync = true
        syncSignal?.yield()
    }

    /// Ends the session on purpose; its run returns `end`.
    func endSession(_ gen: Int, _ end: SessionEnd) async {
        guard var current = session, current.generation == gen else { return }
        if current.end == nil { current.end = end }
        session = current
        await current.socket.close(code: .normalClosure, reason: "")
    }

    /// The connect-result deadline and the heartbeat: a WebSocket ping every
    /// ``OpenIMAdapter/Configuration/heartbeatInterval`` from the socket's start; no pong
    /// within ``OpenIMAdapter/Configuration/heartbeatTimeout`` ends the session.
    func watchdog(generation gen: Int) async {
        await watchdog(generation: gen, clock: context.time.clock)
    }

    /// Sleeps until absolute instants of the clock, so a ping never drifts late however
    /// long the previous one took (or however late this task ran).
    private func watchdog<C: Clock>(generation gen: Int, clock: C) async where C.Duration == Duration {
        let time = context.time
        let start = clock.now
        do { try await clock.sleep(until: start.advanced(by: configuration.handshakeTimeout), tolerance: nil) } catch { return }
        guard let first = session, first.generation == gen else { return }
        if !first.ready {
            logger.warning("no connect result within \(configuration.handshakeTimeout); closing", source: "OpenIM")
            await endSession(gen, .outcome(.reconnect(after: nil, reason: "no connect result within \(configuration.handshakeTimeout)")))
            return
        }
        var next = start.advanced(by: configuration.heartbeatInterval)
        while !Task.isCancelled {
            do { try await clock.sleep(until: next, tolerance: nil) } catch { return }
            next = next.advanced(by: configuration.heartbeatInterval)
            guard let current = session, current.generation == gen else { return }
            let socket = current.socket, timeout = configuration.heartbeatTimeout
            let answered = await withTaskGroup(of: Bool?.self) { group in
                group.addTask {
                    do { try await socket.ping(Data("ck".utf8)); return true } catch { return false }
                }
                group.addTask {
                    do { try await time.sleep(for: timeout) } catch { return nil }
                    return false
                }
                let first = await group.next() ?? nil
                group.cancelAll()
                return first
            }
            guard let answered else { return }
            if !answered {
                logger.warning("no pong within \(timeout); closing the socket", source: "OpenIM")
                await endSession(gen, .outcome(.reconnect(after: nil, reason: "heartbeat: no pong within \(timeout)")))
                return
            }
            context.events.activity(at: time.now())
        }
    }
}
