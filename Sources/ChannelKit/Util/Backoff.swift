import Foundation

/// Exponential, capped, jittered retry delays with injectable randomness.
///
/// The delay before retry `n` (1-based) is
///
///     base(n)  = min(maximum, initial · multiplier^(n−1))
///     delay(n) = min(maximum, base(n) · (1 + jitter · (2u − 1)))      u ∈ [0, 1)
///
/// so jitter spreads each delay uniformly over `base · [1 − jitter, 1 + jitter)`, and the
/// cap applies **after** jitter: a delay is never above `maximum` and never negative.
/// Once the base reaches the cap, delays fall in `[maximum · (1 − jitter), maximum]`.
///
/// With ``Configuration/default`` (1 s, ×2, ±20 %, cap 60 s):
///
/// | attempt | base   | delay range       |
/// |---------|--------|-------------------|
/// | 1       | 1 s    | 0.8 s – 1.2 s     |
/// | 2       | 2 s    | 1.6 s – 2.4 s     |
/// | 3       | 4 s    | 3.2 s – 4.8 s     |
/// | 4       | 8 s    | 6.4 s – 9.6 s     |
/// | 5       | 16 s   | 12.8 s – 19.2 s   |
/// | 6       | 32 s   | 25.6 s – 38.4 s   |
/// | 7 …     | 60 s   | 48 s – 60 s       |
///
/// There is no terminal state: attempts keep yielding capped delays forever (no
/// overflow even at `Int.max`). Callers decide when to give up.
///
/// ```swift
/// var backoff = Backoff(.default)
/// while true {
///     do { try await connect(); backoff.reset(); break }
///     catch { try await time.sleep(for: backoff.next()) }
/// }
/// ```
public struct Backoff: Sendable {
    /// The shape of the delay curve.
    ///
    /// Out-of-range values are tolerated rather than trapped on: negative durations act
    /// as zero, a `multiplier` below 1 (or not finite) acts as 1, and `jitter` is
    /// clamped into `0...1` (NaN acts as 0). When `maximum < initial`, every delay is
    /// capped at `maximum`.
    public struct Configuration: Sendable, Hashable {
        /// The base delay of attempt 1. Default 1 s.
        public var initial: Duration
        /// The cap on every delay, applied after jitter. Default 60 s.
        public var maximum: Duration
        /// The factor between consecutive base delays. Default 2.
        public var multiplier: Double
        /// The ± fraction of random spread around the base delay (0.2 = ±20 %). Default 0.2.
        public var jitter: Double

        /// Creates a configuration; every parameter has the documented default.
        public init(
            initial: Duration = .seconds(1),
            maximum: Duration = .seconds(60),
            multiplier: Double = 2,
            jitter: Double = 0.2
        ) {
            self.initial = initial
            self.maximum = maximum
            self.multiplier = multiplier
            self.jitter = jitter
        }

        /// 1 s, doubling, ±20 %, capped at 60 s: reconnects and most retries.
        public static let `default` = Configuration()

        /// 250 ms, doubling, ±20 %, capped at 10 s: quick in-process retries such as a
        /// token fetch or an HTTP request.
        public static let fast = Configuration(initial: .milliseconds(250), maximum: .seconds(10))
    }

    /// The delay curve.
    public var configuration: Configuration
    /// How many delays ``next(using:)`` has produced since creation or the last
    /// ``reset()``; the next delay is for attempt `attempt + 1`. Saturates at `Int.max`.
    public var attempt: Int

    /// Creates a backoff at attempt 0.
    /// - Parameter configuration: The delay curve. Default ``Configuration/default``.
    public init(_ configuration: Configuration = .default) {
        self.configuration = configuration
        self.attempt = 0
    }

    /// Creates a backoff at attempt 0 with `configuration`.
    public init(configuration: Configuration) {
        self.init(configuration)
    }

    /// The delay for `attempt`, with `unitRandom` choosing the point in the jitter range.
    ///
    /// A pure function of its inputs.
    /// - Parameters:
    ///   - attempt: 1-based; values below 1 act as 1.
    ///   - unitRandom: In `[0, 1)`: `0` gives the low end (`base · (1 − jitter)`), `0.5`
    ///     the base itself, values near 1 the high end. Values outside are clamped; NaN
    ///     acts as 0.5.
    /// - Returns: A delay in `0 … maximum`.
    public func delay(forAttempt attempt: Int, unitRandom: Double) -> Duration {
        let maximum = max(configuration.maximum, .zero)
        let maxSeconds = maximum.seconds
        let initial = max(configuration.initial, .zero).seconds
        guard initial > 0, maxSeconds > 0 else { return .zero }

        let multiplier = configuration.multiplier.isFinite ? max(configuration.multiplier, 1) : 1
        let jitter = configuration.jitter.isNaN ? 0 : min(max(configuration.jitter, 0), 1)
        let u = unitRandom.isNaN ? 0.5 : min(max(unitRandom, 0), 1)

        // The exponent is clamped so that huge attempts cannot overflow anything; any
        // exponent past the cap gives the same base.
        let exponent = Double(max(attempt, 1) - 1)
        var base = initial * pow(multiplier, exponent)
        if !base.isFinite || base > maxSeconds { base = maxSeconds }

        let seconds = base * (1 + jitter * (2 * u - 1))
        guard seconds.isFinite, seconds > 0 else { return .zero }
        if seconds >= maxSeconds { return maximum }
        return min(.seconds(seconds), maximum)
    }

    /// Advances ``attempt`` and returns its delay, drawing the jitter from `rng`.
    public mutating func next(using rng: inout some RandomNumberGenerator) -> Duration {
        next(unitRandom: Double.random(in: 0..<1, using: &rng))
    }

    /// Advances ``attempt`` and returns its delay for a given uniform random number in
    /// `[0, 1)` (for components whose randomness is an injected `() -> Double`).
    public mutating func next(unitRandom: Double) -> Duration {
        if attempt < Int.max { attempt += 1 }
        return delay(forAttempt: attempt, unitRandom: unitRandom)
    }

    /// Advances ``attempt`` and returns its delay, with jitter from
    /// `SystemRandomNumberGenerator`.
    public mutating func next() -> Duration {
        var rng = SystemRandomNumberGenerator()
        return next(using: &rng)
    }

    /// Starts over at attempt 0 (call after a success).
    public mutating func reset() {
        attempt = 0
    }
}
