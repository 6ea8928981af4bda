import Foundation
import Testing
@testable import ChannelKit
@testable import ChannelKitFeishu
import ChannelKitTesting

/// The pbbp2 codec, ClientConfig merge and fragment reassembly, without I/O.
@Suite struct FeishuFrameTests {
    static func hex(_ text: String) -> [UInt8] {
        text.split(separator: " ").map { UInt8($0, radix: 16)! }
    }

    @Test func pingMatchesTheSDKBytesExactly() {
        let expected = Self.hex("08 00 10 00 18 f6 81 80 10 20 00 2a 0c 0a 04 74 79 70 65 12 04 70 69 6e 67")
        #expect(FeishuFrame.ping(service: 33_554_678).encoded() == expected)
        let decoded = try? FeishuFrame.decode(expected)
        #expect(decoded == FeishuFrame.ping(service: 33_554_678))
    }

    @Test func requiredFieldsAreAlwaysWrittenAndEveryFieldRoundTrips() throws {
        let zero = FeishuFrame(method: 0)
        #expect(zero.encoded() == [0x08, 0, 0x10, 0, 0x18, 0, 0x20, 0], "fields 1–4 present even when 0")
        let full = FeishuFrame(seqID: 1 << 40, logID: 7, service: -3, method: 1,
                               headers: [.init("type", "event"), .init("message_id", "m1"), .init("sum", "2"), .init("seq", "1"), .init("trace_id", "t")],
                               payloadEncoding: "", payloadType: "json", payload: Array("{\"a\":1}".utf8), logIDNew: "L9")
        let bytes = full.encoded()
        let back = try FeishuFrame.decode(bytes)
        #expect(back == full)
        #expect(back.seqID == 1 << 40 && back.logID == 7 && back.service == -3 && back.method == 1)
        #expect(back.headers.map(\.key) == ["type", "message_id", "sum", "seq", "trace_id"])
        #expect(back.header("seq") == "1" && back.payloadEncoding == "" && back.payloadType == "json" && back.logIDNew == "L9")
        // Tags in field order: 1–4 varint, 5–9 length-delimited.
        #expect(bytes.first == 0x08)
        #expect(bytes.contains(0x2a) && bytes.contains(0x32) && bytes.contains(0x3a) && bytes.contains(0x42) && bytes.contains(0x4a))
        // Negative service: int32 sign-extended to 10 bytes.
        var w = ProtobufWriter()
        w.writeInt32(3, -3, always: true)
        #expect(w.bytes.count == 11)
    }

    @Test func ackEchoesTheFrameWithBizRTAndCode200() throws {
        let frame = FeishuFrame(seqID: 5, logID: 6, service: 9, method: 1, headers: [.init("type", "event"), .init("message_id", "m")],
                                payload: Array("{}".utf8))
        let ack = try FeishuFrame.decode(frame.ack(businessMilliseconds: 3).encoded())
        #expect(ack.seqID == 5 && ack.logID == 6 && ack.service == 9 && ack.method == 1)
        #expect(ack.headers == frame.headers + [.init("biz_rt", "3")])
        #expect(ack.payload == Array(#"{"code":200}"#.utf8))
    }

