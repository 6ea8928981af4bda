import Foundation
import Testing
@testable import ChannelKit

@Suite struct WebSocketFrameTests {
    // MARK: RFC 6455 §5.7 examples

    @Test func rfcSingleFrameUnmaskedText() throws {
        let bytes = WS.hex("81 05 48 65 6c 6c 6f")
        #expect(try WS.events(bytes, role: .client) == [.message(.text("Hello"))])
        var encoder = WebSocketFrameEncoder(role: .server)
        var out: [UInt8] = []
        encoder.encodeText("Hello", into: &out)
        #expect(out == bytes)
    }

    @Test func rfcSingleFrameMaskedText() throws {
        let bytes = WS.hex("81 85 37 fa 21 3d 7f 9f 4d 51 58")
        #expect(try WS.events(bytes, role: .server) == [.message(.text("Hello"))])
        let frame = try #require(try WS.frames(bytes, role: .server).first)
        #expect(frame.maskingKey == WebSocketMaskingKey(0x37, 0xFA, 0x21, 0x3D))
        #expect(frame.payload == Array("Hello".utf8))
        let encoded = WebSocketFrameEncoder.encode(WebSocketFrame(opcode: .text, maskingKey: WebSocketMaskingKey(rawValue: 0x37FA_213D), payload: Array("Hello".utf8)))
        #expect(encoded == bytes)
    }

    @Test func rfcFragmentedUnmaskedText() throws {
        let bytes = WS.hex("01 03 48 65 6c 80 02 6c 6f")
        let frames = try WS.frames(bytes, role: .client)
        #expect(frames.map(\.fin) == [false, true])
        #expect(frames.map(\.opcode) == [.text, .continuation])
        #expect(try WS.events(bytes, role: .client) == [.message(.text("Hello"))])
        var encoder = WebSocketFrameEncoder(role: .server)
        var out: [UInt8] = []
        encoder.encodeFrame(opcode: .text, fin: false, payload: Array("Hel".utf8), into: &out)
        encoder.encodeFrame(opcode: .continuation, payload: Array("lo".utf8), into: &out)
        #expect(out == bytes)
    }

    @Test func rfcPingAndMaskedPong() throws {
        let ping = WS.hex("89 05 48 65 6c 6c 6f")
        #expect(try WS.events(ping, role: .client) == [.ping(Data("Hello".utf8))])
        let pong = WS.hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58")
        #expect(try WS.events(pong, role: .server) == [.pong(Data("Hello".utf8))])
        var encoder = WebSocketFrameEncoder(role: .server)
        var out: [UInt8] = []
        try encoder.encodePing(Array("Hello".utf8), into: &out)
        #expect(out == ping)
    }

    @Test func rfc256ByteBinaryUses16BitLength() throws {
        let payload = (0..<256).map { UInt8(truncatingIfNeeded: $0) }
        var encoder = WebSocketFrameEncoder(role: .server)
        var out: [UInt8] = []
        encoder.encodeBinary(payload, into: &out)
        #expect(Array(out.prefix(4)) == WS.hex("82 7e 01 00"))
        #expect(out.count == 4 + 256)
        #expect(try WS.events(out, role: .client) == [.message(.binary(Data(payload)))])
    }

    @Test func rfc64KiBBinaryUses64BitLength() throws {
        let payload = [UInt8](repeating: 0xAB, count: 65536)
        var encoder = WebSocketFrameEncoder(role: .server)
        var out: [UInt8] = []
        encoder.encodeBinary(payload, into: &out)
        #expect(Array(out.prefix(10)) == WS.hex("82 7f 00 00 00 00 00 01 00 00"))
        #expect(out.count == 10 + 65536)
        #expect(try WS.events(out, role: .client) == [.message(.binary(Data(payload)))])
    }

    // MARK: Lengths and round trips

