import Foundation
import ChannelKit

/// The simulator's own protobuf codec for the `openim.sdkws` messages it serves, written
/// from the protocol notes (§4) on the core wire codec, independent of the adapter.
public struct OpenIMSimulatorMessage: Sendable, Hashable {
    public var sendID = ""
    public var recvID = ""
    public var groupID = ""
    public var clientMsgID = ""
    public var serverMsgID = ""
    public var senderPlatformID: Int32 = 0
    public var senderNickname = ""
    public var sessionType: Int32 = 0
    public var msgFrom: Int32 = 100
    public var contentType: Int32 = 101
    public var content: [UInt8] = []
    public var seq: Int64 = 0
    public var sendTime: Int64 = 0
    public var createTime: Int64 = 0
    public var status: Int32 = 2
    public var atUserIDList: [String] = []

    public init() {}

    /// The content as text (for assertions).
    public var contentText: String { String(decoding: content, as: UTF8.self) }

    func encode(to w: inout ProtobufWriter) {
        w.writeString(1, sendID); w.writeString(2, recvID); w.writeString(3, groupID)
        w.writeString(4, clientMsgID); w.writeString(5, serverMsgID)
        w.writeInt32(6, senderPlatformID); w.writeString(7, senderNickname)
        w.writeInt32(9, sessionType); w.writeInt32(10, msgFrom); w.writeInt32(11, contentType)
        w.writeBytes(12, content); w.writeInt64(14, seq); w.writeInt64(15, sendTime); w.writeInt64(16, createTime)
        w.writeInt32(17, status)
        for id in atUserIDList { w.writeString(21, id, always: true) }
    }

    static func decode(_ r: inout ProtobufReader) throws(ProtobufDecodingError) -> OpenIMSimulatorMessage {
        var m = OpenIMSimulatorMessage()
        while let key = try r.nextField() {
            switch (key.number, key.wireType) {
            case (1, .lengthDelimited): m.sendID = try r.readString()
            case (2, .lengthDelimited): m.recvID = try r.readString()
            case (3, .lengthDelimited): m.groupID = try r.readString()
            case (4, .lengthDelimited): m.clientMsgID = try r.readString()
            case (5, .lengthDelimited): m.serverMsgID = try r.readString()
            case (6, .varint): m.senderPlatformID = try r.readInt32()
            case (7, .lengthDelimited): m.senderNickname = try r.readString()
            case (9, .varint): m.sessionType = try r.readInt32()
            case (10, .varint): m.msgFrom = try r.readInt32()
            case (11, .varint): m.contentType = try r.readInt32()
            case (12, .lengthDelimited): m.content = try r.readBytes()
            case (14, .varint): m.seq = try r.readInt64()
            case (15, .varint): m.sendTime = try r.readInt64()
            case (16, .varint): m.createTime = try r.readInt64()
            case (17, .varint): m.status = try r.readInt32()
            case (21, .lengthDelimited): m.atUserIDList.append(try r.readString())
            default: try r.skip(key)
            }
        }
        return m
    }
}

enum OpenIMSimulatorWire {
    /// PushMessages / PullMessageBySeqsResp: field 1 = map<conversationID, PullMsgs{1: Msgs, 2: isEnd}>.
    static func pushMessages(_ byConversation: [(String, [OpenIMSimulatorMessage])]) -> [UInt8] {
        var w = ProtobufWriter(capacity: 256)
        for (conversationID, msgs) in byConversation {
            w.writeMessage(1) { e in
                e.writeString(1, conversationID, always: true)
                e.writeMessage(2) { p in
                    for m in msgs { p.writeMessage(1) { m.encode(to: &$0) } }
                    p.writeBool(2, true)
                }
            }
        }
        return w.bytes
    }

    /// GetMaxSeqResp: maxSeqs 1, minSeqs 2 (map<string,int64>).
    static func maxSeqs(_ max: [String: Int64], min: [String: Int64]) -> [UInt8] {
        var w = ProtobufWriter()
        for (field, map) in [(1, max), (2, min)] {
            for key in map.keys.sorted() {
                let value = map[key] ?? 0
                w.writeMessage(field) { e in e.writeString(1, key, always: true); e.writeInt64(2, value, always: true) }
            }
        }
        return w.bytes
    }

    /// SendMsgResp: serverMsgID 1, clientMsgID 2, sendTime 3.
    static func sendMsgResp(serverMsgID: String, clientMsgID: String, sendTime: Int64) -> [UInt8] {
        var w = ProtobufWriter()
        w.writeString(1, serverMsgID); w.writeString(2, clientMsgID); w.writeInt64(3, sendTime)
        return w.bytes
    }

