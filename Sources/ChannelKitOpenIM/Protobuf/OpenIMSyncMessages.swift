import Foundation
import ChannelKit

/// `openim.sdkws.PullMsgs`: `Msgs` repeated MsgData 1, isEnd bool 2, endSeq int64 3.
public struct OpenIMPullMsgs: Sendable, Hashable {
    public var msgs: [OpenIMMsgData] = []
    public var isEnd = false
    public var endSeq: Int64 = 0

    /// Creates a list.
    public init(msgs: [OpenIMMsgData] = [], isEnd: Bool = false, endSeq: Int64 = 0) {
        self.msgs = msgs
        self.isEnd = isEnd
        self.endSeq = endSeq
    }

    /// Decodes the message from `reader`.
    public init(from reader: inout ProtobufReader) throws(ProtobufDecodingError) {
        while let key = try reader.nextField() {
            switch key.number {
            case 1:
                try reader.expect(key, .lengthDelimited)
                msgs.append(try reader.readMessage { (r: inout ProtobufReader) throws(ProtobufDecodingError) in try OpenIMMsgData(from: &r) })
            case 2: try reader.expect(key, .varint); isEnd = try reader.readBool()
            case 3: try reader.expect(key, .varint); endSeq = try reader.readInt64()
            default: try reader.skip(key)
            }
        }
    }

    /// Writes the fields.
    public func encode(to w: inout ProtobufWriter) {
        for m in msgs { w.writeMessage(1) { m.encode(to: &$0) } }
        w.writeBool(2, isEnd)
        w.writeInt64(3, endSeq)
    }
}

/// Reads and writes protobuf `map<string, PullMsgs>` entries (`{1: key, 2: value}`).
enum OpenIMPullMsgsMap {
    static func readEntry(_ reader: inout ProtobufReader, into map: inout [String: OpenIMPullMsgs]) throws(ProtobufDecodingError) {
        let (k, v) = try reader.readMessage { (r: inout ProtobufReader) throws(ProtobufDecodingError) -> (String, OpenIMPullMsgs) in
            var k = "", v = OpenIMPullMsgs()
            while let f = try r.nextField() {
                switch f.number {
                case 1: try r.expect(f, .lengthDelimited); k = try r.readString()
                case 2:
                    try r.expect(f, .lengthDelimited)
                    v = try r.readMessage { (m: inout ProtobufReader) throws(ProtobufDecodingError) in try OpenIMPullMsgs(from: &m) }
                default: try r.skip(f)
                }
            }
            return (k, v)
        }
        if var existing = map[k] {
            existing.msgs.append(contentsOf: v.msgs)
            existing.isEnd = existing.isEnd || v.isEnd
            existing.endSeq = max(existing.endSeq, v.endSeq)
            map[k] = existing
        } else {
            map[k] = v
        }
    }

    static func write(_ field: Int, _ map: [String: OpenIMPullMsgs], to w: inout ProtobufWriter) {
        for key in map.keys.sorted() {
            guard let value = map[key] else { continue }
            w.writeMessage(field) { e in
                e.writeString(1, key, always: true)
                e.writeMessage(2) { value.encode(to: &$0) }
            }
        }
    }
}

/// `openim.sdkws.PushMessages` (reqIdentifier 2001 push): msgs 1 and notificationMsgs 2,
/// both `map<conversationID, PullMsgs>`.
public struct OpenIMPushMessages: Sendable, Hashable {
    public var msgs: [String: OpenIMPullMsgs] = [:]
    public var notificationMsgs: [String: OpenIMPullMsgs] = [:]

    /// Creates a push.
    public init(msgs: [String: OpenIMPullMsgs] = [:], notificationMsgs: [String: OpenIMPullMsgs] = [:]) {
        self.msgs = msgs
        self.notificationMsgs = notificationMsgs
    }

    /// Decodes the message from `reader`.
    public init(from reader: inout ProtobufReader) throws(ProtobufDecodingError) {
        while let key = try reader.nextField() {
            switch key.number {
            case 1: try reader.expect(key, .lengthDelimited); try OpenIMPullMsgsMap.readEntry(&reader, into: &msgs)
            case 2: try reader.expect(key, .lengthDelimited); try OpenIMPullMsgsMap.readEntry(&reader, into: &notificationMsgs)
            default: try reader.skip(key)
            }
        }
    }

    /// Decodes a whole buffer.
    public init(serialized bytes: some ContiguousBytes) throws(ProtobufDecodingError) {
        self = try ProtobufReader.read(bytes) { (r: inout ProtobufReader) throws(ProtobufDecodingError) in try OpenIMPushMessages(from: &r) }
    }

