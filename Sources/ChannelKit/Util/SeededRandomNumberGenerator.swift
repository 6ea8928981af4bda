/// A small, fast, deterministic random number generator (SplitMix64) for tests and for
/// injecting reproducible jitter.
///
/// The same seed always yields the same sequence, on every platform. It is **not**
/// cryptographically secure: never use it for tokens, nonces or anything an attacker
/// must not predict. Use `SystemRandomNumberGenerator` for those.
///
/// ```swift
/// var rng = SeededRandomNumberGenerator(seed: 42)
/// let delay = backoff.next(using: &rng)      // same delay on every run
/// let id = MessageID.make(now: date, using: &rng)
/// ```
///
/// Algorithm: SplitMix64 (Steele, Lea & Flood, 2014; the seeding generator of
/// xoshiro). Every seed, including `0`, is valid.
public struct SeededRandomNumberGenerator: RandomNumberGenerator, Sendable {
    /// The internal 64-bit state; advances by a fixed odd constant on every call.
    private var state: UInt64

    /// Creates a generator whose sequence is fully determined by `seed`.
    /// - Parameter seed: Any 64-bit value (`0` is fine).
    public init(seed: UInt64) {
        self.state = seed
    }

    /// Returns the next 64 random bits of the sequence.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
