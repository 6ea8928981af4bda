import ChannelKit
import Foundation
import Testing

/// The core protobuf wire codec against hand-computed bytes (the encodings in the
/// protobuf language guide), round trips, and malformed input.
@Suite struct ProtobufCodecTests {
    private func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined(separator: " ") }

    @Test func varintsMatchTheSpecification() throws {
        let cases: [(UInt64, String)] = [
            (0, "00"), (1, "01"), (127, "7f"), (128, "80 01"), (150, "96 01"), (300, "ac 02"),
            (16_384, "80 80 01"), (UInt64.max, "ff ff ff ff ff ff ff ff ff 01"),
        ]
        for (value, expected) in cases {
            var writer = ProtobufWriter()
            writer.writeVarint(value)
            #expect(hex(writer.bytes) == expected, "\(value)")
            #expect(ProtobufWriter.varintSize(value) == writer.bytes.count)
            let back = try ProtobufReader.read(writer.bytes) { r throws(ProtobufDecodingError) in try r.readVarint() }
            #expect(back == value)
        }
    }

    @Test func scalarFieldsEncodeAsTheGuideShows() throws {
        var w = ProtobufWriter()
        w.writeInt32(1, 150)                 // 08 96 01
        w.writeString(2, "testing")          // 12 07 74 65 73 74 69 6e 67
        w.writeInt32(3, -2)                  // 18 fe ff ff ff ff ff ff ff ff 01
        w.writeSInt32(4, -2)                 // 20 03
        w.writeSInt64(5, 1)                  // 28 02
        w.writeBool(6, true)                 // 30 01
        w.writeFixed32(7, 1)                 // 3d 01 00 00 00
        w.writeFixed64(8, 2)                 // 41 02 00 00 00 00 00 00 00
        #expect(hex(w.bytes) == "08 96 01 12 07 74 65 73 74 69 6e 67 18 fe ff ff ff ff ff ff ff ff 01 20 03 28 02 30 01 3d 01 00 00 00 41 02 00 00 00 00 00 00 00")

        let decoded = try ProtobufReader.read(w.bytes) { r throws(ProtobufDecodingError) in
            var out: [String] = []
            while let key = try r.nextField() {
                switch key.number {
                case 1: out.append("\(try r.readInt32())")
                case 2: out.append(try r.readString())
                case 3: out.append("\(try r.readInt32())")
                case 4: out.append("\(try r.readSInt32())")
                case 5: out.append("\(try r.readSInt64())")
                case 6: out.append("\(try r.readBool())")
                case 7: out.append("\(try r.readFixed32())")
                case 8: out.append("\(try r.readFixed64())")
                default: try r.skip(key)
                }
            }
            return out
        }
        #expect(decoded == ["150", "testing", "-2", "-2", "1", "true", "1", "2"])
    }

    @Test func defaultsAreSkippedUnlessRequired() {
        var w = ProtobufWriter()
        w.writeUInt64(1, 0)
        w.writeString(2, "")
        w.writeBool(3, false)
        #expect(w.bytes.isEmpty)
        w.writeUInt64(1, 0, always: true)
        w.writeString(2, "", always: true)
        #expect(hex(w.bytes) == "08 00 12 00")
    }

    @Test func nestedMessagesAndMapsRoundTrip() throws {
        // map<string, int64> = 1 with two entries, then a 200-byte nested message (two-byte length).
        var w = ProtobufWriter()
        for (k, v) in [("si_a_b", Int64(7)), ("sg_g", Int64(-1))] {
            w.writeMessage(1) { e in e.writeString(1, k); e.writeInt64(2, v) }
        }
        let long = String(repeating: "x", count: 200)
        w.writeMessage(2) { m in m.writeString(1, long) }
        w.writeMessage(3) { _ in }
        #expect(Array(w.bytes.prefix(12)) == [0x0a, 0x0a, 0x0a, 0x06] + Array("si_a_b".utf8) + [0x10, 0x07])
        let (map, text, sawEmpty) = try ProtobufReader.read(w.bytes) { r throws(ProtobufDecodingError) in
            var map: [String: Int64] = [:]
            var text = ""
            var sawEmpty = false
            while let key = try r.nextField() {
                switch key.number {
                case 1:
                    try r.expect(key, .lengthDelimited)
                    let (k, v) = try r.readMessage { e throws(ProtobufDecodingError) in
                        var k = "", v: Int64 = 0
                        while let f = try e.nextField() {
                            switch f.number {
                            case 1: k = try e.readString()
                            case 2: v = try e.readInt64()
                            default: try e.skip(f)
                            }
                        }
                        return (k, v)
                    }
                    map[k] = v
                case 2:
                    text = try r.readMessage { m throws(ProtobufDecodingError) in
                        var t = ""
                        while let f = try m.nextField() { if f.number == 1 { t = try m.readString() } else { try m.skip(f) } }
                        return t
                    }
                case 3:
                    sawEmpty = try r.readMessage { m throws(ProtobufDecodingError) in m.isAtEnd }
                default: try r.skip(key)
                }
            }
            return (map, text, sawEmpty)
        }
        #expect(map == ["si_a_b": 7, "sg_g": -1])
        #expect(text == long)
        #expect(sawEmpty)
    }

    @Test func repeatedVarintsAcceptPackedAndUnpacked() throws {
        var w = ProtobufWriter()
        w.writePackedVarints(4, [3, 270, 86942])
        #expect(hex(w.bytes) == "22 06 03 8e 02 9e a7 05")
        w.writeUInt64(4, 5)
        let values = try ProtobufReader.read(w.bytes) { r throws(ProtobufDecodingError) in
            var values: [UInt64] = []
            while let key = try r.nextField() { try r.readRepeatedVarints(key, into: &values) }
            return values
        }
        #expect(values == [3, 270, 86942, 5])
    }

    @Test func unknownFieldsOfEveryWireTypeAreSkipped() throws {
        var w = ProtobufWriter()
        w.writeUInt64(10, 1)
        w.writeFixed32(11, 2)
        w.writeFixed64(12, 3)
        w.writeString(13, "skip me")
        w.writeString(1, "kept")
        let kept = try ProtobufReader.read(w.bytes) { r throws(ProtobufDecodingError) in
            var kept = ""
            while let key = try r.nextField() { if key.number == 1 { kept = try r.readString() } else { try r.skip(key) } }
            return kept
        }
        #expect(kept == "kept")
    }

    @Test func malformedInputThrowsTypedErrorsWithOffsets() {
        func code(_ bytes: [UInt8]) -> ProtobufDecodingError.Code? {
            do {
                try ProtobufReader.read(bytes) { r throws(ProtobufDecodingError) in
                    while let key = try r.nextField() {
                        if key.number == 1, key.wireType == .lengthDelimited {
                            _ = try r.readString()
                        } else if key.number == 2, key.wireType == .lengthDelimited {
                            try r.readMessage { m throws(ProtobufDecodingError) in while let k = try m.nextField() { try m.skip(k) } }
                        } else {
                            try r.skip(key)
                        }
                    }
                }
                return nil
            } catch {
                return error.code
            }
        }
        #expect(code([0x08]) == .truncated)
        #expect(code([0x08, 0x80]) == .truncated)
        #expect(code([0x08] + Array(repeating: 0xff, count: 10) + [0x01]) == .malformedVarint)
        #expect(code([0x0e]) == .invalidWireType)          // field 1, wire type 6
        #expect(code([0x00]) == .invalidFieldNumber)       // field 0
        #expect(code([0x0a, 0x05, 0x41]) == .lengthOutOfBounds)
        #expect(code([0x0a, 0x02, 0xc3, 0x28]) == .invalidUTF8)
        #expect(code([0x0b]) == .unsupportedGroup)
        #expect(code([0x15, 0x01]) == .truncated)          // fixed32 with one byte
        #expect(code([0x12, 0x03, 0x0a, 0x05, 0x00]) == .lengthOutOfBounds) // nested length past its parent
        // Nesting bomb: 100 levels of field 2.
        var bomb: [UInt8] = []
        for _ in 0..<100 { bomb = [0x12] + lengthPrefix(bomb.count) + bomb }
        #expect(nestedCode(bomb) == .nestingTooDeep)
        #expect(nestedCode(Array(bomb.suffix(40))) == nil)

        do {
            try ProtobufReader.read([0x08, 0x01, 0x12, 0x02, 0x41]) { r throws(ProtobufDecodingError) in
                while let key = try r.nextField() { try r.skip(key) }
            }
            Issue.record("expected an error")
        } catch {
            #expect(error.offset == 3)
            #expect(error.field == 2)
            #expect(error.description.contains("lengthOutOfBounds at byte 3 (field 2)"))
        }
    }

    @Test func wrongWireTypeIsReported() {
        #expect(throws: ProtobufDecodingError.self) {
            try ProtobufReader.read([0x08, 0x01]) { r throws(ProtobufDecodingError) in
                guard let key = try r.nextField() else { return }
                try r.expect(key, .lengthDelimited)
            }
        }
    }

    @Test func randomBytesNeverTrap() {
        var rng = SeededRandomNumberGenerator(seed: 0x5EED)
        var failures = 0
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...40, using: &rng)
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            do {
                try ProtobufReader.read(bytes) { r throws(ProtobufDecodingError) in
                    while let key = try r.nextField() {
                        if key.wireType == .lengthDelimited, key.number % 2 == 0 {
                            try r.readMessage { m throws(ProtobufDecodingError) in while let k = try m.nextField() { try m.skip(k) } }
                        } else {
                            try r.skip(key)
                        }
                    }
                }
            } catch {
                failures += 1
            }
        }
        #expect(failures > 0)
    }

    /// Reads every field 2 as a nested message, recursively.
    private func nestedCode(_ bytes: [UInt8]) -> ProtobufDecodingError.Code? {
        func walk(_ r: inout ProtobufReader) throws(ProtobufDecodingError) {
            while let key = try r.nextField() {
                if key.number == 2 { try r.readMessage { m throws(ProtobufDecodingError) in try walk(&m) } } else { try r.skip(key) }
            }
        }
        do {
            try ProtobufReader.read(bytes) { r throws(ProtobufDecodingError) in try walk(&r) }
            return nil
        } catch {
            return error.code
        }
    }

    private func lengthPrefix(_ n: Int) -> [UInt8] {
        var w = ProtobufWriter()
        w.writeVarint(UInt64(n))
        return w.bytes
    }
}
