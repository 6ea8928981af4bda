import Testing
@testable import ChannelKit

@Suite struct SHA1Tests {
    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// FIPS 180 (SHA-1) example messages and digests.
    @Test(arguments: [
        ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "a49b2446a02c645bf419f995b67091253a04a259"),
        ("The quick brown fox jumps over the lazy dog", "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"),
    ])
    func fipsVectors(message: String, digest: String) {
        #expect(Self.hex(SHA1.hash(Array(message.utf8))) == digest)
        // The non-contiguous path (a lazy sequence) gives the same digest.
        #expect(Self.hex(SHA1.hash(message.utf8.lazy.map { $0 })) == digest)
    }

    @Test func oneMillionAs() {
        let digest = "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
        #expect(Self.hex(SHA1.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))) == digest)
        #expect(Self.hex(SHA1.hash(repeatElement(UInt8(ascii: "a"), count: 1_000_000))) == digest)
    }

    /// Lengths around the 55/56/64-byte padding boundaries, checked against the
    /// contiguous path fed in one go versus a lazy byte-by-byte sequence.
    @Test(arguments: [55, 56, 57, 63, 64, 65, 119, 120, 128])
    func paddingBoundariesAgreeAcrossPaths(count: Int) {
        let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        #expect(SHA1.hash(bytes) == SHA1.hash(bytes.lazy.map { $0 }))
        #expect(SHA1.hash(bytes).count == 20)
    }

    @Test func knownBoundaryDigests() {
        // 64 × 'a' (one full block before padding) and 55 × 'a' (padding fits one block).
        #expect(Self.hex(SHA1.hash(Array(repeating: UInt8(ascii: "a"), count: 64))) == "0098ba824b5c16427bd7a1122a5a442a25ec644d")
        #expect(Self.hex(SHA1.hash(Array(repeating: UInt8(ascii: "a"), count: 55))) == "c1c8bbdc22796e28c0e15163d20899b65621d65a")
    }

    @Test func rfc6455AcceptExample() {
        #expect(WebSocketHandshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }
}
