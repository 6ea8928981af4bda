import Foundation
import Synchronization
import ChannelKit

/// A virtual clock for deterministic tests: time moves only when the test calls
/// ``advance(by:)``, and sleepers wake in deadline order.
///
/// ```swift
/// let clock = TestClock()
/// let cache = TokenCache(configuration: .init(time: clock.timeSource))
/// await clock.waitForSleepers(1)      // the background refresh is now sleeping
/// await clock.advance(by: .seconds(7200))
/// ```
///
/// The wall clock of ``timeSource`` starts at ``wallStart`` and moves with the virtual
/// time, so JWT `exp` comparisons and sleeps agree.
public final class TestClock: Clock, Sendable {
    /// A point in virtual time: the offset from the clock's start.
    public struct Instant: InstantProtocol, Hashable, Sendable {
        /// Virtual time elapsed since the clock was created.
        public var offset: Duration
        public init(offset: Duration) { self.offset = offset }
        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct Sleeper {
        let id: UInt64
        let deadline: Instant
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var nextID: UInt64 = 0
        var sleepers: [Sleeper] = []
        var cancelledBeforeRegistration: Set<UInt64> = []
    }

    private let state = Mutex(State())
    /// The wall-clock time at virtual time zero. Default: 2026-01-01T00:00:00Z.
    public let wallStart: Date

    /// Creates a clock at virtual time zero.
    /// - Parameter wallStart: The wall-clock reading at time zero.
    public init(wallStart: Date = Date(timeIntervalSince1970: 1_767_225_600)) {
        self.wallStart = wallStart
    }

    public var now: Instant { state.withLock { $0.now } }
    public var minimumResolution: Duration { .zero }

    /// The current virtual wall-clock time.
    public var wallNow: Date { wallStart.addingTimeInterval(now.offset.seconds) }

    /// A ``TimeSource`` whose clock and wall clock are this virtual clock.
    public var timeSource: TimeSource {
        TimeSource(clock: self, now: { [self] in self.wallNow },
                   coarseNow: { [self] in self.wallNow.timeIntervalSinceReferenceDate })
    }

    /// The number of tasks currently sleeping on this clock.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    /// The earliest pending deadline, if any task sleeps.
    public var nextDeadline: Instant? { state.withLock { $0.sleepers.map(\.deadline).min() } }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try Task.checkCancellation()
        let id: UInt64? = state.withLock { s in
            if deadline <= s.now { return nil }
            s.nextID += 1
            return s.nextID
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let cancelled = state.withLock { s -> Bool in
                    if s.cancelledBeforeRegistration.remove(id) != nil { return true }
                    if deadline <= s.now { return false }
                    s.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: c))
                    return false
                }
                if cancelled {
                    c.resume(throwing: CancellationError())
                } else if state.withLock({ s in !s.sleepers.contains { $0.id == id } }) {
                    c.resume()
                }
            }
        } onCancel: {
            let sleeper: Sleeper? = state.withLock { s in
                if let i = s.sleepers.firstIndex(where: { $0.id == id }) {
                    return s.sleepers.remove(at: i)
                }
                s.cancelledBeforeRegistration.insert(id)
                return nil
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves virtual time forward by `duration`, waking every sleeper whose deadline is
    /// reached, in deadline order. Time steps to each deadline in turn and the woken
    /// tasks get a chance to run (and to sleep again) before time moves on.
    public func advance(by duration: Duration) async {
        await advance(to: now.advanced(by: duration))
    }

    /// Moves virtual time forward to `target` (no-op if it is in the past).
    public func advance(to target: Instant) async {
        while true {
            let due: [Sleeper] = state.withLock { s in
                guard let next = s.sleepers.map(\.deadline).min(), next <= target else { return [] }
                if next > s.now { s.now = next }
                let woken = s.sleepers.filter { $0.deadline <= next }
                s.sleepers.removeAll { $0.deadline <= next }
                return woken
            }
            if due.isEmpty { break }
            for sleeper in due.sorted(by: { ($0.deadline, $0.id) < ($1.deadline, $1.id) }) {
                sleeper.continuation.resume()
            }
            await Self.settle()
        }
        state.withLock { s in if target > s.now { s.now = target } }
        await Self.settle()
    }

    /// Waits (in real scheduling turns, never in real time sleeps) until at least
    /// `count` tasks sleep on this clock.
    /// - Returns: `true` when reached, `false` if it was not reached within many turns
    ///   (a test should then fail).
    @discardableResult
    public func waitForSleepers(_ count: Int = 1, maxTurns: Int = 100_000) async -> Bool {
        for _ in 0..<maxTurns {
            if sleeperCount >= count { return true }
            await Task.yield()
        }
        return sleeperCount >= count
    }

    /// Yields repeatedly so tasks made ready by a wake-up can run before time moves on.
    public static func settle(turns: Int = 64) async {
        for _ in 0..<turns { await Task.yield() }
    }
}
