import Synchronization

/// A value that arrives once, awaited cancellably: the result of one outbound frame
/// (ClawChat `message.ack`, OpenIM `msgIncr` replies), or of work the waiter must not be
/// tied to (a refresh attempt that has to finish and store its pair even if the session
/// that asked is being stopped).
///
/// - ``resolve(_:)`` stores the value once; later calls are ignored.
/// - ``wait()`` returns the value, or `nil` as soon as the waiting task is cancelled.
///   One task waits at a time; a later ``wait()`` (after a timeout slice) is fine.
/// - ``wait(timeout:time:)`` bounds a wait on an injected clock.
package final class OneShot<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiter: CheckedContinuation<Value?, Never>?
        var cancelled = false
    }
    private let state = Mutex(State())

    package init() {}

    /// Runs `work` in a task of its own and returns a ``OneShot`` its result resolves:
    /// the caller can wait cancellably while the work always runs to its end.
    package static func detached(_ work: @escaping @Sendable () async -> Value) -> OneShot<Value> {
        let shot = OneShot<Value>()
        Task { shot.resolve(await work()) }
        return shot
    }

    /// Stores `value` and wakes the waiter. Returns whether this call won (`false` when
    /// a value was already stored).
    @discardableResult
    package func resolve(_ value: Value) -> Bool {
        let (won, waiter) = state.withLock { s -> (Bool, CheckedContinuation<Value?, Never>?) in
            guard s.value == nil else { return (false, nil) }
            s.value = value
            defer { s.waiter = nil }
            return (true, s.waiter)
        }
        waiter?.resume(returning: value)
        return won
    }

    /// The value, if it has arrived.
    package var value: Value? { state.withLock { $0.value } }

    /// Waits for the value.
    /// - Cancellation: returns `nil` at once when the waiting task is cancelled.
    package func wait() async -> Value? {
        state.withLock { $0.cancelled = false }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Value?, Never>) in
                let immediate: Value?? = state.withLock { s in
                    if let v = s.value { return .some(v) }
                    if s.cancelled { return .some(nil) }
                    s.waiter = c
                    return .none
                }
                if let immediate { c.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { s -> CheckedContinuation<Value?, Never>? in
                s.cancelled = true
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume(returning: nil)
        }
    }

    /// How a bounded wait ended.
    package enum Outcome {
        case value(Value)
        case timedOut
        case cancelled
    }

    /// Waits up to `timeout` on `time`. A value that races the timer wins over it.
    /// - Cancellation: `.cancelled` when the calling task is cancelled.
    package func wait(timeout: Duration, time: TimeSource) async -> Outcome {
        if let value { return .value(value) }
        let outcome = await withTaskGroup(of: Outcome.self) { group in
            group.addTask {
                if let v = await self.wait() { return .value(v) }
                return .cancelled
            }
            group.addTask {
                do { try await time.sleep(for: timeout) } catch { return .cancelled }
                return .timedOut
            }
            var first = Outcome.cancelled
            if let next = await group.next() { first = next }
            group.cancelAll()
            return first
        }
        if case .timedOut = outcome, let value { return .value(value) }
        if Task.isCancelled {
            if case .value = outcome { return outcome }
            return .cancelled
        }
        return outcome
    }
}

extension OneShot.Outcome: Sendable where Value: Sendable {}
