import Synchronization

/// A one-shot gate for tests: tasks ``wait()`` until the test calls ``open()``.
///
/// Use it to hold a fake fetch or handler in flight while the test arranges what it
/// wants to observe, then release it — no sleeps, no timing.
public final class AsyncGate: Sendable {
    private struct State {
        var isOpen = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    public init() {}

    /// Number of tasks waiting at the gate.
    public var waiting: Int { state.withLock { $0.waiters.count } }

    /// `true` once ``open()`` was called.
    public var isOpen: Bool { state.withLock { $0.isOpen } }

    /// Waits until the gate opens (returns at once if it is open). Not cancellable.
    public func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { s -> Bool in
                if s.isOpen { return true }
                s.waiters.append(c)
                return false
            }
            if ready { c.resume() }
        }
    }

    /// Opens the gate and releases every waiter.
    public func open() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.isOpen = true
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume() }
    }

    /// Waits (in scheduling turns, not real time) until `count` tasks wait at the gate.
    /// - Returns: `false` if that did not happen within `maxTurns` turns.
    @discardableResult
    public func waitForWaiters(_ count: Int, maxTurns: Int = 200_000) async -> Bool {
        for _ in 0..<maxTurns {
            if waiting >= count { return true }
            await Task.yield()
        }
        return waiting >= count
    }
}

/// A thread-safe counter and recorder for tests.
public final class TestRecorder<Element: Sendable>: Sendable {
    private let storage = Mutex<[Element]>([])
    public init() {}
    /// Appends one element.
    public func record(_ element: Element) { storage.withLock { $0.append(element) } }
    /// Everything recorded, in order.
    public var all: [Element] { storage.withLock { $0 } }
    /// Number of elements recorded.
    public var count: Int { storage.withLock { $0.count } }
}

/// Waits, in scheduling turns (never real-time sleeps), until `condition` holds.
///
/// Use it where a test must observe an effect that other tasks produce, e.g. "the
/// rotation callback ran", instead of sleeping.
/// - Returns: `false` if the condition did not hold within `maxTurns` turns.
@discardableResult
public func waitUntil(maxTurns: Int = 500_000, _ condition: () -> Bool) async -> Bool {
    for _ in 0..<maxTurns {
        if condition() { return true }
        await Task.yield()
    }
    return condition()
}
