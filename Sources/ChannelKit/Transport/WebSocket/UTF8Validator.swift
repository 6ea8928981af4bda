/// Checks UTF-8 incrementally, so a text message split into fragments can be checked as
/// each fragment arrives, with code points split across fragment boundaries.
///
/// Follows the well-formed byte sequences of Unicode §3.9 (table 3-7): rejects overlong
/// forms, surrogates (U+D800–U+DFFF), code points above U+10FFFF, stray continuation
/// bytes and the bytes C0, C1, F5–FF. Call ``isComplete`` at the end of the message to
/// reject a truncated final sequence.
struct UTF8Validator: Sendable, Hashable {
    /// Continuation bytes still expected for the current sequence.
    private var remaining: UInt8 = 0
    /// The allowed range of the next continuation byte.
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF

    /// `true` when no sequence is open (all bytes so far form whole code points).
    var isComplete: Bool { remaining == 0 }

    /// Checks the next bytes; returns `false` at the first ill-formed byte (the validator
    /// is then in an unspecified state).
    mutating func validate(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var i = 0
        while i < count {
            if remaining == 0 {
                // Fast path: skip ASCII 8 bytes at a time.
                while count - i >= 8, base.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                    i += 8
                }
                guard i < count else { break }
                let byte = base.load(fromByteOffset: i, as: UInt8.self)
                i += 1
                switch byte {
                case 0x00...0x7F: continue
                case 0xC2...0xDF: remaining = 1
                case 0xE0: remaining = 2; lower = 0xA0
                case 0xE1...0xEC, 0xEE...0xEF: remaining = 2
                case 0xED: remaining = 2; upper = 0x9F
                case 0xF0: remaining = 3; lower = 0x90
                case 0xF1...0xF3: remaining = 3
                case 0xF4: remaining = 3; upper = 0x8F
                default: return false
                }
            } else {
                let byte = base.load(fromByteOffset: i, as: UInt8.self)
                i += 1
                guard byte >= lower && byte <= upper else { return false }
                lower = 0x80
                upper = 0xBF
                remaining -= 1
            }
        }
        return true
    }

    /// Returns `true` if `bytes` is, on its own, well-formed UTF-8.
    static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var validator = UTF8Validator()
        return validator.validate(bytes) && validator.isComplete
    }
}
