#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// One thread running `poll()` for the sockets of one loopback server (or one test
/// client): tasks await readiness of a descriptor, the thread resumes them.
///
/// Readiness is a hint: a woken task retries its non-blocking call and waits again on
/// `EAGAIN`, so spurious wake-ups are harmless. ``stop()`` ends the thread and fails
/// every waiter; ``join()`` waits until the thread has exited and closed its wake pipe.
final class LoopbackPoller: Sendable {
    /// One awaited readiness event. Fired exactly once: by the poll thread, by
    /// cancellation, or by the socket closing.
    final class Waiter: Sendable {
        private enum State {
            case initial
            case waiting(CheckedContinuation<Void, any Error>)
            case done
        }
        let id: UInt64
        let fd: Int32
        let events: Int16
        private let state = Mutex(State.initial)

        init(id: UInt64, fd: Int32, events: Int16) {
            self.id = id
            self.fd = fd
            self.events = events
        }

        /// Stores the continuation; `false` if the waiter already fired (cancelled
        /// before it was armed).
        func arm(_ continuation: CheckedContinuation<Void, any Error>) -> Bool {
            state.withLock { state in
                guard case .initial = state else { return false }
                state = .waiting(continuation)
                return true
            }
        }

        /// Resumes the waiting task once; later calls do nothing.
        func fire(_ result: Result<Void, any Error>) {
            let continuation = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                defer { state = .done }
                if case .waiting(let continuation) = state { return continuation }
                return nil
            }
            continuation?.resume(with: result)
        }
    }

    private struct State {
        var waiters: [UInt64: Waiter] = [:]
        var nextID: UInt64 = 0
        var stopping = false
        var exited = false
        /// Someone will `pthread_join` the thread; otherwise it detaches itself on exit.
        var willJoin = false
        var joined = false
        var joiners: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let thread: PosixThread

    /// Starts the poll thread.
    /// - Throws: ``LoopbackTCPError/system(operation:errno:)`` if the wake pipe or the
    ///   thread cannot be made.
    init(name: String) throws {
        guard let (wakeRead, wakeWrite) = Posix.pipe() else {
            throw LoopbackTCPError.system(operation: "pipe", errno: errno)
        }
        self.wakeRead = wakeRead
        self.wakeWrite = wakeWrite
        self.thread = PosixThread(name: name)
        do {
            try thread.start { [self] in self.run() }
        } catch {
            Posix.close(wakeRead)
            Posix.close(wakeWrite)
            throw error
        }
    }

    /// A new waiter for `events` on `fd` (not yet registered).
    func makeWaiter(fd: Int32, events: Int16) -> Waiter {
        let id = state.withLock { s -> UInt64 in
            s.nextID &+= 1
            return s.nextID
        }
        return Waiter(id: id, fd: fd, events: events)
    }

    /// Adds `waiter` to the poll set; `false` once the poller is stopping.
    func register(_ waiter: Waiter) -> Bool {
        state.withLock { s in
            guard !s.stopping else { return false }
            s.waiters[waiter.id] = waiter
            Posix.writeByte(wakeWrite)
            return true
        }
    }

    /// Drops a waiter (after cancellation). The caller fires it.
    func remove(_ id: UInt64) {
        _ = state.withLock { $0.waiters.removeValue(forKey: id) }
    }

    /// Drops every waiter on `fd` and returns them, for the caller to fail.
    ///
    /// Wakes the thread when `fd` was in its poll set: a descriptor closed while another
    /// thread polls it stays referenced by that `poll()` call, so the socket (and the FIN
    /// or RST the peer waits for) is only released once the call returns.
    func removeAll(fd: Int32) -> [Waiter] {
        state.withLock { s in
            let matching = s.waiters.values.filter { $0.fd == fd }
            for waiter in matching { s.waiters[waiter.id] = nil }
            if !matching.isEmpty { Posix.writeByte(wakeWrite) }
            return matching
        }
    }

    /// Asks the thread to exit; every waiter fails with ``LoopbackTCPError/closed``.
    /// Idempotent.
    /// - Parameter join: `true` if the caller will ``join()``; otherwise the thread
    ///   detaches itself as it exits, so nothing is left to reap.
    func stop(join: Bool = false) {
        state.withLock { s in
            if join { s.willJoin = true }
            guard !s.stopping else { return }
            s.stopping = true
            Posix.writeByte(wakeWrite)
        }
    }

    /// Returns once the thread has exited and been reaped (call ``stop(join:)`` with
    /// `join: true` first).
    func join() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let exited = state.withLock { s -> Bool in
                if s.exited { return true }
                s.joiners.append(continuation)
                return false
            }
            if exited { continuation.resume() }
        }
        // The thread signalled from its last lines; reaping it waits only for its return.
        let reap = state.withLock { s -> Bool in
            guard s.willJoin, !s.joined else { return false }
            s.joined = true
            return true
        }
        if reap { thread.join() }
    }

    private func run() {
        var fds: [pollfd] = []
        while true {
            fds.removeAll(keepingCapacity: true)
            fds.append(pollfd(fd: wakeRead, events: Posix.pollIn, revents: 0))
            let stopping = state.withLock { s -> Bool in
                if s.stopping { return true }
                var merged: [Int32: Int16] = [:]
                for waiter in s.waiters.values { merged[waiter.fd, default: 0] |= waiter.events }
                for (fd, events) in merged { fds.append(pollfd(fd: fd, events: events, revents: 0)) }
                return false
            }
            if stopping { break }
            let count = Posix.poll(&fds)
            if count < 0 { continue } // EINTR; anything else is retried on the next pass
            if fds[0].revents != 0 { Posix.drain(wakeRead) }
            var ready: [Waiter] = []
            state.withLock { s in
                for entry in fds.dropFirst() where entry.revents != 0 {
                    let hangup = entry.revents & Posix.pollHangup != 0
                    for (id, waiter) in s.waiters where waiter.fd == entry.fd && (hangup || waiter.events & entry.revents != 0) {
                        ready.append(waiter)
                        s.waiters[id] = nil
                    }
                }
            }
            for waiter in ready { waiter.fire(.success(())) }
        }
        let (remaining, joiners) = state.withLock { s -> ([Waiter], [CheckedContinuation<Void, Never>]) in
            s.exited = true
            if !s.willJoin { thread.detach() }
            let remaining = Array(s.waiters.values)
            s.waiters = [:]
            defer { s.joiners = [] }
            // Closed under the lock: register/stop never write to a closed (reused) fd
            // because they check `stopping` under the same lock first.
            Posix.close(wakeRead)
            Posix.close(wakeWrite)
            return (remaining, s.joiners)
        }
        for waiter in remaining { waiter.fire(.failure(LoopbackTCPError.closed)) }
        for joiner in joiners { joiner.resume() }
    }
}
