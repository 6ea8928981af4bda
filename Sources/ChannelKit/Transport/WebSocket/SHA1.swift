/// SHA-1 (FIPS 180-4), for the WebSocket handshake's `Sec-WebSocket-Accept` only.
///
/// Foundation on Linux has no SHA-1 (no CryptoKit or CommonCrypto), so ChannelKit carries
/// this small implementation. SHA-1 is broken for collision resistance: never use it for
/// signatures or integrity checks. RFC 6455 uses it only to prove that the server read
/// the client's key.
enum SHA1 {
    /// The digest size in bytes (160 bits).
    static let digestCount = 20

    /// Returns the 20-byte SHA-1 digest of `bytes`.
    static func hash(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        var state = State()
        let contiguous = bytes.withContiguousStorageIfAvailable { state.update($0) } != nil
        if !contiguous {
            var block: [UInt8] = []
            block.reserveCapacity(64)
            for byte in bytes {
                block.append(byte)
                if block.count == 64 {
                    block.withUnsafeBufferPointer { state.update($0) }
                    block.removeAll(keepingCapacity: true)
                }
            }
            block.withUnsafeBufferPointer { state.update($0) }
        }
        return state.finalize()
    }

    /// The running hash state: five 32-bit words, a partial block and the length so far.
    private struct State {
        var h: (UInt32, UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)
        /// Bytes of an incomplete 64-byte block.
        var pending: [UInt8] = []
        /// Total message length in bytes.
        var length: UInt64 = 0

        mutating func update(_ input: UnsafeBufferPointer<UInt8>) {
            length &+= UInt64(input.count)
            var index = 0
            if !pending.isEmpty {
                let take = min(64 - pending.count, input.count)
                pending.append(contentsOf: input[0..<take])
                index = take
                guard pending.count == 64 else { return }
                let block = pending
                block.withUnsafeBufferPointer { compress(UnsafeRawBufferPointer($0)) }
                pending.removeAll(keepingCapacity: true)
            }
            let raw = UnsafeRawBufferPointer(input)
            while input.count - index >= 64 {
                compress(UnsafeRawBufferPointer(rebasing: raw[index..<(index + 64)]))
                index += 64
            }
            if index < input.count { pending.append(contentsOf: input[index...]) }
        }

        mutating func finalize() -> [UInt8] {
            let bitLength = length &* 8
            var tail = pending
            tail.append(0x80)
            while tail.count % 64 != 56 { tail.append(0) }
            for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
            tail.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    compress(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + 64)]))
                    offset += 64
                }
            }
            var digest: [UInt8] = []
            digest.reserveCapacity(SHA1.digestCount)
            for word in [h.0, h.1, h.2, h.3, h.4] {
                digest.append(UInt8(truncatingIfNeeded: word >> 24))
                digest.append(UInt8(truncatingIfNeeded: word >> 16))
                digest.append(UInt8(truncatingIfNeeded: word >> 8))
                digest.append(UInt8(truncatingIfNeeded: word))
            }
            return digest
        }

        /// Processes one 64-byte block.
        mutating func compress(_ block: UnsafeRawBufferPointer) {
            var w = [UInt32](repeating: 0, count: 80)
            for t in 0..<16 {
                w[t] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: t * 4, as: UInt32.self))
            }
            for t in 16..<80 {
                w[t] = rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1)
            }
            var (a, b, c, d, e) = h
            for t in 0..<80 {
                let f: UInt32, k: UInt32
                switch t {
                case 0..<20: f = (b & c) | (~b & d); k = 0x5A82_7999
                case 20..<40: f = b ^ c ^ d; k = 0x6ED9_EBA1
                case 40..<60: f = (b & c) | (b & d) | (c & d); k = 0x8F1B_BCDC
                default: f = b ^ c ^ d; k = 0xCA62_C1D6
                }
                let temp = rotl(a, 5) &+ f &+ e &+ k &+ w[t]
                e = d
                d = c
                c = rotl(b, 30)
                b = a
                a = temp
            }
            h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e)
        }

        @inline(__always) func rotl(_ x: UInt32, _ n: UInt32) -> UInt32 { (x << n) | (x >> (32 - n)) }
    }
}
