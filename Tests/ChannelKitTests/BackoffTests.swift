import Testing
@testable import ChannelKit

@Suite struct BackoffTests {
    private static func isClose(_ d: Duration, _ seconds: Double, tolerance: Double = 1e-9) -> Bool {
        abs(d.seconds - seconds) <= tolerance
    }

    @Test func defaultPresetHasTheDocumentedValues() {
        let c = Backoff.Configuration.default
        #expect(c.initial == .seconds(1))
        #expect(c.maximum == .seconds(60))
        #expect(c.multiplier == 2)
        #expect(c.jitter == 0.2)
        #expect(c == Backoff.Configuration())
        #expect(Backoff().configuration == .default)
        #expect(Backoff().attempt == 0)
        #expect(Backoff.Configuration.fast.initial == .milliseconds(250))
        #expect(Backoff.Configuration.fast.maximum == .seconds(10))
    }

    /// The table in `Backoff`'s documentation: base, low end, high end.
    @Test(arguments: [
        (1, 1.0, 0.8, 1.2), (2, 2, 1.6, 2.4), (3, 4, 3.2, 4.8), (4, 8, 6.4, 9.6),
        (5, 16, 12.8, 19.2), (6, 32, 25.6, 38.4), (7, 60, 48, 60), (8, 60, 48, 60), (100, 60, 48, 60),
    ] as [(Int, Double, Double, Double)])
    func defaultTable(attempt: Int, base: Double, low: Double, high: Double) {
        let backoff = Backoff()
        #expect(Self.isClose(backoff.delay(forAttempt: attempt, unitRandom: 0.5), base))
        #expect(Self.isClose(backoff.delay(forAttempt: attempt, unitRandom: 0), low))
        let top = backoff.delay(forAttempt: attempt, unitRandom: 0.999_999_999)
        #expect(top <= .seconds(high))
        #expect(Self.isClose(top, high, tolerance: 1e-6))
    }

    @Test func capAppliesAfterJitter() {
        let backoff = Backoff()
        // Base 32 s · 1.2 = 38.4 s is under the cap; base 60 s · 1.2 would be 72 s.
        #expect(backoff.delay(forAttempt: 7, unitRandom: 0.99) == .seconds(60))
        #expect(backoff.delay(forAttempt: 7, unitRandom: 0.75) == .seconds(60))
        #expect(backoff.delay(forAttempt: 7, unitRandom: 0.25) < .seconds(60))
        // Attempt 6 base 32 s: jitter never pushes it over the cap (38.4 s max).
        #expect(backoff.delay(forAttempt: 6, unitRandom: 0.99) < .seconds(39))
    }

    @Test func jitterSpreadsLinearlyAroundTheBase() {
        let backoff = Backoff(.init(initial: .seconds(10), maximum: .seconds(1000), multiplier: 3, jitter: 0.5))
        #expect(Self.isClose(backoff.delay(forAttempt: 1, unitRandom: 0), 5))
        #expect(Self.isClose(backoff.delay(forAttempt: 1, unitRandom: 0.25), 7.5))
        #expect(Self.isClose(backoff.delay(forAttempt: 1, unitRandom: 0.5), 10))
        #expect(Self.isClose(backoff.delay(forAttempt: 2, unitRandom: 0.5), 30))
        #expect(Self.isClose(backoff.delay(forAttempt: 3, unitRandom: 0.75), 112.5))
    }

    @Test func withoutJitterRandomnessIsIgnored() {
        let backoff = Backoff(.init(initial: .milliseconds(100), maximum: .seconds(5), multiplier: 2, jitter: 0))
        for u in [0.0, 0.3, 0.5, 0.999] {
            #expect(Self.isClose(backoff.delay(forAttempt: 1, unitRandom: u), 0.1))
            #expect(Self.isClose(backoff.delay(forAttempt: 4, unitRandom: u), 0.8))
            #expect(backoff.delay(forAttempt: 10, unitRandom: u) == .seconds(5))
        }
    }

    @Test(arguments: [Int.min, -5, 0, 1])
    func attemptsBelowOneActAsOne(attempt: Int) {
        let backoff = Backoff()
        #expect(backoff.delay(forAttempt: attempt, unitRandom: 0.5) == backoff.delay(forAttempt: 1, unitRandom: 0.5))
    }

    @Test(arguments: [Backoff.Configuration.default, .fast,
                      .init(initial: .milliseconds(1), maximum: .seconds(3600), multiplier: 10, jitter: 1),
                      .init(initial: .seconds(1), maximum: .seconds(Int64.max), multiplier: 2, jitter: 0.2),
                      .init(initial: .seconds(5), maximum: .seconds(2), multiplier: 2, jitter: 0.5)])
    func neverNegativeNeverAboveMaximumForAnyAttempt(configuration: Backoff.Configuration) {
        let backoff = Backoff(configuration)
        let attempts = Array(1...200) + [1_000, 10_000, 1 << 40, Int.max - 1, Int.max, 0, -1, Int.min]
        let randoms: [Double] = [0, 0.25, 0.5, 0.75, 0.999_999, 1, -1, 2, .nan, .infinity, -.infinity]
        var previous = Duration.zero
        for attempt in attempts {
            for u in randoms {
                let d = backoff.delay(forAttempt: attempt, unitRandom: u)
                #expect(d >= .zero)
                #expect(d <= configuration.maximum, "attempt \(attempt), u \(u)")
            }
            if attempt >= 1 {
                let mid = backoff.delay(forAttempt: attempt, unitRandom: 0.5)
                #expect(mid >= previous, "base delays never shrink")
                previous = mid
            }
        }
    }