    @Test func ackEchoedFromTheRawBytesEqualsTheDecodedAck() throws {
        let frame = FeishuFrame(seqID: 77, logID: 78, service: 33_554_678, method: 1,
                                headers: [.init("type", "event"), .init("message_id", "m"), .init("sum", "2"), .init("seq", "1"), .init("trace_id", "t")],
                                payloadType: "json", payload: Array(#"{"schema":"2.0"}"#.utf8), logIDNew: "n")
        let raw = frame.encoded()
        for code in [200, 500] {
            let echoed = try raw.withUnsafeBufferPointer { try FeishuFrame.encodedAck(echoing: $0, code: code, businessMilliseconds: 12) }
            #expect(try FeishuFrame.decode(echoed) == frame.ack(code: code, businessMilliseconds: 12))
            #expect(try FeishuFrame.decode(frame.encodedAck(code: code, businessMilliseconds: 12)) == frame.ack(code: code, businessMilliseconds: 12))
        }
        #expect(throws: ProtobufDecodingError.self) { _ = try [UInt8]([0x0A, 0x05]).withUnsafeBufferPointer { try FeishuFrame.encodedAck(echoing: $0) } }
    }

    @Test func unknownFieldsAreSkippedAndMissingRequiredFieldsRejected() throws {
        var w = ProtobufWriter()
        w.writeUInt64(1, 1, always: true)
        w.writeUInt64(2, 2, always: true)
        w.writeInt32(3, 3, always: true)
        w.writeUInt64(15, 99, always: true)           // unknown varint
        w.writeString(16, "unknown", always: true)     // unknown bytes
        w.writeInt32(4, 1, always: true)
        #expect(try FeishuFrame.decode(w.bytes).method == 1)
        for missing in 1...4 {
            var v = ProtobufWriter()
            for field in 1...4 where field != missing { v.writeUInt64(field, 0, always: true) }
            do {
                _ = try FeishuFrame.decode(v.bytes)
                Issue.record("frame without field \(missing) was accepted")
            } catch {
                #expect(error.code == .missingRequiredField && error.field == missing)
            }
        }
        // A header without its value.
        var h = ProtobufWriter()
        for field in 1...4 { h.writeUInt64(field, 0, always: true) }
        h.writeMessage(5) { $0.writeString(1, "type", always: true) }
        #expect(throws: ProtobufDecodingError.self) { try FeishuFrame.decode(h.bytes) }
        // A known field with the wrong wire type.
        var wt = ProtobufWriter()
        wt.writeString(1, "x", always: true)
        #expect(throws: ProtobufDecodingError.self) { try FeishuFrame.decode(wt.bytes) }
    }

    @Test func malformedProtobufNeverCrashes() {
        var rng = SeededRandomNumberGenerator(seed: 0xFE15)
        let seed = FeishuFrame(seqID: 3, logID: 4, service: 33_554_678, method: 1,
                               headers: [.init("type", "event"), .init("message_id", "m"), .init("sum", "1"), .init("seq", "0")],
                               payload: Array(#"{"schema":"2.0"}"#.utf8)).encoded()
        var decodedCount = 0, rejected = 0
        for i in 0..<20_000 {
            var bytes = seed
            switch i % 4 {
            case 0: bytes = (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 1: bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
            default:
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            }
            // The generic nested-reader path (decode(from:)) agrees with the hot path.
            let viaReader = Result { () throws(ProtobufDecodingError) -> FeishuFrame in
                try ProtobufReader.read(bytes) { reader throws(ProtobufDecodingError) in try FeishuFrame.decode(from: &reader) }
            }
            let viaBuffer = Result { () throws(ProtobufDecodingError) -> FeishuFrame in try FeishuFrame.decode(bytes) }
            switch (viaReader, viaBuffer) {
            case (.success(let a), .success(let b)): #expect(a == b)
            case (.failure(let a), .failure(let b)): #expect(a.code == b.code && a.offset == b.offset && a.field == b.field, "\(a) vs \(b)")
            default: Issue.record("the two decode paths disagree on \(bytes)")
            }
            do {
                let frame = try FeishuFrame.decode(bytes)
                decodedCount += 1
                // Whatever decodes re-encodes and decodes to the same frame.
                #expect((try? FeishuFrame.decode(frame.encoded())) == frame)
            } catch {
                rejected += 1
                #expect(error.offset >= 0 && error.offset <= bytes.count)
            }
        }
        #expect(decodedCount > 100 && rejected > 100)
    }

    @Test func clientConfigMergesFieldByField() throws {
        var config = FeishuClientConfig()
        #expect(config == FeishuClientConfig(reconnectCount: -1, reconnectInterval: .seconds(120), reconnectNonce: .seconds(30), pingInterval: .seconds(120)))
        let changed = try config.merge(payload: Array(#"{"PingInterval":15}"#.utf8))
        #expect(changed)
        #expect(config.pingInterval == .seconds(15) && config.reconnectInterval == .seconds(120) && config.reconnectNonce == .seconds(30))
        let changedAgain = config.merge(["ReconnectCount": 1, "ReconnectNonce": 0, "ReconnectInterval": 0])
        #expect(changedAgain)
        #expect(config.reconnectCount == 1 && config.reconnectNonce == .zero && config.reconnectInterval == .seconds(1))
        let unchanged = config.merge(["Unknown": 5, "PingInterval": "x"])
        #expect(!unchanged)
        #expect(throws: ChannelError.self) { _ = try config.merge(payload: Array("not json".utf8)) }
    }

    @Test func fragmentsReassembleInAnyOrderAndPartialsExpire() {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        var assembler = FeishuFragmentAssembler()
        let parts: [[UInt8]] = [Array("{\"a\":".utf8), Array("\"xyz\"".utf8), Array("}".utf8)]
        #expect(assembler.add(messageID: "m", sum: 3, seq: 2, payload: parts[2], now: start) == .pending)
        #expect(assembler.add(messageID: "m", sum: 3, seq: 0, payload: parts[0], now: start) == .pending)
        #expect(assembler.add(messageID: "m", sum: 3, seq: 0, payload: parts[0], now: start) == .pending, "a repeated part is ignored")
        #expect(assembler.add(messageID: "m", sum: 3, seq: 1, payload: parts[1], now: start) == .complete(Array("{\"a\":\"xyz\"}".utf8)))
        #expect(assembler.pendingCount == 0)
        // Interleaved messages.
        #expect(assembler.add(messageID: "x", sum: 2, seq: 1, payload: [2], now: start) == .pending)
        #expect(assembler.add(messageID: "y", sum: 2, seq: 0, payload: [3], now: start) == .pending)
        #expect(assembler.add(messageID: "x", sum: 2, seq: 0, payload: [1], now: start) == .complete([1, 2]))
        // Expiry on the injected clock: y's first part is 5 s old, so its second starts anew.
        #expect(assembler.add(messageID: "y", sum: 2, seq: 1, payload: [4], now: start.addingTimeInterval(5)) == .pending)
        #expect(assembler.pendingCount == 1)
        #expect(assembler.expire(now: start.addingTimeInterval(10.1)) == 1)
        // Bad headers.
        #expect(assembler.add(messageID: "z", sum: 0, seq: 0, payload: [], now: start) != .pending)
        #expect(assembler.add(messageID: "z", sum: 2, seq: 2, payload: [], now: start) != .pending)
        #expect(assembler.add(messageID: "z", sum: 2, seq: 0, payload: [], now: start) == .pending)
        if case .rejected = assembler.add(messageID: "z", sum: 3, seq: 1, payload: [], now: start) {} else { Issue.record("a changed sum must be rejected") }
        #expect(assembler.add(messageID: "single", sum: 1, seq: 0, payload: [9], now: start) == .complete([9]))
    }

    @Test func fragmentBufferIsBounded() {
        let now = Date(timeIntervalSince1970: 0)
        var assembler = FeishuFragmentAssembler(configuration: .init(maximumPartials: 4, maximumBytes: 100))
        for i in 0..<10 { _ = assembler.add(messageID: "m\(i)", sum: 2, seq: 0, payload: [1], now: now) }
        #expect(assembler.pendingCount == 4)
        if case .rejected = assembler.add(messageID: "big", sum: 2, seq: 0, payload: Array(repeating: 0, count: 200), now: now) {} else {
            Issue.record("an oversized partial must be dropped")
        }
    }
}
