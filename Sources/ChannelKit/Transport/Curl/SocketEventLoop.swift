#if os(Linux)
import Foundation
import Synchronization
import CChannelKitShims

/// Receives readiness events from a ``SocketEventLoop``, on the loop's thread.
///
/// Callbacks must be short and must not block: read until `EAGAIN`, hand data on, and
/// return. A handler may be called once more after it was deregistered (the event was
/// already fetched); it must then do nothing.
protocol SocketEventHandler: AnyObject, Sendable {
    func socketReadable()
    func socketWritable()
}

/// One thread multiplexing many sockets with epoll (level-triggered). Thousands of
/// connections share it: no thread per connection.
final class SocketEventLoop: Sendable {
    /// The process-wide loop used by default transports. Its thread starts on first use
    /// and lives for the process; it holds no account state.
    static let shared = SocketEventLoop()

    private struct Registration {
        /// Weak: a connection dropped without `close()` is released (and its `deinit`
        /// deregisters and closes the socket).
        weak var handler: (any SocketEventHandler)?
        let fd: Int32
        var interest: UInt32
    }

    private struct State {
        var registrations: [UInt64: Registration] = [:]
        var nextToken: UInt64 = 1
        var started = false
        var startError: String?
        /// Sockets whose handler must be told "readable" once, on the loop thread.
        var scheduledReads: [UInt64] = []
    }

    private let epfd: Int32
    private let wakeFD: Int32
    private let state = Mutex(State())
    /// Scratch space for reads, used only on the loop's thread (inside handler
    /// callbacks), shared by every socket of the loop: 64 KiB.
    nonisolated(unsafe) let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)

    init() {
        epfd = ck_epoll_create()
        wakeFD = ck_eventfd()
        if epfd >= 0, wakeFD >= 0 {
            _ = ck_epoll_ctl(epfd, 0, wakeFD, CK_EVENT_READ, 0)
        }
    }

    /// Number of registered sockets.
    var registeredCount: Int { state.withLock { $0.registrations.count } }

    /// Registers `fd`; returns the token for later calls.
    func register(fd: Int32, handler: any SocketEventHandler, read: Bool = true, write: Bool = false) throws -> UInt64 {
        try startIfNeeded()
        let interest = (read ? CK_EVENT_READ : 0) | (write ? CK_EVENT_WRITE : 0)
        let token = state.withLock { s -> UInt64 in
            let token = s.nextToken
            s.nextToken += 1
            s.registrations[token] = Registration(handler: handler, fd: fd, interest: interest)
            return token
        }
        if ck_epoll_ctl(epfd, 0, fd, interest, token) != 0 {
            let message = String(cString: strerror(errno))
            _ = state.withLock { $0.registrations.removeValue(forKey: token) }
            throw ChannelError(.transport, "cannot watch socket: \(message)")
        }
        return token
    }

    /// Changes the interest of a registered socket.
    func setInterest(token: UInt64, read: Bool, write: Bool) {
        let interest = (read ? CK_EVENT_READ : 0) | (write ? CK_EVENT_WRITE : 0)
        let fd: Int32? = state.withLock { s in
            guard var r = s.registrations[token], r.interest != interest else { return nil }
            r.interest = interest
            s.registrations[token] = r
            return r.fd
        }
        if let fd { _ = ck_epoll_ctl(epfd, 1, fd, interest, token) }
    }

    /// Makes the loop call `socketReadable()` for `token` once, on its thread, even if
    /// epoll reports nothing (e.g. TLS already holds decrypted bytes).
    func scheduleRead(token: UInt64) {
        state.withLock { $0.scheduledReads.append(token) }
        _ = ck_eventfd_signal(wakeFD)
    }

    /// Stops watching a socket. Call before closing it.
    func deregister(token: UInt64) {
        let fd: Int32? = state.withLock { $0.registrations.removeValue(forKey: token)?.fd }
        if let fd { _ = ck_epoll_ctl(epfd, 2, fd, 0, token) }
    }

    private func startIfNeeded() throws {
        let (start, error) = state.withLock { s -> (Bool, String?) in
            if s.started { return (false, s.startError) }
            s.started = true
            if epfd < 0 || wakeFD < 0 { s.startError = "epoll unavailable: \(String(cString: strerror(errno)))" }
            return (s.startError == nil, s.startError)
        }
        if let error { throw ChannelError(.transport, error) }
        if start {
            let thread = Thread { [self] in self.run() }
            thread.name = "ChannelKit.SocketEventLoop"
            thread.stackSize = 256 * 1024
            thread.start()
        }
    }

    private func run() {
        let capacity = 256
        let tokens = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
        let events = UnsafeMutablePointer<UInt32>.allocate(capacity: capacity)
        defer { tokens.deallocate(); events.deallocate() }
        while true {
            let n = ck_epoll_wait(epfd, tokens, events, Int32(capacity), -1)
            if n < 0 {
                if errno == EINTR { continue }
                return
            }
            for i in 0..<Int(n) {
                let token = tokens[i]
                if token == 0 {
                    ck_eventfd_drain(wakeFD)
                    let scheduled = state.withLock { s -> [any SocketEventHandler] in
                        defer { s.scheduledReads.removeAll() }
                        return s.scheduledReads.compactMap { s.registrations[$0]?.handler }
                    }
                    for handler in scheduled { handler.socketReadable() }
                    continue
                }
                guard let handler = state.withLock({ $0.registrations[token]?.handler }) else { continue }
                let mask = events[i]
                if mask & (CK_EVENT_READ | CK_EVENT_HANGUP | CK_EVENT_ERROR) != 0 { handler.socketReadable() }
                if mask & CK_EVENT_WRITE != 0 { handler.socketWritable() }
            }
        }
    }
}
#endif
