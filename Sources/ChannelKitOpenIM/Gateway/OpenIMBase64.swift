/// Standard base64 (RFC 4648 §4, `+` `/`, `=` padding optional) straight from bytes, for
/// the envelope's `data` field: no intermediate `String` or `Data`.
enum OpenIMBase64 {
    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()
    private static let encodeTable: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Decodes `input`; `nil` when it is not base64 (a bad character, a wrong length, or
    /// misplaced padding).
    static func decode(_ input: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var n = input.count
        if n == 0 { return [] }
        var pad = 0
        while n > 0, input[n - 1] == UInt8(ascii: "=") { n -= 1; pad += 1 }
        guard pad <= 2, n % 4 != 1 else { return nil }
        if pad > 0, (n + pad) % 4 != 0 { return nil }
        var out = [UInt8]()
        out.reserveCapacity(n * 3 / 4)
        return decodeTable.withUnsafeBufferPointer { table -> [UInt8]? in
            var i = 0
            while i + 4 <= n {
                let a = table[Int(input[i])], b = table[Int(input[i + 1])], c = table[Int(input[i + 2])], d = table[Int(input[i + 3])]
                if (a | b | c | d) & 0xC0 != 0 { return nil }
                out.append(a << 2 | b >> 4)
                out.append(b << 4 | c >> 2)
                out.append(c << 6 | d)
                i += 4
            }
            let rest = n - i
            if rest == 2 {
                let a = table[Int(input[i])], b = table[Int(input[i + 1])]
                if (a | b) & 0xC0 != 0 { return nil }
                out.append(a << 2 | b >> 4)
            } else if rest == 3 {
                let a = table[Int(input[i])], b = table[Int(input[i + 1])], c = table[Int(input[i + 2])]
                if (a | b | c) & 0xC0 != 0 { return nil }
                out.append(a << 2 | b >> 4)
                out.append(b << 4 | c >> 2)
            }
            return out
        }
    }

    /// Decodes a string (the escaped-JSON fallback).
    static func decode(_ text: String) -> [UInt8]? {
        var copy = text
        return copy.withUTF8 { decode($0) }
    }

    /// Encodes with padding, appending to `out`.
    static func encode(_ bytes: [UInt8], into out: inout [UInt8]) {
        out.reserveCapacity(out.count + (bytes.count + 2) / 3 * 4)
        var i = 0
        let n = bytes.count
        while i + 3 <= n {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out.append(encodeTable[Int(v >> 18 & 63)]); out.append(encodeTable[Int(v >> 12 & 63)])
            out.append(encodeTable[Int(v >> 6 & 63)]); out.append(encodeTable[Int(v & 63)])
            i += 3
        }
        if n - i == 1 {
            let v = UInt32(bytes[i]) << 16
            out.append(encodeTable[Int(v >> 18 & 63)]); out.append(encodeTable[Int(v >> 12 & 63)])
            out.append(UInt8(ascii: "=")); out.append(UInt8(ascii: "="))
        } else if n - i == 2 {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out.append(encodeTable[Int(v >> 18 & 63)]); out.append(encodeTable[Int(v >> 12 & 63)])
            out.append(encodeTable[Int(v >> 6 & 63)]); out.append(UInt8(ascii: "="))
        }
    }
}
