import Synchronization

/// An in-process FIFO mutex per ``StateKey``, so callers of one ``FileStateStore`` queue
/// cheaply instead of each parking a thread in `flock`.
///
/// Not reentrant: acquiring a key twice from the same task deadlocks. Waiting does not
/// observe cancellation.
final class KeyedAsyncLock: Sendable {
    private struct State {
        var held: Set<StateKey> = []
        var waiters: [StateKey: [CheckedContinuation<Void, Never>]] = [:]
    }

    private let state = Mutex(State())

    init() {}

    /// Suspends until the caller holds `key`. `onWait` runs (before suspending) when
    /// another holder has it.
    func acquire(_ key: StateKey, onWait: () -> Void = {}) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { state -> Bool in
                if state.held.contains(key) {
                    state.waiters[key, default: []].append(continuation)
                    return false
                }
                state.held.insert(key)
                return true
            }
            if granted { continuation.resume() } else { onWait() }
        }
    }

    /// Releases `key`, handing it directly to the oldest waiter if there is one.
    func release(_ key: StateKey) {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard var queue = state.waiters[key], !queue.isEmpty else {
                state.held.remove(key)
                return nil
            }
            let first = queue.removeFirst()
            state.waiters[key] = queue.isEmpty ? nil : queue
            return first  // ownership passes to the waiter; `held` keeps the key
        }
        next?.resume()
    }
}
