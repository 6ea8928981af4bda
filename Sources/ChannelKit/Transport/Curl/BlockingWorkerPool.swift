#if os(Linux)
import Foundation
import Synchronization

/// Dedicated threads for work that blocks (curl's connect: DNS, TCP, TLS, the upgrade
/// exchange).
///
/// On Linux, Swift's cooperative pool and `DispatchQueue.global()` share Dispatch's
/// worker threads (as many as cores). Blocking them starves every task in the process
/// until Dispatch notices and adds threads, about a second later. This pool never
/// touches those threads: it starts up to `maximumThreads` of its own, on demand, and
/// they wait on a semaphore when idle.
final class BlockingWorkerPool: Sendable {
    /// The pool used by the default transports. Threads start on first use.
    static let shared = BlockingWorkerPool(maximumThreads: 32)

    private struct State {
        var jobs: [@Sendable () -> Void] = []
        var threads = 0
        var idle = 0
    }

    private let maximumThreads: Int
    private let state = Mutex(State())
    private let available = DispatchSemaphore(value: 0)

    init(maximumThreads: Int) {
        self.maximumThreads = max(1, maximumThreads)
    }

    /// Runs `body` on a pool thread and returns its result. The calling task suspends
    /// (it does not block); `body` itself is not cancelled.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            submit { continuation.resume(with: Result { try body() }) }
        }
    }

    private func submit(_ job: @escaping @Sendable () -> Void) {
        let startThread = state.withLock { s -> Bool in
            s.jobs.append(job)
            if s.idle == 0 && s.threads < maximumThreads {
                s.threads += 1
                return true
            }
            if s.idle > 0 { s.idle -= 1 }
            return false
        }
        if startThread {
            let thread = Thread { [self] in self.work() }
            thread.name = "ChannelKit.blocking"
            thread.start()
        } else {
            available.signal()
        }
    }

    private func work() {
        while true {
            let job = state.withLock { s -> (@Sendable () -> Void)? in
                s.jobs.isEmpty ? nil : s.jobs.removeFirst()
            }
            if let job {
                job()
                continue
            }
            state.withLock { $0.idle += 1 }
            // Re-check: a job may have been queued between the check and going idle.
            let raced = state.withLock { s -> Bool in
                if !s.jobs.isEmpty && s.idle > 0 { s.idle -= 1; return true }
                return false
            }
            if raced { continue }
            available.wait()
        }
    }
}
#endif