    @Test func outOfRangeConfigurationIsTolerated() {
        // multiplier < 1 acts as 1: constant delays.
        let flat = Backoff(.init(initial: .seconds(3), maximum: .seconds(60), multiplier: 0.5, jitter: 0))
        #expect(flat.delay(forAttempt: 10, unitRandom: 0.5) == .seconds(3))
        let nanMultiplier = Backoff(.init(initial: .seconds(3), maximum: .seconds(60), multiplier: .nan, jitter: 0))
        #expect(nanMultiplier.delay(forAttempt: 10, unitRandom: 0.5) == .seconds(3))
        // Negative durations act as zero.
        #expect(Backoff(.init(initial: .seconds(-1))).delay(forAttempt: 3, unitRandom: 0.9) == .zero)
        #expect(Backoff(.init(maximum: .seconds(-1))).delay(forAttempt: 3, unitRandom: 0.9) == .zero)
        #expect(Backoff(.init(initial: .zero)).delay(forAttempt: Int.max, unitRandom: 0.9) == .zero)
        // maximum < initial: everything is capped at maximum.
        let inverted = Backoff(.init(initial: .seconds(10), maximum: .seconds(2), jitter: 0))
        #expect(inverted.delay(forAttempt: 1, unitRandom: 0.5) == .seconds(2))
        // jitter is clamped into 0...1 (NaN acts as 0).
        let wild = Backoff(.init(initial: .seconds(4), maximum: .seconds(60), jitter: 5))
        #expect(wild.delay(forAttempt: 1, unitRandom: 0) == .zero)
        #expect(Self.isClose(wild.delay(forAttempt: 1, unitRandom: 0.75), 6))
        let negativeJitter = Backoff(.init(initial: .seconds(4), maximum: .seconds(60), jitter: -0.5))
        #expect(negativeJitter.delay(forAttempt: 1, unitRandom: 0) == .seconds(4))
        let nanJitter = Backoff(.init(initial: .seconds(4), maximum: .seconds(60), jitter: .nan))
        #expect(nanJitter.delay(forAttempt: 1, unitRandom: 0) == .seconds(4))
    }

    @Test func nextAdvancesAttemptsAndDrawsFromTheInjectedGenerator() {
        var backoff = Backoff()
        var rng = SeededRandomNumberGenerator(seed: 12)
        var mirror = SeededRandomNumberGenerator(seed: 12)
        for expectedAttempt in 1...20 {
            let d = backoff.next(using: &rng)
            #expect(backoff.attempt == expectedAttempt)
            let u = Double.random(in: 0..<1, using: &mirror)
            #expect(d == backoff.delay(forAttempt: expectedAttempt, unitRandom: u))
        }
        var again = Backoff()
        var rng2 = SeededRandomNumberGenerator(seed: 12)
        var rng3 = SeededRandomNumberGenerator(seed: 12)
        var other = Backoff()
        #expect((0..<10).map { _ in again.next(using: &rng2) } == (0..<10).map { _ in other.next(using: &rng3) })
    }

    @Test func resetStartsOver() {
        var backoff = Backoff(.init(jitter: 0))
        var rng = SeededRandomNumberGenerator(seed: 1)
        for _ in 0..<9 { _ = backoff.next(using: &rng) }
        #expect(backoff.attempt == 9)
        #expect(backoff.next(using: &rng) == .seconds(60))
        backoff.reset()
        #expect(backoff.attempt == 0)
        #expect(backoff.next(using: &rng) == .seconds(1))
        #expect(backoff.attempt == 1)
    }

    @Test func keepsProducingCappedDelaysForever() {
        var backoff = Backoff()
        var rng = SeededRandomNumberGenerator(seed: 9)
        for i in 1...10_000 {
            let d = backoff.next(using: &rng)
            #expect(d <= .seconds(60))
            if i >= 7 { #expect(d >= .seconds(48)) }
        }
        #expect(backoff.attempt == 10_000)
        backoff.attempt = Int.max - 1
        let a = backoff.next(using: &rng)
        #expect(backoff.attempt == Int.max)
        let b = backoff.next(using: &rng)
        #expect(backoff.attempt == Int.max, "saturates instead of overflowing")
        #expect(a >= .seconds(48) && a <= .seconds(60))
        #expect(b >= .seconds(48) && b <= .seconds(60))
    }

    @Test func jitterIsSpreadOverTheWholeRange() {
        var backoff = Backoff()
        var rng = SeededRandomNumberGenerator(seed: 77)
        var samples: [Double] = []
        for _ in 0..<4000 {
            backoff.attempt = 2
            samples.append(backoff.next(using: &rng).seconds)  // attempt 3: 3.2 … 4.8 s
        }
        let lo = samples.min() ?? 0, hi = samples.max() ?? 0
        let mean = samples.reduce(0, +) / Double(samples.count)
        #expect(lo >= 3.2 && lo < 3.25)
        #expect(hi <= 4.8 && hi > 4.75)
        #expect(abs(mean - 4) < 0.05)
        #expect(Set(samples).count > 3900, "delays differ from draw to draw")
    }

    @Test func systemRandomNextStaysInRange() {
        var backoff = Backoff(.fast)
        for attempt in 1...50 {
            let d = backoff.next()
            #expect(backoff.attempt == attempt)
            #expect(d >= .milliseconds(200) && d <= .seconds(10))
        }
    }
}
