import Foundation

/// A Universally Unique Lexicographically Sortable Identifier
/// (<https://github.com/ulid/spec>): 128 bits written as 26 Crockford base32 characters.
///
/// - The first 10 characters are the 48-bit big-endian timestamp in milliseconds since
///   1970-01-01T00:00:00Z; the last 16 are 80 random bits.
/// - ULIDs order by (timestamp, random bits), which is also the order of their strings.
///   Two ULIDs made in the same millisecond are ordered by their random bits, not by
///   creation order (this type does not implement the spec's optional monotonic mode).
///
/// Parsing (``init(string:)``) accepts upper and lower case, and rejects the Crockford
/// aliases `I`, `L`, `O` and `U` (no aliasing: one ULID has exactly one canonical
/// string), any length other than 26, and a first character above `7` (the value would
/// exceed 128 bits). ``description`` is the canonical upper-case form.
///
/// Encodes in `Codable` as its canonical string.
public struct ULID: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    /// The 128-bit value: timestamp in the top 48 bits, randomness in the low 80.
    let value: UInt128

    /// The largest timestamp a ULID holds: 2^48 − 1 ms (year 10889).
    public static let maximumMilliseconds: UInt64 = (1 << 48) - 1

    /// The Crockford base32 alphabet, in value order.
    static let alphabet: [UInt8] = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    /// Creates a ULID from its parts.
    /// - Parameters:
    ///   - milliseconds: Milliseconds since 1970; values above ``maximumMilliseconds``
    ///     are clamped to it.
    ///   - randomHigh: The top 16 of the 80 random bits.
    ///   - randomLow: The low 64 of the 80 random bits.
    init(milliseconds: UInt64, randomHigh: UInt16, randomLow: UInt64) {
        let ms = min(milliseconds, Self.maximumMilliseconds)
        value = (UInt128(ms) << 80) | (UInt128(randomHigh) << 64) | UInt128(randomLow)
    }

    /// Creates a ULID for `timestamp` with 80 bits drawn from `rng`.
    /// - Parameters:
    ///   - timestamp: Truncated to the millisecond (a date made from whole milliseconds
    ///     maps back to exactly those, despite `Date`'s floating-point storage). Times
    ///     before 1970 (and non-finite times) are clamped to
    ///     1970-01-01T00:00:00Z, times after year 10889 to ``maximumMilliseconds``.
    ///   - rng: The randomness source (e.g. ``SeededRandomNumberGenerator`` in tests).
    public init(timestamp: Date, using rng: inout some RandomNumberGenerator) {
        let low = rng.next()
        let high = UInt16(truncatingIfNeeded: rng.next())
        self.init(milliseconds: Self.milliseconds(of: timestamp), randomHigh: high, randomLow: low)
    }

    /// Creates a ULID for `timestamp` with 80 bits from `SystemRandomNumberGenerator`.
    /// - Parameter timestamp: Truncated to the millisecond (see
    ///   ``init(timestamp:using:)`` for clamping).
    public init(timestamp: Date) {
        var rng = SystemRandomNumberGenerator()
        self.init(timestamp: timestamp, using: &rng)
    }

    /// Parses a 26-character ULID string (case-insensitive). Returns `nil` for any other
    /// length, a character outside the Crockford alphabet (including the aliases `I`,
    /// `L`, `O`, `U`), or a first character above `7`.
    public init?(string: String) {
        let utf8 = string.utf8
        guard utf8.count == 26 else { return nil }
        var v: UInt128 = 0
        for (i, byte) in utf8.enumerated() {
            guard let digit = Self.digitValue(byte) else { return nil }
            if i == 0, digit > 7 { return nil }
            v = (v << 5) | UInt128(digit)
        }
        value = v
    }

    /// Milliseconds since 1970 stored in the ULID (0 … ``maximumMilliseconds``).
    public var milliseconds: UInt64 { UInt64(truncatingIfNeeded: value >> 80) }

    /// The ULID's time, at millisecond precision.
    public var timestamp: Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    /// The canonical 26-character upper-case string.
    public var description: String {
        var chars = [UInt8](repeating: 0, count: 26)
        var v = value
        for i in stride(from: 25, through: 0, by: -1) {
            chars[i] = Self.alphabet[Int(truncatingIfNeeded: v & 0x1F)]
            v >>= 5
        }
        return String(decoding: chars, as: UTF8.self)
    }

    public static func < (lhs: ULID, rhs: ULID) -> Bool { lhs.value < rhs.value }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let ulid = ULID(string: try container.decode(String.self)) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a ULID")
        }
        self = ulid
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    // MARK: Helpers

    /// Whole milliseconds since 1970, truncated, clamped to `0 … maximumMilliseconds`.
    ///
    /// `Date` is a `Double` of seconds since 2001, so a date made from `ms / 1000` may
    /// read back a hair below `ms`; values within a few ulps (at least 1 µs) of the next
    /// whole millisecond count as that millisecond, so such dates map back to `ms`.
    static func milliseconds(of date: Date) -> UInt64 {
        let x = date.timeIntervalSince1970 * 1000
        guard x.isFinite, x > 0 else { return 0 }
        let nearest = x.rounded()
        let tolerance = Swift.max(8 * x.ulp, 0.001)
        let ms = abs(x - nearest) <= tolerance ? nearest : x.rounded(.down)
        guard ms < Double(maximumMilliseconds) else { return maximumMilliseconds }
        return UInt64(ms)
    }

    /// The value of a Crockford base32 digit (either case), or `nil`.
    static func digitValue(_ byte: UInt8) -> UInt8? {
        var b = byte
        if b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z") { b -= 32 }
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "H"): return b - UInt8(ascii: "A") + 10       // A–H: 10–17
        case UInt8(ascii: "J"), UInt8(ascii: "K"): return b - UInt8(ascii: "J") + 18        // J K: 18 19
        case UInt8(ascii: "M"), UInt8(ascii: "N"): return b - UInt8(ascii: "M") + 20        // M N: 20 21
        case UInt8(ascii: "P")...UInt8(ascii: "T"): return b - UInt8(ascii: "P") + 22       // P–T: 22–26
        case UInt8(ascii: "V")...UInt8(ascii: "Z"): return b - UInt8(ascii: "V") + 27       // V–Z: 27–31
        default: return nil
        }
    }
}
