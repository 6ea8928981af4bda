import Synchronization

/// A non-blocking descriptor owned by a ``LoopbackPoller``: every system call on it runs
/// under its lock after checking it is still open, so a descriptor number is never used
/// after `close` (when the kernel may already have handed it to another socket).
final class LoopbackSocket: Sendable {
    private struct State {
        var fd: Int32
        var isOpen = true
    }
    private let state: Mutex<State>
    let poller: LoopbackPoller

    init(fd: Int32, poller: LoopbackPoller) {
        self.state = Mutex(State(fd: fd))
        self.poller = poller
    }

    var isOpen: Bool { state.withLock { $0.isOpen } }

    /// Runs `body` with the descriptor, or returns `nil` once closed.
    func withDescriptor<T>(_ body: (Int32) -> T) -> T? {
        state.withLock { s in s.isOpen ? body(s.fd) : nil }
    }

    /// Waits until the descriptor is ready for `events` (or hangs up).
    /// - Throws: ``LoopbackTCPError/closed`` if the socket closes first,
    ///   `CancellationError` if the calling task is cancelled.
    func wait(for events: Int16) async throws {
        let fd = state.withLock { $0.fd }
        let waiter = poller.makeWaiter(fd: fd, events: events)
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                guard waiter.arm(continuation) else {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                let registered = state.withLock { s in s.isOpen && poller.register(waiter) }
                if !registered { waiter.fire(.failure(LoopbackTCPError.closed)) }
            }
        } onCancel: {
            poller.remove(waiter.id)
            waiter.fire(.failure(CancellationError()))
        }
    }

    /// Closes the descriptor (with RST when `reset`) and fails its waiters. Idempotent.
    func close(reset: Bool = false) {
        let waiters = state.withLock { s -> [LoopbackPoller.Waiter] in
            guard s.isOpen else { return [] }
            s.isOpen = false
            let waiters = poller.removeAll(fd: s.fd)
            if reset { Posix.setLingerZero(s.fd) }
            Posix.close(s.fd)
            return waiters
        }
        for waiter in waiters { waiter.fire(.failure(LoopbackTCPError.closed)) }
    }

    /// Half-closes: sends FIN, keeps reading.
    func shutdownWrite() {
        _ = withDescriptor { Posix.shutdownWrite($0) }
    }
}
