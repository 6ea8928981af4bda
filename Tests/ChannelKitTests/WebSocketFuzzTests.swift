import Foundation
import Testing
@testable import ChannelKit

/// Random input never crashes the decoder; it either yields events, waits, or throws a
/// violation with one of the three codes the codec uses.
@Suite struct WebSocketFuzzTests {
    static let allowedCodes: Set<WebSocketCloseCode> = [.protocolError, .invalidFramePayloadData, .messageTooBig]

    @Test(arguments: [WebSocketRole.client, .server])
    func randomBytesNeverCrash(role: WebSocketRole) {
        var rng = SeededRandomNumberGenerator(seed: role == .client ? 1 : 2)
        for _ in 0..<5000 {
            let count = Int.random(in: 0...64, using: &rng)
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var decoder = WebSocketEventDecoder(role: role, maxFrameSize: 1 << 16, maxMessageSize: 1 << 16)
            for chunk in WS.randomChunks(bytes, maxChunk: 8, using: &rng) {
                decoder.feed(chunk)
                do {
                    while try decoder.nextEvent() != nil {}
                } catch {
                    #expect(Self.allowedCodes.contains(error.closeCode))
                    break
                }
            }
        }
    }

    /// Structured fuzz: valid-looking frames with random header bits, lengths and
    /// payloads, so the decoder gets past the first byte more often.
    @Test(arguments: [WebSocketRole.client, .server])
    func mutatedFramesNeverCrash(role: WebSocketRole) {
        var rng = SeededRandomNumberGenerator(seed: role == .client ? 3 : 4)
        let peer: WebSocketRole = role == .client ? .server : .client
        for _ in 0..<3000 {
            var encoder = WebSocketFrameEncoder(role: peer, maskingKeyGenerator: SeededRandomNumberGenerator(seed: rng.next()))
            var stream: [UInt8] = []
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                let opcode = WebSocketOpcode.allCases[Int.random(in: 0..<WebSocketOpcode.allCases.count, using: &rng)]
                let size = Int.random(in: 0...(opcode.isControl ? 125 : 300), using: &rng)
                let payload = (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
                encoder.encodeFrame(opcode: opcode, fin: Bool.random(using: &rng) || opcode.isControl, payload: payload, into: &stream)
            }
            // Flip a few random bits.
            for _ in 0..<Int.random(in: 0...3, using: &rng) where !stream.isEmpty {
                let i = Int.random(in: 0..<stream.count, using: &rng)
                stream[i] ^= 1 << UInt8.random(in: 0...7, using: &rng)
            }
            var decoder = WebSocketEventDecoder(role: role, maxFrameSize: 1 << 12, maxMessageSize: 1 << 12)
            for chunk in WS.randomChunks(stream, maxChunk: 64, using: &rng) {
                decoder.feed(chunk)
                do {
                    while try decoder.nextEvent() != nil {}
                } catch {
                    #expect(Self.allowedCodes.contains(error.closeCode))
                    break
                }
            }
        }
    }

    @Test func randomHTTPHeadsNeverCrash() throws {
        let url = try #require(URL(string: "ws://h/"))
        var rng = SeededRandomNumberGenerator(seed: 5)
        let pieces: [[UInt8]] = ["HTTP/1.1 ", "101", "401", " OK", "\r\n", "\n", ":", " ", "\t", "Upgrade", "Connection",
                                 "Content-Length: ", "5", "-1", "Transfer-Encoding: chunked", "ff;x", "0", "x", "\u{00}", "é"].map { Array($0.utf8) }
        for _ in 0..<3000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 0...30, using: &rng) { bytes += pieces[Int.random(in: 0..<pieces.count, using: &rng)] }
            var client = try? WebSocketClientHandshake(url: url, maxHeadSize: 256, maxErrorBodySize: 64, using: &rng)
            var server = WebSocketServerHandshake(maxHeadSize: 256)
            for chunk in WS.randomChunks(bytes, maxChunk: 16, using: &rng) {
                _ = try? client?.receive(chunk)
                _ = try? server.receive(chunk)
            }
            _ = client?.failureAtEndOfStream()
        }
    }
}
