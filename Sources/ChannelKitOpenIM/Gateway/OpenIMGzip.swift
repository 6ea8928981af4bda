/// gzip (RFC 1952) for the msg gateway's `compression=gzip` frames, without zlib: a
/// complete inflater (RFC 1951 stored, fixed and dynamic Huffman blocks) for what the
/// server sends, and stored (uncompressed) deflate blocks for what the client sends —
/// valid gzip that every decoder reads. Malformed input throws, never traps.
enum OpenIMGzip {
    struct Failure: Error, Sendable, CustomStringConvertible {
        let message: String
        var description: String { "gzip: \(message)" }
    }

    // MARK: CRC-32

    private static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    // MARK: Compress (stored blocks)

    /// `bytes` as a gzip member of stored deflate blocks.
    static func compress(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF]
        out.reserveCapacity(bytes.count + 18 + 5 * (bytes.count / 65_535 + 1))
        var start = 0
        repeat {
            let n = min(65_535, bytes.count - start)
            let final = start + n == bytes.count
            out.append(final ? 1 : 0)
            out.append(UInt8(n & 0xFF)); out.append(UInt8(n >> 8))
            out.append(UInt8(~n & 0xFF)); out.append(UInt8((~n >> 8) & 0xFF))
            out.append(contentsOf: bytes[start..<(start + n)])
            start += n
        } while start < bytes.count
        let crc = crc32(bytes), size = UInt32(truncatingIfNeeded: bytes.count)
        for v in [crc, size] { for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
        return out
    }

    // MARK: Decompress

    /// The content of the gzip member `bytes` (CRC and size checked).
    /// - Throws: ``Failure`` for a bad header, malformed deflate data, a checksum
    ///   mismatch, or output beyond `limit` bytes.
    static func decompress(_ bytes: [UInt8], limit: Int) throws(Failure) -> [UInt8] {
        guard bytes.count >= 18, bytes[0] == 0x1F, bytes[1] == 0x8B, bytes[2] == 8 else { throw Failure(message: "not a gzip member") }
        let flags = bytes[3]
        var pos = 10
        if flags & 4 != 0 {
            guard pos + 2 <= bytes.count else { throw Failure(message: "truncated FEXTRA") }
            pos += 2 + Int(bytes[pos]) | Int(bytes[pos + 1]) << 8
        }
        for flag in [UInt8(8), 16] where flags & flag != 0 {
            while pos < bytes.count, bytes[pos] != 0 { pos += 1 }
            pos += 1
        }
        if flags & 2 != 0 { pos += 2 }
        guard pos < bytes.count else { throw Failure(message: "truncated header") }
        var inflater = Inflater(bytes, at: pos, limit: limit)
        try inflater.run()
        let trailer = inflater.pos
        guard trailer + 8 <= bytes.count else { throw Failure(message: "truncated trailer") }
        func le32(_ i: Int) -> UInt32 { UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24 }
        guard le32(trailer) == crc32(inflater.out) else { throw Failure(message: "CRC mismatch") }
        guard le32(trailer + 4) == UInt32(truncatingIfNeeded: inflater.out.count) else { throw Failure(message: "size mismatch") }
        return inflater.out
    }

    private struct Huffman {
        var count = [Int](repeating: 0, count: 16)
        var symbol: [Int]

        /// Whether more codes were assigned than the lengths allow (a malformed table).
        var overSubscribed = false

        init(_ lengths: ArraySlice<Int>) throws(Failure) {
            self.init(unchecked: lengths)
            if overSubscribed { throw Failure(message: "over-subscribed code") }
        }

        init(unchecked lengths: ArraySlice<Int>) {
            symbol = [Int](repeating: 0, count: lengths.count)
            for l in lengths { count[l] += 1 }
            var left = 1
            for len in 1..<16 {
                left <<= 1
                left -= count[len]
                if left < 0 { overSubscribed = true }
            }
            var offs = [Int](repeating: 0, count: 16)
            for len in 1..<15 { offs[len + 1] = offs[len] + count[len] }
            for (i, l) in lengths.enumerated() where l != 0 {
                symbol[offs[l]] = i
                offs[l] += 1
            }
        }
    }

    private static let lbase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    private static let lext = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    private static let dbase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    private static let dext = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    /// puff-style inflater (one pass, bit at a time for codes).
    private struct Inflater {
        let input: [UInt8]
        var pos: Int
        let limit: Int
        var bitbuf: UInt32 = 0
        var bitcnt: UInt32 = 0
        var out: [UInt8] = []

        init(_ input: [UInt8], at pos: Int, limit: Int) {
            self.input = input
            self.pos = pos
            self.limit = limit
        }

