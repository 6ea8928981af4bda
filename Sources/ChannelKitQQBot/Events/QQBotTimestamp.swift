import Foundation

/// Parses the RFC 3339 timestamps of QQ events (`2026-11-23T10:00:00+08:00`,
/// optional fraction, `Z` or `±HH:MM`) without a formatter: this runs once per message.
enum QQBotTimestamp {
    /// The date, or `nil` when `text` is not RFC 3339.
    static func parse(_ text: String) -> Date? {
        var copy = text
        return copy.withUTF8 { parse(bytes: $0) }
    }

    static func parse(bytes b: UnsafeBufferPointer<UInt8>) -> Date? {
        var c = Cursor(b: b)
        guard let year = c.number(4), c.take(0x2D), let month = c.number(2), c.take(0x2D), let day = c.number(2) else { return nil }
        guard c.i < b.count, b[c.i] == 0x54 || b[c.i] == 0x74 || b[c.i] == 0x20 else { return nil }
        c.i += 1
        guard let hour = c.number(2), c.take(0x3A), let minute = c.number(2), c.take(0x3A), let second = c.number(2) else { return nil }
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var fraction = 0.0
        if c.take(0x2E) {
            var scale = 0.1
            var any = false
            while c.i < b.count, b[c.i] >= 0x30, b[c.i] <= 0x39 {
                fraction += Double(b[c.i] - 0x30) * scale
                scale /= 10
                c.i += 1
                any = true
            }
            guard any else { return nil }
        }
        var offset = 0
        if c.take(0x5A) || c.take(0x7A) {
            offset = 0
        } else if c.i < b.count, b[c.i] == 0x2B || b[c.i] == 0x2D {
            let sign = b[c.i] == 0x2D ? -1 : 1
            c.i += 1
            guard let oh = c.number(2), c.take(0x3A), let om = c.number(2), oh < 24, om < 60 else { return nil }
            offset = sign * (oh * 3600 + om * 60)
        } else {
            return nil
        }
        guard c.i == b.count else { return nil }
        // Days from civil (Howard Hinnant), proleptic Gregorian.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        let unix = Double(days * 86400 + hour * 3600 + minute * 60 + second - offset) + fraction
        return Date(timeIntervalSince1970: unix)
    }

    private struct Cursor {
        let b: UnsafeBufferPointer<UInt8>
        var i = 0

        @inline(__always)
        mutating func number(_ count: Int) -> Int? {
            guard i + count <= b.count else { return nil }
            var v = 0
            for _ in 0..<count {
                let c = b[i]
                guard c >= 0x30 && c <= 0x39 else { return nil }
                v = v * 10 + Int(c - 0x30)
                i += 1
            }
            return v
        }

        @inline(__always)
        mutating func take(_ c: UInt8) -> Bool {
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }
    }
}
