#if os(Linux)
import Foundation
import Synchronization

/// A ``WebSocketConnection`` over a connect-only libcurl handle, driven by the shared
/// ``SocketEventLoop``.
///
/// Threading: every curl call for the handle happens under ``io``'s lock (curl's rule:
/// one thread at a time per handle). Reads happen on the loop's thread; sends are
/// written directly from the sending task when the socket accepts them and queued
/// (at a stable address) when it does not. Continuations are resumed after the lock is
/// released.
final class CurlWebSocketConnection: WebSocketConnection, SocketEventHandler {
    private struct PingWaiter {
        let id: UInt64
        let payload: Data
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct IO {
        var easy: CurlEasy?
        var token: UInt64 = 0
        var decoder: WebSocketEventDecoder
        var encoder: WebSocketFrameEncoder
        var closing = WebSocketCloseHandshake()
        var scratch: [UInt8] = []
        var pending: [WriteBuffer] = []
        var spare: WriteBuffer?
        var writeInterest = false
        var closeStatus: WebSocketCloseStatus?
        var pingWaiters: [PingWaiter] = []
        var cancelledPings: Set<UInt64> = []
        var nextPingID: UInt64 = 0
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Work to do once the lock is released (messages are yielded under the lock).
    private struct Deliveries {
        var pongs: [CheckedContinuation<Void, any Error>] = []
        var finished: (error: ChannelError?, pings: [CheckedContinuation<Void, any Error>], closers: [CheckedContinuation<Void, Never>])?
    }

    let messages: AsyncThrowingStream<WebSocketMessage, any Error>
    let handshakeResponse: HTTPResponse
    private let continuation: AsyncThrowingStream<WebSocketMessage, any Error>.Continuation
    private let io: Mutex<IO>
    private let loop: SocketEventLoop
    private let configuration: CurlWebSocketTransport.Configuration
    private let logger: ChannelLogger

    init(easy: CurlEasy, handshakeResponse: HTTPResponse, loop: SocketEventLoop, configuration: CurlWebSocketTransport.Configuration) {
        var seed = SystemRandomNumberGenerator()
        let encoder = WebSocketFrameEncoder(role: .client, maskingKeyGenerator: SeededRandomNumberGenerator(seed: seed.next()))
        let decoder = WebSocketEventDecoder(role: .client, maxFrameSize: configuration.maximumFrameSize, maxMessageSize: configuration.maximumMessageSize)
        io = Mutex(IO(easy: easy, decoder: decoder, encoder: encoder))
        self.handshakeResponse = handshakeResponse
        self.loop = loop
        self.configuration = configuration
        self.logger = configuration.logger
        (messages, continuation) = AsyncThrowingStream.makeStream(of: WebSocketMessage.self, throwing: (any Error).self)
    }

    /// Registers with the loop and processes bytes that arrived with the handshake.
    ///
    /// The lock is held across registration and the leftover bytes, so the loop's first
    /// read (which may already be due) cannot overtake them: bytes reach the decoder in
    /// wire order.
    func start(socket fd: Int32, leftover: [UInt8]) throws {
        var deliveries = Deliveries()
        try io.withLock { io in
            io.token = try loop.register(fd: fd, handler: self)
            if !leftover.isEmpty {
                io.decoder.feed(leftover)
                drainEvents(&io, &deliveries)
            }
        }
        deliver(deliveries)
        // TLS may already hold decrypted bytes that epoll will not report: read once, on
        // the loop thread (reads use the loop's shared buffer).
        loop.scheduleRead(token: io.withLock { $0.token })
    }

    var closeStatus: WebSocketCloseStatus? { io.withLock { $0.closeStatus } }

    // MARK: Sending

    func send(_ message: WebSocketMessage) async throws {
        var deliveries = Deliveries()
        let error: ChannelError? = io.withLock { io in
            guard io.easy != nil, io.closing.canSend else { return closedError(io) }
            io.scratch.removeAll(keepingCapacity: true)
            io.encoder.encode(message, into: &io.scratch)
            return write(&io, &deliveries)
        }
        deliver(deliveries)
        if let error { throw error }
    }

    func ping(_ payload: Data) async throws {
        guard payload.count <= WebSocketFrameEncoder.maxControlPayloadCount else {
            throw ChannelError(.invalidState, "ping payload is \(payload.count) bytes; the limit is 125")
        }
        let id = io.withLock { io -> UInt64 in
            io.nextPingID += 1
            return io.nextPingID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                var deliveries = Deliveries()
                let failure: (any Error)? = io.withLock { io in
                    if io.cancelledPings.remove(id) != nil { return CancellationError() }
                    guard io.easy != nil, io.closing.canSend else { return closedError(io) }
                    io.scratch.removeAll(keepingCapacity: true)
                    do { try io.encoder.encodePing(payload, into: &io.scratch) } catch { return error }
                    io.pingWaiters.append(PingWaiter(id: id, payload: payload, continuation: c))
                    return write(&io, &deliveries)
                }
                deliver(deliveries)
                if let failure { c.resume(throwing: failure) }
            }
        } onCancel: {
            let waiter = io.withLock { io -> CheckedContinuation<Void, any Error>? in
                if let i = io.pingWaiters.firstIndex(where: { $0.id == id }) { return io.pingWaiters.remove(at: i).continuation }
                io.cancelledPings.insert(id)
                return nil
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    func close(code: WebSocketCloseCode, reason: String) async {
        var deliveries = Deliveries()
        let alreadyClosed = io.withLock { io -> Bool in
            if io.easy == nil { return true }
            if case .sendClose(let c, let r) = io.closing.close(code: code, reason: reason) {
                io.scratch.removeAll(keepingCapacity: true)
                io.encoder.encodeClose(code: c, reason: r, into: &io.scratch)
                if let error = write(&io, &deliveries) { drop(&io, &deliveries, error) }
            }
            return false
        }
        deliver(deliveries)
        if alreadyClosed { return }
        // Wait for the peer's close; after the close timeout, close the socket anyway.
        let time = configuration.time
        let timeout = configuration.closeTimeout
        let timer = Task {
            do { try await time.sleep(for: timeout) } catch { return }
            var late = Deliveries()
            self.io.withLock { io in
                if io.easy != nil {
                    io.closing.connectionLost()
                    self.finish(&io, &late, status: WebSocketCloseStatus(code: code, reason: reason, initiatedByPeer: false), error: nil)
                }
            }
            self.deliver(late)
        }
        await waitUntilClosed()
        timer.cancel()
    }

    private func waitUntilClosed() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = io.withLock { io -> Bool in
                if io.easy == nil { return true }
                io.closeWaiters.append(c)
                return false
            }
            if done { c.resume() }
        }
    }

    // MARK: Loop callbacks (loop thread only: reads use the loop's shared buffer)

    func socketReadable() {
        var deliveries = Deliveries()
        let buffer = loop.readBuffer
        io.withLock { io in
            while let easy = io.easy {
                switch easy.recv(buffer.baseAddress!, buffer.count) {
                case .done(0):
                    drop(&io, &deliveries, ChannelError(.connectionClosed, "connection closed by peer without a close frame", platformCode: 1006))
                    return
                case .done(let n):
                    io.decoder.feed(UnsafeRawBufferPointer(start: buffer.baseAddress, count: n))
                    drainEvents(&io, &deliveries)
                case .wouldBlock:
                    return
                case .failed(let rc):
                    drop(&io, &deliveries, ChannelError(.connectionClosed, "connection lost: \(CurlEasy.describe(rc))", platformCode: 1006))
                    return
                }
            }
        }
        deliver(deliveries)
    }

    func socketWritable() {
        var deliveries = Deliveries()
        io.withLock { io in
            if let error = flush(&io) { drop(&io, &deliveries, error) }
        }
        deliver(deliveries)
    }

    // MARK: Internals (called with the lock held)

    private func drainEvents(_ io: inout IO, _ deliveries: inout Deliveries) {
        while io.easy != nil {
            let event: WebSocketEvent?
            do {
                event = try io.decoder.nextEvent()
            } catch {
                let action = io.closing.fail(error)
                sendCloseIfNeeded(action, &io, &deliveries)
                finish(&io, &deliveries, status: WebSocketCloseStatus(code: error.closeCode, reason: error.message, initiatedByPeer: false),
                       error: ChannelError(.protocolViolation, "peer broke the WebSocket protocol: \(error.message)", platformCode: Int(error.closeCode.rawValue)))
                return
            }
            guard let event else { return }
            switch event {
            case .message(let message):
                // Yielded under the lock: messages decoded by different threads (the
                // handshake's leftover, the loop) leave in wire order.
                continuation.yield(message)
            case .ping(let payload):
                guard io.closing.canSend else { continue }
                io.scratch.removeAll(keepingCapacity: true)
                try? io.encoder.encodePong(payload, into: &io.scratch)
                if let error = write(&io, &deliveries) {
                    drop(&io, &deliveries, error)
                    return
                }
            case .pong(let payload):
                if let i = io.pingWaiters.firstIndex(where: { $0.payload == payload }) {
                    deliveries.pongs.append(io.pingWaiters.remove(at: i).continuation)
                }
            case .close(let code, let reason):
                let weInitiated: Bool
                if case .closing = io.closing.state { weInitiated = true } else { weInitiated = false }
                let action = io.closing.receivedClose(code: code)
                sendCloseIfNeeded(action, &io, &deliveries)
                finish(&io, &deliveries, status: WebSocketCloseStatus(code: code ?? .noStatusReceived, reason: reason, initiatedByPeer: !weInitiated), error: nil)
                return
            }
        }
    }

    private func sendCloseIfNeeded(_ action: WebSocketCloseHandshake.Action, _ io: inout IO, _ deliveries: inout Deliveries) {
        switch action {
        case .sendClose(let code, let reason), .sendCloseAndDisconnect(let code, let reason):
            io.scratch.removeAll(keepingCapacity: true)
            io.encoder.encodeClose(code: code, reason: reason, into: &io.scratch)
            _ = write(&io, &deliveries)
        case .none, .disconnect:
            break
        }
    }

    /// Writes `io.scratch`: directly when nothing is queued, else behind the queue.
    /// Returns an error when the socket failed.
    private func write(_ io: inout IO, _ deliveries: inout Deliveries) -> ChannelError? {
        guard let easy = io.easy else { return closedError(io) }
        let buffer = io.spare ?? WriteBuffer(capacity: max(io.scratch.count, 256))
        io.spare = nil
        buffer.fill(io.scratch)
        if io.pending.isEmpty {
            while !buffer.isEmpty {
                switch easy.send(buffer.pendingPointer, buffer.remaining) {
                case .done(let n):
                    buffer.offset += n
                case .wouldBlock:
                    io.pending.append(buffer)
                    setWriteInterest(&io, true)
                    return nil
                case .failed(let rc):
                    return ChannelError(.connectionClosed, "send failed: \(CurlEasy.describe(rc))", platformCode: 1006)
                }
            }
            if buffer.capacity <= 64 << 10 { io.spare = buffer }
            return nil
        }
        io.pending.append(buffer)
        return nil
    }

    /// Sends queued buffers, each retried at the same address and length.
    private func flush(_ io: inout IO) -> ChannelError? {
        guard let easy = io.easy else { return nil }
        while let first = io.pending.first {
            while !first.isEmpty {
                switch easy.send(first.pendingPointer, first.remaining) {
                case .done(let n):
                    first.offset += n
                case .wouldBlock:
                    return nil
                case .failed(let rc):
                    return ChannelError(.connectionClosed, "send failed: \(CurlEasy.describe(rc))", platformCode: 1006)
                }
            }
            io.pending.removeFirst()
        }
        setWriteInterest(&io, false)
        return nil
    }

    private func setWriteInterest(_ io: inout IO, _ on: Bool) {
        guard io.writeInterest != on else { return }
        io.writeInterest = on
        loop.setInterest(token: io.token, read: true, write: on)
    }

    private func closedError(_ io: IO) -> ChannelError {
        let status = io.closeStatus
        return ChannelError(.connectionClosed, "the WebSocket connection is closed",
                            platformCode: status.map { Int($0.code.rawValue) }, platformMessage: status?.reason)
    }

    /// The connection was lost without a closing handshake: status 1006, `error` ends
    /// the message stream.
    private func drop(_ io: inout IO, _ deliveries: inout Deliveries, _ error: ChannelError) {
        io.closing.connectionLost()
        finish(&io, &deliveries, status: WebSocketCloseStatus(code: .abnormalClosure, reason: "", initiatedByPeer: true), error: error)
    }

    /// Ends the connection once: records the status, releases the socket and collects
    /// everything waiting on it.
    private func finish(_ io: inout IO, _ deliveries: inout Deliveries, status: WebSocketCloseStatus, error: ChannelError?) {
        guard let easy = io.easy else { return }
        // Best effort: push out what is queued (e.g. our close echo) before closing.
        _ = flush(&io)
        loop.deregister(token: io.token)
        easy.cleanup()
        io.easy = nil
        io.pending.removeAll()
        io.spare = nil
        io.closeStatus = status
        let pings = io.pingWaiters.map(\.continuation)
        io.pingWaiters.removeAll()
        let closers = io.closeWaiters
        io.closeWaiters.removeAll()
        deliveries.finished = (error, pings, closers)
        logger.debug("WebSocket closed: \(status)", source: "CurlWebSocketConnection")
    }

    private func deliver(_ deliveries: Deliveries) {
        for pong in deliveries.pongs { pong.resume() }
        if let (error, pings, closers) = deliveries.finished {
            let status = closeStatus
            for ping in pings {
                ping.resume(throwing: error ?? ChannelError(.connectionClosed, "the WebSocket connection closed before the pong",
                                                            platformCode: status.map { Int($0.code.rawValue) }))
            }
            continuation.finish(throwing: error)
            for closer in closers { closer.resume() }
        }
    }

    deinit {
        io.withLock { io in
            if let easy = io.easy {
                loop.deregister(token: io.token)
                easy.cleanup()
                io.easy = nil
            }
        }
    }
}
#endif