        mutating func bits(_ need: UInt32) throws(Failure) -> Int {
            var val = bitbuf
            while bitcnt < need {
                guard pos < input.count else { throw Failure(message: "truncated deflate data") }
                val |= UInt32(input[pos]) << bitcnt
                pos += 1
                bitcnt += 8
            }
            bitbuf = need == 32 ? 0 : val >> need
            bitcnt -= need
            return Int(val & ((1 << need) - 1))
        }

        mutating func run() throws(Failure) {
            var last = false
            while !last {
                last = try bits(1) == 1
                switch try bits(2) {
                case 0: try stored()
                case 1: try codes(OpenIMGzip.fixedLength, OpenIMGzip.fixedDistance)
                case 2: try dynamic()
                default: throw Failure(message: "invalid block type")
                }
            }
        }

        mutating func stored() throws(Failure) {
            bitbuf = 0
            bitcnt = 0
            guard pos + 4 <= input.count else { throw Failure(message: "truncated stored block") }
            let len = Int(input[pos]) | Int(input[pos + 1]) << 8
            let nlen = Int(input[pos + 2]) | Int(input[pos + 3]) << 8
            pos += 4
            guard len == ~nlen & 0xFFFF else { throw Failure(message: "stored block length check failed") }
            guard pos + len <= input.count else { throw Failure(message: "truncated stored block") }
            guard out.count + len <= limit else { throw Failure(message: "output exceeds \(limit) bytes") }
            out.append(contentsOf: input[pos..<(pos + len)])
            pos += len
        }

        mutating func decode(_ h: Huffman) throws(Failure) -> Int {
            var code = 0, first = 0, index = 0
            for len in 1..<16 {
                code |= try bits(1)
                let count = h.count[len]
                if code - count < first { return h.symbol[index + (code - first)] }
                index += count
                first += count
                first <<= 1
                code <<= 1
            }
            throw Failure(message: "invalid Huffman code")
        }

        mutating func codes(_ lencode: Huffman, _ distcode: Huffman) throws(Failure) {
            while true {
                var symbol = try decode(lencode)
                if symbol < 256 {
                    guard out.count < limit else { throw Failure(message: "output exceeds \(limit) bytes") }
                    out.append(UInt8(symbol))
                    continue
                }
                if symbol == 256 { return }
                symbol -= 257
                guard symbol < 29 else { throw Failure(message: "invalid length symbol") }
                let len = OpenIMGzip.lbase[symbol] + (try bits(UInt32(OpenIMGzip.lext[symbol])))
                let dsym = try decode(distcode)
                guard dsym < 30 else { throw Failure(message: "invalid distance symbol") }
                let dist = OpenIMGzip.dbase[dsym] + (try bits(UInt32(OpenIMGzip.dext[dsym])))
                guard dist <= out.count else { throw Failure(message: "distance too far back") }
                guard out.count + len <= limit else { throw Failure(message: "output exceeds \(limit) bytes") }
                var from = out.count - dist
                for _ in 0..<len {
                    out.append(out[from])
                    from += 1
                }
            }
        }

        mutating func dynamic() throws(Failure) {
            let nlen = try bits(5) + 257, ndist = try bits(5) + 1, ncode = try bits(4) + 4
            guard nlen <= 286, ndist <= 30 else { throw Failure(message: "bad dynamic block counts") }
            let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
            var lengths = [Int](repeating: 0, count: 320)
            for i in 0..<ncode { lengths[order[i]] = try bits(3) }
            let lencode = try Huffman(lengths[0..<19])
            var index = 0
            while index < nlen + ndist {
                var symbol = try decode(lencode)
                if symbol < 16 {
                    lengths[index] = symbol
                    index += 1
                    continue
                }
                var len = 0
                if symbol == 16 {
                    guard index > 0 else { throw Failure(message: "repeat with no first length") }
                    len = lengths[index - 1]
                    symbol = 3 + (try bits(2))
                } else if symbol == 17 {
                    symbol = 3 + (try bits(3))
                } else {
                    symbol = 11 + (try bits(7))
                }
                guard index + symbol <= nlen + ndist else { throw Failure(message: "too many lengths") }
                for _ in 0..<symbol {
                    lengths[index] = len
                    index += 1
                }
            }
            guard lengths[256] != 0 else { throw Failure(message: "no end-of-block code") }
            let litlen = try Huffman(lengths[0..<nlen])
            let dist = try Huffman(lengths[nlen..<(nlen + ndist)])
            try codes(litlen, dist)
        }
    }

    private static let fixedLength: Huffman = {
        var lengths = [Int](repeating: 8, count: 288)
        for i in 144..<256 { lengths[i] = 9 }
        for i in 256..<280 { lengths[i] = 7 }
        return Huffman(unchecked: lengths[0..<288])
    }()

    private static let fixedDistance: Huffman = {
        Huffman(unchecked: [Int](repeating: 5, count: 30)[0..<30])
    }()
}
