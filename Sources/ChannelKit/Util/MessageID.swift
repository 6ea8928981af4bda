import Foundation

/// Outbound message ids of the form `msg-<ULID>`, e.g. `msg-01ARYZ6S41TSV4RRFFQ69G5FAV`:
/// unique, sortable by creation time (to the millisecond), and safe in URLs and logs.
public enum MessageID {
    /// The prefix of every message id.
    public static let prefix = "msg-"

    /// Makes an id for a message created at `now`, with randomness from `rng`.
    /// - Parameters:
    ///   - now: The creation time (from the injected ``TimeSource``), truncated to the ms.
    ///   - rng: The randomness source (e.g. ``SeededRandomNumberGenerator`` in tests).
    /// - Returns: `"msg-"` followed by the 26-character canonical ``ULID``.
    public static func make(now: Date, using rng: inout some RandomNumberGenerator) -> String {
        prefix + ULID(timestamp: now, using: &rng).description
    }

    /// Makes an id for a message created at `now`, using the system random generator.
    public static func make(now: Date) -> String {
        var rng = SystemRandomNumberGenerator()
        return make(now: now, using: &rng)
    }

    /// `true` iff `s` matches `^msg-[0-9A-HJ-NP-Z]{26}$` exactly.
    ///
    /// This is a format check: it is case-sensitive (upper case only), and like the
    /// pattern it admits `L` and `U` and a first character above `7`, which
    /// ``ULID/init(string:)`` rejects. Every id from ``make(now:using:)`` passes.
    public static func isValid(_ s: String) -> Bool {
        let utf8 = s.utf8
        guard utf8.count == prefix.utf8.count + 26, utf8.starts(with: prefix.utf8) else { return false }
        return utf8.dropFirst(prefix.utf8.count).allSatisfy { b in
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "H"),
                 UInt8(ascii: "J")...UInt8(ascii: "N"), UInt8(ascii: "P")...UInt8(ascii: "Z"):
                return true
            default:
                return false
            }
        }
    }
}