    /// The serialised message (map entries in key order).
    public var serialized: [UInt8] {
        var w = ProtobufWriter(capacity: 256)
        OpenIMPullMsgsMap.write(1, msgs, to: &w)
        OpenIMPullMsgsMap.write(2, notificationMsgs, to: &w)
        return w.bytes
    }
}

/// `openim.sdkws.PullMessageBySeqsResp` (reqIdentifier 1002 reply): msgs 1,
/// notificationMsgs 2 (same shape as ``OpenIMPushMessages``).
public typealias OpenIMPullMessageBySeqsResp = OpenIMPushMessages

/// `openim.sdkws.SeqRange`: conversationID 1, begin 2, end 3, num 4 (all int64 but the id).
public struct OpenIMSeqRange: Sendable, Hashable {
    public var conversationID: String
    public var begin: Int64
    public var end: Int64
    public var num: Int64

    /// Creates a range `[begin, end]` of `num` seqs.
    public init(conversationID: String, begin: Int64, end: Int64, num: Int64) {
        self.conversationID = conversationID
        self.begin = begin
        self.end = end
        self.num = num
    }

    /// Decodes the message from `reader`.
    public init(from reader: inout ProtobufReader) throws(ProtobufDecodingError) {
        var id = "", b: Int64 = 0, e: Int64 = 0, n: Int64 = 0
        while let key = try reader.nextField() {
            switch key.number {
            case 1: try reader.expect(key, .lengthDelimited); id = try reader.readString()
            case 2: try reader.expect(key, .varint); b = try reader.readInt64()
            case 3: try reader.expect(key, .varint); e = try reader.readInt64()
            case 4: try reader.expect(key, .varint); n = try reader.readInt64()
            default: try reader.skip(key)
            }
        }
        self.init(conversationID: id, begin: b, end: e, num: n)
    }

    /// Writes the fields.
    public func encode(to w: inout ProtobufWriter) {
        w.writeString(1, conversationID)
        w.writeInt64(2, begin)
        w.writeInt64(3, end)
        w.writeInt64(4, num)
    }
}

/// `openim.sdkws.PullMessageBySeqsReq` (reqIdentifier 1002): userID 1, seqRanges 2
/// (repeated SeqRange), order 3 (0 ascending, 1 descending).
public struct OpenIMPullMessageBySeqsReq: Sendable, Hashable {
    public var userID: String
    public var seqRanges: [OpenIMSeqRange]
    public var order: Int32

    /// Creates a request.
    public init(userID: String, seqRanges: [OpenIMSeqRange], order: Int32 = 0) {
        self.userID = userID
        self.seqRanges = seqRanges
        self.order = order
    }

    /// Decodes the message from a whole buffer.
    public init(serialized bytes: some ContiguousBytes) throws(ProtobufDecodingError) {
        self = try ProtobufReader.read(bytes) { (reader: inout ProtobufReader) throws(ProtobufDecodingError) in
            var user = "", ranges: [OpenIMSeqRange] = [], order: Int32 = 0
            while let key = try reader.nextField() {
                switch key.number {
                case 1: try reader.expect(key, .lengthDelimited); user = try reader.readString()
                case 2:
                    try reader.expect(key, .lengthDelimited)
                    ranges.append(try reader.readMessage { (r: inout ProtobufReader) throws(ProtobufDecodingError) in try OpenIMSeqRange(from: &r) })
                case 3: try reader.expect(key, .varint); order = try reader.readInt32()
                default: try reader.skip(key)
                }
            }
            return OpenIMPullMessageBySeqsReq(userID: user, seqRanges: ranges, order: order)
        }
    }

    /// The serialised message.
    public var serialized: [UInt8] {
        var w = ProtobufWriter(capacity: 64 + 48 * seqRanges.count)
        w.writeString(1, userID)
        for range in seqRanges { w.writeMessage(2) { range.encode(to: &$0) } }
        w.writeInt32(3, order)
        return w.bytes
    }
}

/// `openim.sdkws.GetMaxSeqReq` (reqIdentifier 1001): userID 1.
public struct OpenIMGetMaxSeqReq: Sendable, Hashable {
    public var userID: String

    /// Creates a request.
    public init(userID: String) { self.userID = userID }

    /// Decodes the message from a whole buffer.
    public init(serialized bytes: some ContiguousBytes) throws(ProtobufDecodingError) {
        self = try ProtobufReader.read(bytes) { (reader: inout ProtobufReader) throws(ProtobufDecodingError) in
            var user = ""
            while let key = try reader.nextField() {
                switch key.number {
                case 1: try reader.expect(key, .lengthDelimited); user = try reader.readString()
                default: try reader.skip(key)
                }
            }
            return OpenIMGetMaxSeqReq(userID: user)
        }
    }

