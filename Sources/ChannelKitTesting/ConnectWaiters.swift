/// Tasks waiting until a simulator has a live connection for a key (an app id), kept in
/// the simulator's locked state and resumed outside the lock.
struct ConnectWaiters {
    private var waiting: [(key: String, continuation: CheckedContinuation<Void, Never>)] = []

    /// Adds a waiter for `key`.
    mutating func add(_ key: String, _ continuation: CheckedContinuation<Void, Never>) {
        waiting.append((key, continuation))
    }

    /// Removes and returns the waiters whose key is now ready (resume them after
    /// releasing the lock).
    mutating func takeReady(_ isReady: (String) -> Bool) -> [CheckedContinuation<Void, Never>] {
        var ready: [CheckedContinuation<Void, Never>] = []
        var still: [(key: String, continuation: CheckedContinuation<Void, Never>)] = []
        for waiter in waiting {
            if isReady(waiter.key) { ready.append(waiter.continuation) } else { still.append(waiter) }
        }
        waiting = still
        return ready
    }
}
