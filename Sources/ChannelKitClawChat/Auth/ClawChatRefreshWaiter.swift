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
        return await OneShot.detached { await coordinator.refresh(reason: reason) }.wait()
    }
}
