import Foundation

/// The injected time seam: a monotonic clock for sleeping and measuring, plus a wall
/// clock for comparing against absolute times such as a JWT `exp` or a token's
/// `expires_in`.
///
/// Every time-based component takes a `TimeSource` in its configuration (default
/// ``system``). Tests pass `TestClock.timeSource` from `ChannelKitTesting` and drive
/// reconnects, refreshes and backoffs in virtual time.
public struct TimeSource: Sendable {
    /// The clock used for every sleep and timeout.
    public let clock: any Clock<Duration>
    /// The current wall-clock time.
    public let now: @Sendable () -> Date
    /// The current wall-clock time as seconds since the reference date, possibly coarse
    /// (the system source reads `CLOCK_REALTIME_COARSE` on Linux: ≈ 4 ms resolution,
    /// ≈ 5 ns per read instead of ≈ 30 ns). Hot paths such as the token-cache hit use it;
    /// expiry margins are seconds or more, so the resolution does not matter there.
    public let coarseNow: @Sendable () -> Double

    /// Creates a time source.
    /// - Parameters:
    ///   - clock: Monotonic clock for sleeps.
    ///   - now: Wall clock.
    ///   - coarseNow: A cheap reading of the same wall clock in seconds since the
    ///     reference date. Defaults to `now().timeIntervalSinceReferenceDate`.
    public init(clock: any Clock<Duration>, now: @escaping @Sendable () -> Date, coarseNow: (@Sendable () -> Double)? = nil) {
        self.clock = clock
        self.now = now
        self.coarseNow = coarseNow ?? { now().timeIntervalSinceReferenceDate }
    }

    /// `ContinuousClock` and the system wall clock.
    public static let system = TimeSource(clock: ContinuousClock(), now: { Date.now }, coarseNow: systemCoarseNow)

    @Sendable private static func systemCoarseNow() -> Double {
        #if os(Linux)
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME_COARSE, &ts)
        return Double(ts.tv_sec) - Date.timeIntervalBetween1970AndReferenceDate + Double(ts.tv_nsec) / 1e9
        #else
        return Date.now.timeIntervalSinceReferenceDate
        #endif
    }

    /// Sleeps on ``clock``.
    /// - Throws: `CancellationError` when the calling task is cancelled; cancellation
    ///   ends the sleep at once.
    public func sleep(for duration: Duration) async throws {
        if duration <= .zero {
            try Task.checkCancellation()
            return
        }
        try await clock.sleep(for: duration)
    }

    /// Sleeps until the wall clock reads `date` (measured now, slept on ``clock``).
    /// - Throws: `CancellationError` when the calling task is cancelled.
    public func sleep(untilWall date: Date) async throws {
        try await sleep(for: .seconds(date.timeIntervalSince(now())))
    }
}

extension Duration {
    /// The duration in (fractional) seconds.
    public var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