    /// The serialised message.
    public var serialized: [UInt8] {
        var w = ProtobufWriter(capacity: 16 + userID.utf8.count)
        w.writeString(1, userID)
        return w.bytes
    }
}

/// `openim.sdkws.GetMaxSeqResp` (reqIdentifier 1001 reply): maxSeqs 1 and minSeqs 2,
/// both `map<string, int64>`.
public struct OpenIMGetMaxSeqResp: Sendable, Hashable {
    public var maxSeqs: [String: Int64]
    public var minSeqs: [String: Int64]

    /// Creates a reply.
    public init(maxSeqs: [String: Int64] = [:], minSeqs: [String: Int64] = [:]) {
        self.maxSeqs = maxSeqs
        self.minSeqs = minSeqs
    }

    /// Decodes the message from a whole buffer.
    public init(serialized bytes: some ContiguousBytes) throws(ProtobufDecodingError) {
        self = try ProtobufReader.read(bytes) { (reader: inout ProtobufReader) throws(ProtobufDecodingError) in
            var result = OpenIMGetMaxSeqResp()
            while let key = try reader.nextField() {
                switch key.number {
                case 1, 2:
                    try reader.expect(key, .lengthDelimited)
                    let (k, v) = try reader.readMessage { (r: inout ProtobufReader) throws(ProtobufDecodingError) -> (String, Int64) in
                        var k = "", v: Int64 = 0
                        while let f = try r.nextField() {
                            switch f.number {
                            case 1: try r.expect(f, .lengthDelimited); k = try r.readString()
                            case 2: try r.expect(f, .varint); v = try r.readInt64()
                            default: try r.skip(f)
                            }
                        }
                        return (k, v)
                    }
                    if key.number == 1 { result.maxSeqs[k] = v } else { result.minSeqs[k] = v }
                default: try reader.skip(key)
                }
            }
            return result
        }
    }

    /// The serialised message (entries in key order).
    public var serialized: [UInt8] {
        var w = ProtobufWriter(capacity: 64)
        for (field, map) in [(1, maxSeqs), (2, minSeqs)] {
            for key in map.keys.sorted() {
                let value = map[key] ?? 0
                w.writeMessage(field) { e in
                    e.writeString(1, key, always: true)
                    e.writeInt64(2, value, always: true)
                }
            }
        }
        return w.bytes
    }
}

/// `openim.msg.SendMsgResp` (reqIdentifier 1003 reply): serverMsgID 1, clientMsgID 2,
/// sendTime 3 (ms), modify 4 (MsgData, set when a webhook changed the message).
public struct OpenIMSendMsgResp: Sendable, Hashable {
    public var serverMsgID = ""
    public var clientMsgID = ""
    public var sendTime: Int64 = 0
    public var modify: OpenIMMsgData?

    /// Creates a reply.
    public init(serverMsgID: String = "", clientMsgID: String = "", sendTime: Int64 = 0, modify: OpenIMMsgData? = nil) {
        self.serverMsgID = serverMsgID
        self.clientMsgID = clientMsgID
        self.sendTime = sendTime
        self.modify = modify
    }

    /// Decodes the message from a whole buffer.
    public init(serialized bytes: some ContiguousBytes) throws(ProtobufDecodingError) {
        self = try ProtobufReader.read(bytes) { (reader: inout ProtobufReader) throws(ProtobufDecodingError) in
            var result = OpenIMSendMsgResp()
            while let key = try reader.nextField() {
                switch key.number {
                case 1: try reader.expect(key, .lengthDelimited); result.serverMsgID = try reader.readString()
                case 2: try reader.expect(key, .lengthDelimited); result.clientMsgID = try reader.readString()
                case 3: try reader.expect(key, .varint); result.sendTime = try reader.readInt64()
                case 4:
                    try reader.expect(key, .lengthDelimited)
                    result.modify = try reader.readMessage { (r: inout ProtobufReader) throws(ProtobufDecodingError) in try OpenIMMsgData(from: &r) }
                default: try reader.skip(key)
                }
            }
            return result
        }
    }

    /// The serialised message.
    public var serialized: [UInt8] {
        var w = ProtobufWriter(capacity: 96)
        w.writeString(1, serverMsgID)
        w.writeString(2, clientMsgID)
        w.writeInt64(3, sendTime)
        if let modify { w.writeMessage(4) { modify.encode(to: &$0) } }
        return w.bytes
    }
}