    /// GetMaxSeqReq / PullMessageBySeqsReq field 1 (userID), and the SeqRanges of field 2.
    static func pullRequest(_ bytes: [UInt8]) throws(ProtobufDecodingError) -> (userID: String, ranges: [(String, Int64, Int64, Int64)]) {
        try ProtobufReader.read(bytes) { (r: inout ProtobufReader) throws(ProtobufDecodingError) in
            var user = ""
            var ranges: [(String, Int64, Int64, Int64)] = []
            while let key = try r.nextField() {
                switch (key.number, key.wireType) {
                case (1, .lengthDelimited): user = try r.readString()
                case (2, .lengthDelimited):
                    ranges.append(try r.readMessage { (s: inout ProtobufReader) throws(ProtobufDecodingError) in
                        var c = "", b: Int64 = 0, e: Int64 = 0, n: Int64 = 0
                        while let k = try s.nextField() {
                            switch (k.number, k.wireType) {
                            case (1, .lengthDelimited): c = try s.readString()
                            case (2, .varint): b = try s.readInt64()
                            case (3, .varint): e = try s.readInt64()
                            case (4, .varint): n = try s.readInt64()
                            default: try s.skip(k)
                            }
                        }
                        return (c, b, e, n)
                    })
                default: try r.skip(key)
                }
            }
            return (user, ranges)
        }
    }

    static func message(_ bytes: [UInt8]) throws(ProtobufDecodingError) -> OpenIMSimulatorMessage {
        try ProtobufReader.read(bytes) { (r: inout ProtobufReader) throws(ProtobufDecodingError) in try OpenIMSimulatorMessage.decode(&r) }
    }

    /// `{"reqIdentifier":…,"msgIncr":…,"operationID":…,"errCode":…,"errMsg":…,"data":"<base64>"}`.
    static func envelope(_ reqIdentifier: Int, msgIncr: String = "", operationID: String = "", errCode: Int = 0, errMsg: String = "", data: [UInt8]) -> Data {
        let object: JSONValue = ["reqIdentifier": .number(Double(reqIdentifier)), "msgIncr": .string(msgIncr), "operationID": .string(operationID),
                                 "errCode": .number(Double(errCode)), "errMsg": .string(errMsg),
                                 "data": data.isEmpty ? .null : .string(Data(data).base64EncodedString())]
        return Data(object.jsonText.utf8)
    }

    /// md5 hex (RFC 1321), for checking the multipart upload's hashes.
    static func md5Hex(_ bytes: [UInt8]) -> String {
        let s: [UInt32] = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21]
        var message = bytes
        let bits = UInt64(bytes.count) &* 8
        message.append(0x80)
        while message.count % 64 != 56 { message.append(0) }
        for i in 0..<8 { message.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(i)))) }
        var h: [UInt32] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]
        for chunk in stride(from: 0, to: message.count, by: 64) {
            let m = (0..<16).map { i -> UInt32 in
                let j = chunk + 4 * i
                return UInt32(message[j]) | UInt32(message[j + 1]) << 8 | UInt32(message[j + 2]) << 16 | UInt32(message[j + 3]) << 24
            }
            var (a, b, c, d) = (h[0], h[1], h[2], h[3])
            for i in 0..<64 {
                let round = i / 16
                var f: UInt32
                let g: Int
                switch round {
                case 0: f = (b & c) | (~b & d); g = i
                case 1: f = (d & b) | (~d & c); g = (5 * i + 1) % 16
                case 2: f = b ^ c ^ d; g = (3 * i + 5) % 16
                default: f = c ^ (b | ~d); g = (7 * i) % 16
                }
                let k = UInt32(truncatingIfNeeded: Int64(abs(sin(Double(i + 1))) * 4_294_967_296))
                f = f &+ a &+ k &+ m[g]
                let shift = s[round * 4 + i % 4]
                (a, d, c) = (d, c, b)
                b = b &+ (f << shift | f >> (32 - shift))
            }
            h[0] = h[0] &+ a; h[1] = h[1] &+ b; h[2] = h[2] &+ c; h[3] = h[3] &+ d
        }
        return h.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }.map { String(format: "%02x", $0) }.joined()
    }

    // MARK: gzip (compression=gzip sessions)

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return c ^ 0xFFFF_FFFF
    }

    /// A gzip member of stored deflate blocks (what the simulator writes).
    static func gzip(_ bytes: [UInt8]) -> Data {
        var out: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3]
        var start = 0
        repeat {
            let n = min(65_535, bytes.count - start)
            out += [start + n == bytes.count ? 1 : 0, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += bytes[start..<(start + n)]
            start += n
        } while start < bytes.count
        for v in [crc32(bytes), UInt32(bytes.count)] { for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
        return Data(out)
    }

    /// The content of a gzip member made of stored blocks (the simulator reads only those:
    /// any other block type answers `nil`), with its CRC checked.
    static func gunzipStored(_ data: Data) -> [UInt8]? {
        let b = [UInt8](data)
        guard b.count >= 18, b[0] == 0x1F, b[1] == 0x8B, b[2] == 8, b[3] == 0 else { return nil }
        var pos = 10
        var out: [UInt8] = []
        while true {
            guard pos + 5 <= b.count, b[pos] & 0x06 == 0 else { return nil }
            let final = b[pos] & 1 == 1
            let n = Int(b[pos + 1]) | Int(b[pos + 2]) << 8
            guard n == ~(Int(b[pos + 3]) | Int(b[pos + 4]) << 8) & 0xFFFF, pos + 5 + n <= b.count else { return nil }
            out += b[(pos + 5)..<(pos + 5 + n)]
            pos += 5 + n
            if final { break }
        }
        guard pos + 8 <= b.count else { return nil }
        let crc = UInt32(b[pos]) | UInt32(b[pos + 1]) << 8 | UInt32(b[pos + 2]) << 16 | UInt32(b[pos + 3]) << 24
        return crc == crc32(out) ? out : nil
    }
}
