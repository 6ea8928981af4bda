/// Runs `body` in a child task and returns its result.
///
/// A Swift task keeps the allocator slabs of its deepest async call stack until the task
/// object is released. Long-lived per-account tasks (a session that stays connected for
/// days, the lifecycle that holds it) therefore run their deep one-off work — token
/// fetch, REST discovery, the WebSocket handshake, identity probes — through this, so
/// those frames are freed when the work ends instead of staying with every idle account
/// (measured with `channelkit-bench gateway-scale`, live heap per account).
///
/// Structured: cancelling the caller cancels `body`; errors propagate.
package func runInChildTask<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask(operation: body)
        guard let value = try await group.next() else { throw CancellationError() }
        return value
    }
}
