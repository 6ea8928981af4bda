import Foundation
import Testing
import ChannelKit
@testable import ChannelKitOpenIM
import ChannelKitTesting

/// The gzip codec against Python's zlib (an independent implementation): its dynamic- and
/// fixed-Huffman output inflates here, our stored-block output inflates there.
@Suite("OpenIM gzip against Python's zlib", .serialized)
struct OpenIMGzipTests {
    static let script = """
    import base64, gzip, random, sys, zlib
    if sys.argv[1] == "make":
        rnd = random.Random(7)
        cases = [b"", b"a", b'{"reqIdentifier":2001,"data":"AAAA"}' * 40, bytes(rnd.randrange(256) for _ in range(3000)),
                 ("hello openim " * 500).encode(), bytes(rnd.randrange(4) for _ in range(70000))]
        for i, data in enumerate(cases):
            for level in (0, 1, 9):
                print(base64.b64encode(data).decode(), base64.b64encode(gzip.compress(data, compresslevel=level)).decode())
            # Fixed Huffman only (Z_FIXED), raw deflate wrapped by hand as gzip.
            c = zlib.compressobj(6, zlib.DEFLATED, 31, 8, zlib.Z_FIXED)
            print(base64.b64encode(data).decode(), base64.b64encode(c.compress(data) + c.flush()).decode())
    else:
        for line in open(sys.argv[2]):
            plain, gz = line.rstrip().split(" ")
            assert gzip.decompress(base64.b64decode(gz)) == base64.b64decode(plain)
            print("ok")
    """

    func python(_ arguments: [String]) async throws -> [String] {
        let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", Self.script] + arguments)
        var lines: [String] = []
        while let line = await child.nextLine() { lines.append(line) }
        #expect(await child.waitForExit() == 0)
        return lines
    }

    @Test func inflatesZlibOutputAndZlibInflatesOurs() async throws {
        let lines = try await python(["make"])
        #expect(lines.count == 24)
        var ours: [String] = []
        for line in lines {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            let plain = [UInt8](Data(base64Encoded: parts[0]) ?? Data([1]))
            let gz = [UInt8](Data(base64Encoded: parts[1]) ?? Data())
            #expect(try OpenIMGzip.decompress(gz, limit: 1 << 20) == plain)
            ours.append(parts[0] + " " + Data(OpenIMGzip.compress(plain)).base64EncodedString())
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("openim-gzip-\(UUID().uuidString).txt")
        try Data((ours.joined(separator: "\n") + "\n").utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let verdicts = try await python(["check", file.path])
        #expect(verdicts == Array(repeating: "ok", count: lines.count))
    }

    @Test func malformedGzipThrowsAndTheLimitHolds() throws {
        let good = OpenIMGzip.compress(Array("hello".utf8))
        #expect(try OpenIMGzip.decompress(good, limit: 100) == Array("hello".utf8))
        #expect(throws: OpenIMGzip.Failure.self) { try OpenIMGzip.decompress(good, limit: 3) }
        var badCRC = good
        badCRC[badCRC.count - 6] ^= 0xFF
        #expect(throws: OpenIMGzip.Failure.self) { try OpenIMGzip.decompress(badCRC, limit: 100) }
        var rng = SeededRandomNumberGenerator(seed: 17)
        let sample = OpenIMGzip.compress((0..<300).map { UInt8($0 % 7) })
        for _ in 0..<5000 {
            var bytes = sample
            for _ in 0..<2 { bytes[Int.random(in: 10..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            _ = try? OpenIMGzip.decompress(bytes, limit: 1 << 16)
            let random = (0..<Int.random(in: 0..<80, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = try? OpenIMGzip.decompress([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF] + random, limit: 1 << 16)
        }
    }
}
