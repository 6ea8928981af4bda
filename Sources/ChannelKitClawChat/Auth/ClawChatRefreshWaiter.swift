import Synchronization
import ChannelKit

/// Waits for a ``RefreshCoordinator/refresh(reason:)`` without tying the caller to it.
///
/// The coordinator's attempt runs in its own task and is never cancelled by a caller (a
/// rotated pair must reach the store), and joining it is not cancellable either. A
/// session that is being stopped must not wait up to the 20 s attempt timeout, so the
/// connection asks through this helper: the refresh runs in a small task of its own
/// (it ends when the coordinator's attempt ends, bounded by the attempt timeout), and the
/// caller waits cancellably for its outcome.
enum ClawChatRefreshWaiter {
    /// The outcome, or `nil` when the calling task was cancelled first (the refresh
    /// still completes and stores its pair).
    static func refresh(_ coordinator: RefreshCoordinator, reason: String) async -> RefreshOutcome? {
        if Task.isCancelled { return nil }
        let box = OutcomeBox()
        let task = Task { box.resolve(await coordinator.refresh(reason: reason)) }
        _ = task
        return await box.wait()
    }

    private final class OutcomeBox: Sendable {
        private struct State {
            var outcome: RefreshOutcome?
            var waiter: CheckedContinuation<RefreshOutcome?, Never>?
            var cancelled = false
        }
        private let state = Mutex(State())

        func resolve(_ outcome: RefreshOutcome) {
            let waiter = state.withLock { s -> CheckedContinuation<RefreshOutcome?, Never>? in
                s.outcome = outcome
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume(returning: outcome)
        }

        func wait() async -> RefreshOutcome? {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<RefreshOutcome?, Never>) in
                    let immediate: RefreshOutcome?? = state.withLock { s in
                        if let outcome = s.outcome { return .some(outcome) }
                        if s.cancelled { return .some(nil) }
                        s.waiter = c
                        return .none
                    }
                    if let immediate { c.resume(returning: immediate) }
                }
            } onCancel: {
                let waiter = state.withLock { s -> CheckedContinuation<RefreshOutcome?, Never>? in
                    s.cancelled = true
                    defer { s.waiter = nil }
                    return s.waiter
                }
                waiter?.resume(returning: nil)
            }
        }
    }
}
