/// A forward-only JSON reader over UTF-8 bytes for the hot inbound shapes of every
/// platform (QQ gateway dispatches, Feishu events, OpenIM envelopes and message
/// content): it reads the members it is asked for straight into Swift values and
/// validates-and-skips the rest, without building a tree.
///
/// Every read is bounds-checked; malformed input throws ``Failure`` (never traps). The
/// buffer must outlive the scanner (use it inside `String.withUTF8` or
/// `withUnsafeBufferPointer`). Keep `JSONDecoder` for cold paths (config, REST replies);
/// decoders built on this scanner carry a differential test against `JSONDecoder`.
///
/// `package` access: shared by the adapter modules of this package, not public API.
package struct JSONScanner {
    /// Why the bytes are not the expected JSON.
    package struct Failure: Error, Sendable, CustomStringConvertible {
        package let offset: Int
        package let reason: String
        package var description: String { "\(reason) at byte \(offset)" }
    }

    /// A member name: the range of its raw bytes (between the quotes), and whether it
    /// contains escapes (then ``matches(_:_:)`` decodes it, rarely).
    package struct Key {
        package let start: Int
        package let count: Int
        package let escaped: Bool
    }

    package let bytes: UnsafeBufferPointer<UInt8>
    package private(set) var index: Int
    private static let maximumDepth = 128

    package init(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int = 0) {
        self.bytes = bytes
        self.index = start
    }

    // MARK: Basics

    @inline(__always)
    package mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    @inline(__always)
    package mutating func peek() -> UInt8? {
        skipWhitespace()
        return index < bytes.count ? bytes[index] : nil
    }

    package func fail(_ reason: String) -> Failure { Failure(offset: index, reason: reason) }

    @inline(__always)
    package mutating func expect(_ byte: UInt8) throws(Failure) {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else {
            throw fail("expected '\(Character(Unicode.Scalar(byte)))'")
        }
        index += 1
    }

    /// Only whitespace may follow the top-level value.
    package mutating func expectEnd() throws(Failure) {
        skipWhitespace()
        if index != bytes.count { throw fail("unexpected bytes after the JSON value") }
    }

    // MARK: Objects and arrays

    /// Consumes `{`.
    package mutating func beginObject() throws(Failure) { try expect(UInt8(ascii: "{")) }

    /// The next member name (the `:` after it consumed), or `nil` at `}` (consumed).
    /// `first` tracks whether a `,` is needed; start with `true`.
    package mutating func nextKey(_ first: inout Bool) throws(Failure) -> Key? {
        guard let b = peek() else { throw fail("unterminated object") }
        if b == UInt8(ascii: "}") {
            index += 1
            return nil
        }
        if !first {
            guard b == UInt8(ascii: ",") else { throw fail("expected ',' or '}'") }
            index += 1
            skipWhitespace()
            // A trailing comma is tolerated, as Foundation's JSON parser does.
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return nil
            }
        }
        first = false
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a member name") }
        let start = index + 1
        var i = start
        var escaped = false
        while true {
            guard i < bytes.count else { throw fail("unterminated member name") }
            let c = bytes[i]
            if c == UInt8(ascii: "\"") { break }
            if c == UInt8(ascii: "\\") { escaped = true; i += 2; continue }
            if c < 0x20 { index = i; throw fail("control character in a string") }
            i += 1
        }
        if escaped {
            // Validate the escapes now; the text is decoded again only if compared.
            _ = try readString()
        } else {
            index = i + 1
        }
        let key = Key(start: start, count: i - start, escaped: escaped)
        try expect(UInt8(ascii: ":"))
        return key
    }

    /// Whether `key` is `name` (ASCII).
    @inline(__always)
    package func matches(_ key: Key, _ name: StaticString) -> Bool {
        if key.escaped { return decodedName(key).utf8.elementsEqual(UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)) }
        guard key.count == name.utf8CodeUnitCount else { return false }
        let p = name.utf8Start
        for j in 0..<key.count where bytes[key.start + j] != p[j] { return false }
        return true
    }

    /// The decoded text of an escaped member name.
    package func decodedName(_ key: Key) -> String {
        var again = JSONScanner(bytes, from: key.start - 1)
        return (try? again.readString()) ?? ""
    }

    /// The length in UTF-8 bytes of a member name once decoded.
    package func nameLength(_ key: Key) -> Int {
        key.escaped ? decodedName(key).utf8.count : key.count
    }

    /// Consumes `[`; returns `false` (consuming `]`) when the array is empty.
    package mutating func beginArray() throws(Failure) -> Bool {
        try expect(UInt8(ascii: "["))
        if peek() == UInt8(ascii: "]") { index += 1; return false }
        return true
    }

    /// After an element: `true` if another follows (`,` consumed), `false` at `]`.
    package mutating func nextElement() throws(Failure) -> Bool {
        guard let b = peek() else { throw fail("unterminated array") }
        index += 1
        if b == UInt8(ascii: ",") {
            // A trailing comma is tolerated, as Foundation's JSON parser does.
            if peek() == UInt8(ascii: "]") { index += 1; return false }
            return true
        }
        if b == UInt8(ascii: "]") { return false }
        index -= 1
        throw fail("expected ',' or ']'")
    }

    /// `true` (and consumes it) when the next value is `null`.
    package mutating func consumeNull() throws(Failure) -> Bool {
        guard peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    private mutating func literal(_ text: StaticString) throws(Failure) {
        let n = text.utf8CodeUnitCount
        guard index + n <= bytes.count else { throw fail("truncated literal") }
        let p = text.utf8Start
        for j in 0..<n where bytes[index + j] != p[j] { throw fail("invalid literal") }
        index += n
    }

    // MARK: Values

    /// A string value.
    package mutating func readString() throws(Failure) -> String {
        try expect(UInt8(ascii: "\""))
        let start = index
        var i = start
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                index = i + 1
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { index = i; throw fail("control character in a string") }
            i += 1
        }
        guard i < bytes.count else { throw fail("unterminated string") }
        // Slow path: escapes.
        var out: [UInt8] = Array(UnsafeBufferPointer(rebasing: bytes[start..<i]))
        index = i
        while true {
            guard index < bytes.count else { throw fail("unterminated string") }
            let c = bytes[index]
            if c == UInt8(ascii: "\"") { index += 1; break }
            if c < 0x20 { throw fail("control character in a string") }
            if c != UInt8(ascii: "\\") { out.append(c); index += 1; continue }
            guard index + 1 < bytes.count else { throw fail("unterminated escape") }
            let e = bytes[index + 1]
            index += 2
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw fail("unpaired surrogate")
                    }
                    index += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw fail("unpaired surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw fail("unpaired surrogate")
                }
                guard let u = Unicode.Scalar(scalar) else { throw fail("invalid escape") }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default:
                throw fail("invalid escape")
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - 0x30)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - 0x61 + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - 0x41 + 10)
            default: throw fail("invalid \\u escape")
            }
            v = v << 4 | d
            index += 1
        }
        return v
    }

    /// A string value as found: its raw byte range when it has no escapes (the common
    /// case, no allocation), or its decoded text.
    package enum StringValue {
        case raw(Range<Int>)
        case decoded(String)
    }

    /// Reads a string value without building a `String` when it has no escapes.
    package mutating func readStringValue() throws(Failure) -> StringValue {
        try expect(UInt8(ascii: "\""))
        let start = index
        var i = start
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                index = i + 1
                return .raw(start..<i)
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { index = i; throw fail("control character in a string") }
            i += 1
        }
        index = start - 1
        return .decoded(try readString())
    }

    /// A string or `null`.
    package mutating func readOptionalString() throws(Failure) -> String? {
        if try consumeNull() { return nil }
        return try readString()
    }

    /// An integer (no fraction, no exponent, fits in `Int`).
    package mutating func readInt() throws(Failure) -> Int {
        skipWhitespace()
        let start = index
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { negative = true; index += 1 }
        var value = 0
        var digits = 0
        while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
            let d = Int(bytes[index] - 0x30)
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = negative ? m.subtractingReportingOverflow(d) : m.addingReportingOverflow(d)
            if o1 || o2 { index = start; throw fail("integer out of range") }
            value = a
            digits += 1
            index += 1
        }
        if digits == 0 { index = start; throw fail("expected an integer") }
        if digits > 1 && bytes[start + (negative ? 1 : 0)] == 0x30 { index = start; throw fail("leading zero") }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") || bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            // `1.0`, `1e2`: accepted when integral, as JSONDecoder does.
            index = start
            try skipNumber()
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            guard let d = Double(text), let i = Int(exactly: d) else { index = start; throw fail("expected an integer") }
            return i
        }
        return value
    }

    /// An integer or `null`.
    package mutating func readOptionalInt() throws(Failure) -> Int? {
        if try consumeNull() { return nil }
        return try readInt()
    }

    /// `true` or `false`.
    package mutating func readBool() throws(Failure) -> Bool {
        switch peek() {
        case UInt8(ascii: "t"): try literal("true"); return true
        case UInt8(ascii: "f"): try literal("false"); return false
        default: throw fail("expected true or false")
        }
    }

    /// A boolean or `null`.
    package mutating func readOptionalBool() throws(Failure) -> Bool? {
        if try consumeNull() { return nil }
        return try readBool()
    }

    /// Validates and skips one value of any type; returns its byte range.
    @discardableResult
    package mutating func skipValue(depth: Int = 0) throws(Failure) -> Range<Int> {
        guard depth < Self.maximumDepth else { throw fail("nesting too deep") }
        guard let b = peek() else { throw fail("expected a value") }
        let start = index
        switch b {
        case UInt8(ascii: "\""):
            _ = try skipString()
        case UInt8(ascii: "{"):
            index += 1
            var first = true
            while try nextKey(&first) != nil { try skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            if try beginArray() {
                repeat { try skipValue(depth: depth + 1) } while try nextElement()
            }
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try skipNumber()
        default:
            throw fail("unexpected character")
        }
        return start..<index
    }

    private mutating func skipString() throws(Failure) -> Bool {
        index += 1
        while index < bytes.count {
            let c = bytes[index]
            if c == UInt8(ascii: "\"") { index += 1; return true }
            if c < 0x20 { throw fail("control character in a string") }
            if c == UInt8(ascii: "\\") {
                guard index + 1 < bytes.count else { throw fail("unterminated escape") }
                let e = bytes[index + 1]
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 2
                case UInt8(ascii: "u"):
                    index += 2
                    _ = try hex4()
                default:
                    throw fail("invalid escape")
                }
                continue
            }
            index += 1
        }
        throw fail("unterminated string")
    }

    /// JSON number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    private mutating func skipNumber() throws(Failure) {
        func digit(_ i: Int) -> Bool { i < bytes.count && bytes[i] >= 0x30 && bytes[i] <= 0x39 }
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard digit(index) else { throw fail("invalid number") }
        if bytes[index] == 0x30 { index += 1 } else { while digit(index) { index += 1 } }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digit(index) else { throw fail("invalid number") }
            while digit(index) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digit(index) else { throw fail("invalid number") }
            while digit(index) { index += 1 }
        }
    }
}
