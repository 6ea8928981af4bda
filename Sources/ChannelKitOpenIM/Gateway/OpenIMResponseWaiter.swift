import Synchronization
import ChannelKit

/// The one-shot reply to one msg gateway request (matched on `msgIncr`), awaited with a
/// timeout on the account's clock.
final class OpenIMResponseWaiter: Sendable {
    private struct State {
        var result: Result<OpenIMResponseEnvelope, ChannelError>?
        var waiter: CheckedContinuation<Result<OpenIMResponseEnvelope, ChannelError>?, Never>?
        var cancelled = false
    }
    private let state = Mutex(State())

    /// Resolves once; later calls are ignored.
    func resolve(_ result: Result<OpenIMResponseEnvelope, ChannelError>) {
        let waiter = state.withLock { s -> CheckedContinuation<Result<OpenIMResponseEnvelope, ChannelError>?, Never>? in
            guard s.result == nil else { return nil }
            s.result = result
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(returning: result)
    }

    private func wait() async -> Result<OpenIMResponseEnvelope, ChannelError>? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Result<OpenIMResponseEnvelope, ChannelError>?, Never>) in
                let immediate: Result<OpenIMResponseEnvelope, ChannelError>?? = state.withLock { s in
                    if let r = s.result { return .some(r) }
                    if s.cancelled { return .some(nil) }
                    s.waiter = c
                    return .none
                }
                if let immediate { c.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<Result<OpenIMResponseEnvelope, ChannelError>?, Never>? in
                s.cancelled = true
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume(returning: nil)
        }
    }

    /// The reply, or `nil` after `timeout` on `time` or when the caller is cancelled.
    func wait(timeout: Duration, time: TimeSource) async -> Result<OpenIMResponseEnvelope, ChannelError>? {
        if let r = state.withLock({ $0.result }) { return r }
        return await withTaskGroup(of: Result<OpenIMResponseEnvelope, ChannelError>?.self) { group in
            group.addTask { await self.wait() }
            group.addTask {
                try? await time.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? state.withLock { $0.result }
        }
    }
}