    @Test(arguments: [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)])
    func headerCounts(payload: Int, unmasked: Int) {
        #expect(WebSocketFrameEncoder.headerCount(payloadCount: payload, masked: false) == unmasked)
        #expect(WebSocketFrameEncoder.headerCount(payloadCount: payload, masked: true) == unmasked + 4)
    }

    static let roundTripSizes = [0, 1, 125, 126, 127, 65535, 65536, 1 << 20]

    @Test(arguments: roundTripSizes, [WebSocketRole.client, .server])
    func roundTripBinaryAndText(size: Int, sender: WebSocketRole) throws {
        var rng = SeededRandomNumberGenerator(seed: UInt64(size))
        let payload = (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let text = String(repeating: "é", count: size / 2) + String(repeating: "a", count: size % 2)
        var encoder = WebSocketFrameEncoder(role: sender, maskingKeyGenerator: SeededRandomNumberGenerator(seed: 9))
        var out: [UInt8] = []
        encoder.encodeBinary(payload, into: &out)
        encoder.encodeText(text, into: &out)
        let receiver: WebSocketRole = sender == .client ? .server : .client
        let headers = WebSocketFrameEncoder.headerCount(payloadCount: size, masked: sender == .client)
        #expect(out.count == 2 * (headers + size))
        // Masking changes the bytes on the wire (unless the payload is empty).
        if sender == .client && size >= 8 { #expect(Array(out[headers..<(headers + 8)]) != Array(payload.prefix(8))) }
        #expect(try WS.events(out, role: receiver) == [.message(.binary(Data(payload))), .message(.text(text))])
    }

    @Test(arguments: [0, 1, 125, 126, 127, 65535, 65536])
    func oneByteAtATime(size: Int) throws {
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var encoder = WebSocketFrameEncoder(role: .client, maskingKeyGenerator: SeededRandomNumberGenerator(seed: 1))
        var out: [UInt8] = []
        encoder.encodeBinary(payload, into: &out)
        try encoder.encodePing([1, 2, 3], into: &out)
        let chunks = out.indices.map { out[$0...$0] }
        #expect(try WS.events(chunks, role: .server) == [.message(.binary(Data(payload))), .ping(Data([1, 2, 3]))])
    }

    @Test(arguments: 0..<20)
    func randomChunkingsOfAMixedStream(seed: UInt64) throws {
        var rng = SeededRandomNumberGenerator(seed: seed)
        var encoder = WebSocketFrameEncoder(role: .server)
        var out: [UInt8] = []
        var expected: [WebSocketEvent] = []
        for i in 0..<40 {
            let size = [0, 3, 125, 126, 300, 70_000][Int.random(in: 0..<6, using: &rng)]
            switch i % 4 {
            case 0:
                let text = String(repeating: "ü€𝄞x", count: size / 10)
                encoder.encodeText(text, into: &out)
                expected.append(.message(.text(text)))
            case 1:
                let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
                encoder.encodeBinary(bytes, into: &out)
                expected.append(.message(.binary(Data(bytes))))
            case 2:
                // A fragmented text message with a ping between fragments.
                let text = "fragmented-\(i)-ü€"
                let utf8 = Array(text.utf8)
                let cut = Int.random(in: 0...utf8.count, using: &rng)
                encoder.encodeFrame(opcode: .text, fin: false, payload: utf8[..<cut], into: &out)
                try encoder.encodePing([UInt8(i)], into: &out)
                encoder.encodeFrame(opcode: .continuation, payload: utf8[cut...], into: &out)
                expected.append(.ping(Data([UInt8(i)])))
                expected.append(.message(.text(text)))
            default:
                try encoder.encodePong([], into: &out)
                expected.append(.pong(Data()))
            }
        }
        encoder.encodeClose(code: .normalClosure, reason: "bye", into: &out)
        expected.append(.close(code: .normalClosure, reason: "bye"))
        let chunks = WS.randomChunks(out, maxChunk: Int.random(in: 1...5000, using: &rng), using: &rng)
        #expect(try WS.events(chunks, role: .client) == expected)
    }

    @Test func nonMinimalLengthEncodingsAreAccepted() throws {
        // 5 bytes written with the 16-bit and the 64-bit form.
        let sixteen = WS.hex("82 7e 00 05 01 02 03 04 05")
        let sixtyFour = WS.hex("82 7f 00 00 00 00 00 00 00 05 01 02 03 04 05")
        #expect(try WS.events(sixteen, role: .client) == [.message(.binary(Data([1, 2, 3, 4, 5])))])
        #expect(try WS.events(sixtyFour, role: .client) == [.message(.binary(Data([1, 2, 3, 4, 5])))])
    }

    @Test func decoderWaitsForCompleteFramesAndCountsBufferedBytes() throws {
        var decoder = WebSocketFrameDecoder(role: .client)
        decoder.feed(WS.hex("82 7e 01"))
        #expect(try decoder.nextFrame() == nil)
        decoder.feed(WS.hex("00") + [UInt8](repeating: 7, count: 255))
        #expect(try decoder.nextFrame() == nil)
        #expect(decoder.bufferedCount == 4 + 255)
        decoder.feed([7, 0x81])
        let frame = try #require(try decoder.nextFrame())
        #expect(frame.payload == [UInt8](repeating: 7, count: 256))
        #expect(try decoder.nextFrame() == nil)
        #expect(decoder.bufferedCount == 1)
    }

    @Test func drainedBufferReleasesLargeCapacityAtOnce() throws {
        var encoder = WebSocketFrameEncoder(role: .server)
        var big: [UInt8] = []
        encoder.encodeBinary([UInt8](repeating: 1, count: 1 << 20), into: &big)
        var decoder = WebSocketFrameDecoder(role: .client)
        decoder.feed(big)
        #expect(try decoder.nextFrame()?.payload.count == 1 << 20)
        #expect(decoder.bufferedCount == 0)
        #expect(decoder.bufferCapacity <= WebSocketFrameDecoder.retainedCapacity)
        // Small frames keep their (small) buffer between messages.
        var small: [UInt8] = []
        encoder.encodeText("hi", into: &small)
        decoder.feed(small)
        #expect(try decoder.nextFrame()?.payload == Array("hi".utf8))
        #expect(decoder.bufferCapacity > 0)
    }

    @Test func rawEncoderWritesReservedBitsAndFin() {
        let bytes = WebSocketFrameEncoder.encode(WebSocketFrame(fin: false, rsv1: true, rsv2: true, rsv3: true, opcode: .binary, payload: [9]))
        #expect(bytes == [0x72, 0x01, 0x09])
    }

    @Test func encoderAppendsToExistingBytes() {
        var encoder = WebSocketFrameEncoder(role: .server)
        var out: [UInt8] = [0xEE]
        encoder.encodeText("a", into: &out)
        encoder.encodeBinary(Data([1, 2]), into: &out)
        #expect(out == [0xEE, 0x81, 0x01, 0x61, 0x82, 0x02, 0x01, 0x02])
    }

    @Test func clientFramesAreMaskedWithFreshKeys() throws {
        var encoder = WebSocketFrameEncoder(role: .client, maskingKeyGenerator: SeededRandomNumberGenerator(seed: 5))
        var keys: Set<WebSocketMaskingKey> = []
        for _ in 0..<64 {
            var out: [UInt8] = []
            encoder.encodeText("same text", into: &out)
            #expect(out[1] & 0x80 != 0)
            let frame = try #require(try WS.frames(out, role: .server).first)
            #expect(frame.payload == Array("same text".utf8))
            keys.insert(try #require(frame.maskingKey))
        }
        #expect(keys.count == 64)
    }

    @Test(arguments: 0..<40)
    func maskingMatchesTheBytewiseDefinition(count: Int) {
        let key = WebSocketMaskingKey(0x12, 0x34, 0xAB, 0xCD)
        let original = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) }
        var masked = original
        key.apply(to: &masked)
        #expect(masked == original.enumerated().map { $0.element ^ key.bytes[$0.offset % 4] })
        key.apply(to: &masked)
        #expect(masked == original)
    }

    @Test func maskingKeyInitialisers() {
        #expect(WebSocketMaskingKey([0x37, 0xFA, 0x21, 0x3D])?.rawValue == 0x37FA_213D)
        #expect(WebSocketMaskingKey([1, 2, 3]) == nil)
        #expect(WebSocketMaskingKey(rawValue: 0x37FA_213D).bytes == [0x37, 0xFA, 0x21, 0x3D])
        #expect(WebSocketMaskingKey(rawValue: 0x0102_0A0B).description == "01 02 0a 0b")
    }

    // MARK: Control frames on the send side

    @Test func controlPayloadsOver125BytesAreRefused() {
        var encoder = WebSocketFrameEncoder(role: .client)
        var out: [UInt8] = []
        #expect(throws: ChannelError.self) { try encoder.encodePing([UInt8](repeating: 0, count: 126), into: &out) }
        #expect(throws: ChannelError.self) { try encoder.encodePong([UInt8](repeating: 0, count: 126), into: &out) }
        #expect(out.isEmpty)
        #expect(throws: Never.self) { try encoder.encodePing([UInt8](repeating: 0, count: 125), into: &out) }
    }

    @Test func closePayloadCutsLongReasonsAtScalarBoundaries() throws {
        let reason = String(repeating: "€", count: 60) // 180 bytes
        let payload = WebSocketFrameEncoder.closePayload(code: .goingAway, reason: reason)
        #expect(payload.count == 2 + 123)
        #expect(Array(payload.prefix(2)) == [0x03, 0xE9])
        #expect(String(validating: payload.dropFirst(2), as: UTF8.self) == String(repeating: "€", count: 41))
        #expect(WebSocketFrameEncoder.closePayload(code: nil, reason: "x") == [])
        #expect(WebSocketFrameEncoder.closePayload(code: .noStatusReceived, reason: "x") == [])
        var encoder = WebSocketFrameEncoder(role: .server)
        var out: [UInt8] = []
        encoder.encodeClose(code: WebSocketCloseCode(4009), reason: "session timed out", into: &out)
        #expect(try WS.events(out, role: .client) == [.close(code: WebSocketCloseCode(4009), reason: "session timed out")])
    }
}
