import Synchronization
import ChannelKit

/// The one-shot result of one outbound frame (`message.ack` or `message.error`), which
/// the sending task awaits in slices so it can resend after an ack timeout.
final class ClawChatSendWaiter: Sendable {
    private struct State {
        var result: Result<SentMessage, ChannelError>?
        var waiter: CheckedContinuation<Result<SentMessage, ChannelError>?, Never>?
        var cancelled = false
    }
    private let state = Mutex(State())

    /// Resolves the send once; later calls are ignored. Returns whether this call won.
    @discardableResult
    func resolve(_ result: Result<SentMessage, ChannelError>) -> Bool {
        let (won, waiter) = state.withLock { s -> (Bool, CheckedContinuation<Result<SentMessage, ChannelError>?, Never>?) in
            guard s.result == nil else { return (false, nil) }
            s.result = result
            defer { s.waiter = nil }
            return (true, s.waiter)
        }
        waiter?.resume(returning: result)
        return won
    }

    /// The result, if resolved.
    var result: Result<SentMessage, ChannelError>? { state.withLock { $0.result } }

    /// Waits for the result; returns `nil` when the waiting task is cancelled first.
    /// At most one task waits at a time.
    func wait() async -> Result<SentMessage, ChannelError>? {
        state.withLock { $0.cancelled = false }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Result<SentMessage, ChannelError>?, Never>) in
                let immediate: Result<SentMessage, ChannelError>?? = state.withLock { s in
                    if let r = s.result { return .some(r) }
                    if s.cancelled { return .some(nil) }
                    s.waiter = c
                    return .none
                }
                if let immediate { c.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<Result<SentMessage, ChannelError>?, Never>? in
                s.cancelled = true
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume(returning: nil)
        }
    }

    /// Waits up to `timeout` on `time`: `.result`, `.timedOut`, or `.cancelled` when the
    /// calling task is cancelled.
    func wait(timeout: Duration, time: TimeSource) async -> WaitOutcome {
        if let result { return .result(result) }
        return await withTaskGroup(of: WaitOutcome.self) { group in
            group.addTask {
                if let r = await self.wait() { return .result(r) }
                return .cancelled
            }
            group.addTask {
                do { try await time.sleep(for: timeout) } catch { return .cancelled }
                return .timedOut
            }
            var outcome = WaitOutcome.cancelled
            if let first = await group.next() { outcome = first }
            group.cancelAll()
            // A result that raced the timer wins over it.
            if case .timedOut = outcome, let r = result { outcome = .result(r) }
            if Task.isCancelled, case .result = outcome {} else if Task.isCancelled { outcome = .cancelled }
            return outcome
        }
    }

    enum WaitOutcome: Sendable {
        case result(Result<SentMessage, ChannelError>)
        case timedOut
        case cancelled
    }
}
