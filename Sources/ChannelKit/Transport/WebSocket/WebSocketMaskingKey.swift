/// The 4-byte key a client XORs over every payload it sends (RFC 6455 §5.3).
public struct WebSocketMaskingKey: Sendable, Hashable, CustomStringConvertible {
    /// The key as a big-endian number: the first byte on the wire is the top byte.
    public let rawValue: UInt32

    /// Creates a key from its big-endian value (`0x37fa213d` is the wire bytes `37 fa 21 3d`).
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Creates a key from its four wire bytes, in order.
    public init(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8) {
        rawValue = UInt32(b0) << 24 | UInt32(b1) << 16 | UInt32(b2) << 8 | UInt32(b3)
    }

    /// Creates a key from exactly four bytes; `nil` for any other count.
    public init?(_ bytes: some Collection<UInt8>) {
        guard bytes.count == 4 else { return nil }
        var value: UInt32 = 0
        for byte in bytes { value = value << 8 | UInt32(byte) }
        rawValue = value
    }

    /// A key drawn from `rng` (use a cryptographically secure generator in production:
    /// RFC 6455 requires unpredictable keys).
    public static func random(using rng: inout some RandomNumberGenerator) -> WebSocketMaskingKey {
        WebSocketMaskingKey(rawValue: UInt32(truncatingIfNeeded: rng.next()))
    }

    /// The four wire bytes, in order.
    public var bytes: [UInt8] {
        [UInt8(truncatingIfNeeded: rawValue >> 24), UInt8(truncatingIfNeeded: rawValue >> 16),
         UInt8(truncatingIfNeeded: rawValue >> 8), UInt8(truncatingIfNeeded: rawValue)]
    }

    public var description: String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
    }

    /// XORs the key over `buffer` in place (masking and unmasking are the same
    /// operation), 8 bytes at a time. Byte `i` of the buffer uses key byte `i % 4`.
    public func apply(to buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress else { return }
        let count = buffer.count
        // The key's wire bytes in memory order, twice: `rawValue.bigEndian` lays out
        // b0 b1 b2 b3 on every host, and both halves are equal, so host byte order
        // cannot swap them.
        let half = UInt64(rawValue.bigEndian)
        let word = half | half << 32
        var i = 0
        while count - i >= 8 {
            let value = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            base.storeBytes(of: value ^ word, toByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < count {
            let shift = UInt32(24 - 8 * (i & 3))
            let keyByte = UInt8(truncatingIfNeeded: rawValue >> shift)
            base.storeBytes(of: base.load(fromByteOffset: i, as: UInt8.self) ^ keyByte, toByteOffset: i, as: UInt8.self)
            i += 1
        }
    }

    /// XORs the key over `bytes` in place.
    public func apply(to bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { apply(to: $0) }
    }
}
