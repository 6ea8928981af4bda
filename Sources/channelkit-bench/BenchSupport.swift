import Foundation

/// Monotonic nanoseconds for benchmark timing (the benchmark measures real time on
/// purpose; library code never reads the clock directly).
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Runs `body` `repeats` times and returns the best (smallest) nanoseconds.
func best(of repeats: Int, _ body: () async throws -> UInt64) async rethrows -> UInt64 {
    var bestNanos = UInt64.max
    for _ in 0..<repeats { bestNanos = min(bestNanos, try await body()) }
    return bestNanos
}

func report(_ name: String, _ value: String) {
    say("\(name.padding(toLength: 58, withPad: " ", startingAt: 0)) \(value)")
}

func format(_ value: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }

/// Writes a line to standard output unbuffered, so figures appear even if a later
/// section is interrupted.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
