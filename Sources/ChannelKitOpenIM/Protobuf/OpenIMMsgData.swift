import Foundation
import ChannelKit

/// `openim.sdkws.MsgData` (proto3): one chat message as the msg gateway carries it.
///
/// Field numbers (protocol notes §4): sendID 1, recvID 2, groupID 3, clientMsgID 4,
/// serverMsgID 5, senderPlatformID 6, senderNickname 7, senderFaceURL 8, sessionType 9,
/// msgFrom 10, contentType 11, content 12 (bytes; there is no field 13), seq 14,
/// sendTime 15 (ms), createTime 16 (ms), status 17, isRead 18, options 19
/// (`map<string,bool>`), offlinePushInfo 20, atUserIDList 21, attachedInfo 22, ex 23.
/// Unknown fields are skipped; proto3 defaults are not written.
public struct OpenIMMsgData: Sendable, Hashable {
    public var sendID = ""
    public var recvID = ""
    public var groupID = ""
    public var clientMsgID = ""
    public var serverMsgID = ""
    public var senderPlatformID: Int32 = 0
    public var senderNickname = ""
    public var senderFaceURL = ""
    /// 1 single chat, 3 group, 4 notification.
    public var sessionType: Int32 = 0
    /// 100 user, 200 system.
    public var msgFrom: Int32 = 0
    /// 101 text, 102 picture, 104 video, 105 file, 106 @-text, 110 custom, 114 quote, …
    public var contentType: Int32 = 0
    /// The UTF-8 JSON of the content elem.
    public var content: [UInt8] = []
    public var seq: Int64 = 0
    /// Server send time, ms since 1970.
    public var sendTime: Int64 = 0
    /// Client creation time, ms since 1970.
    public var createTime: Int64 = 0
    public var status: Int32 = 0
    public var isRead = false
    /// Message options (`history`, `persistent`, …); a missing key means `true`.
    public var options: [String: Bool] = [:]
    public var offlinePushInfo: OpenIMOfflinePushInfo?
    public var atUserIDList: [String] = []
    public var attachedInfo = ""
    public var ex = ""

    /// An empty message.
    public init() {}

    /// Decodes a message from `reader` (positioned inside the message).
    /// - Throws: ``ProtobufDecodingError`` for malformed bytes or a field with the wrong
    ///   wire type.
    public init(from reader: inout ProtobufReader) throws(ProtobufDecodingError) {
        while let key = try reader.nextField() {
            switch key.number {
            case 1: try reader.expect(key, .lengthDelimited); sendID = try reader.readString()
            case 2: try reader.expect(key, .lengthDelimited); recvID = try reader.readString()
            case 3: try reader.expect(key, .lengthDelimited); groupID = try reader.readString()
            case 4: try reader.expect(key, .lengthDelimited); clientMsgID = try reader.readString()
            case 5: try reader.expect(key, .lengthDelimited); serverMsgID = try reader.readString()
            case 6: try reader.expect(key, .varint); senderPlatformID = try reader.readInt32()
            case 7: try reader.expect(key, .lengthDelimited); senderNickname = try reader.readString()
            case 8: try reader.expect(key, .lengthDelimited); senderFaceURL = try reader.readString()
            case 9: try reader.expect(key, .varint); sessionType = try reader.readInt32()
            case 10: try reader.expect(key, .varint); msgFrom = try reader.readInt32()
            case 11: try reader.expect(key, .varint); contentType = try reader.readInt32()
            case 12: try reader.expect(key, .lengthDelimited); content = try reader.readBytes()
            case 14: try reader.expect(key, .varint); seq = try reader.readInt64()
            case 15: try reader.expect(key, .varint); sendTime = try reader.readInt64()
            case 16: try reader.expect(key, .varint); createTime = try reader.readInt64()
            case 17: try reader.expect(key, .varint); status = try reader.readInt32()
            case 18: try reader.expect(key, .varint); isRead = try reader.readBool()
            case 19:
                try reader.expect(key, .lengthDelimited)
                let (k, v) = try reader.readMessage { (r: inout ProtobufReader) throws(ProtobufDecodingError) -> (String, Bool) in
                    var k = "", v = false
                    while let f = try r.nextField() {
                        switch f.number {
                        case 1: try r.expect(f, .lengthDelimited); k = try r.readString()
                        case 2: try r.expect(f, .varint); v = try r.readBool()
                        default: try r.skip(f)
                        }
                    }
                    return (k, v)
                }
                options[k] = v
            case 20:
                try reader.expect(key, .lengthDelimited)
                offlinePushInfo = try reader.readMessage { (r: inout ProtobufReader) throws(ProtobufDecodingError) in try OpenIMOfflinePushInfo(from: &r) }
            case 21: try reader.expect(key, .lengthDelimited); atUserIDList.append(try reader.readString())
            case 22: try reader.expect(key, .lengthDelimited); attachedInfo = try reader.readString()
            case 23: try reader.expect(key, .lengthDelimited); ex = try reader.readString()
            default: try reader.skip(key)
            }
        }
    }

    /// Decodes a whole buffer as one message.
    public init(serialized bytes: some ContiguousBytes) throws(ProtobufDecodingError) {
        self = try ProtobufReader.read(bytes) { (r: inout ProtobufReader) throws(ProtobufDecodingError) in try OpenIMMsgData(from: &r) }
    }

    /// Writes the fields (defaults omitted, map entries in key order for stable bytes).
    public func encode(to w: inout ProtobufWriter) {
        w.writeString(1, sendID)
        w.writeString(2, recvID)
        w.writeString(3, groupID)
        w.writeString(4, clientMsgID)
        w.writeString(5, serverMsgID)
        w.writeInt32(6, senderPlatformID)
        w.writeString(7, senderNickname)
        w.writeString(8, senderFaceURL)
        w.writeInt32(9, sessionType)
        w.writeInt32(10, msgFrom)
        w.writeInt32(11, contentType)
        w.writeBytes(12, content)
        w.writeInt64(14, seq)
        w.writeInt64(15, sendTime)
        w.writeInt64(16, createTime)
        w.writeInt32(17, status)
        w.writeBool(18, isRead)
        for key in options.keys.sorted() {
            let value = options[key] ?? true
            w.writeMessage(19) { e in
                e.writeString(1, key, always: true)
                e.writeBool(2, value, always: true)
            }
        }
        if let offlinePushInfo {
            w.writeMessage(20) { offlinePushInfo.encode(to: &$0) }
        }
        for id in atUserIDList { w.writeString(21, id, always: true) }
        w.writeString(22, attachedInfo)
        w.writeString(23, ex)
    }

    /// The serialised message.
    public var serialized: [UInt8] {
        var w = ProtobufWriter(capacity: 128 + content.count)
        encode(to: &w)
        return w.bytes
    }
}

/// `openim.sdkws.OfflinePushInfo`: title 1, desc 2, ex 3, iOSPushSound 4,
/// iOSBadgeCount 5 (bool), signalInfo 6.
public struct OpenIMOfflinePushInfo: Sendable, Hashable {
    public var title = ""
    public var desc = ""
    public var ex = ""
    public var iOSPushSound = ""
    public var iOSBadgeCount = false
    public var signalInfo = ""

    /// Empty info.
    public init(title: String = "", desc: String = "", ex: String = "", iOSPushSound: String = "", iOSBadgeCount: Bool = false, signalInfo: String = "") {
        self.title = title
        self.desc = desc
        self.ex = ex
        self.iOSPushSound = iOSPushSound
        self.iOSBadgeCount = iOSBadgeCount
        self.signalInfo = signalInfo
    }

    /// Decodes the message from `reader`.
    public init(from reader: inout ProtobufReader) throws(ProtobufDecodingError) {
        while let key = try reader.nextField() {
            switch key.number {
            case 1: try reader.expect(key, .lengthDelimited); title = try reader.readString()
            case 2: try reader.expect(key, .lengthDelimited); desc = try reader.readString()
            case 3: try reader.expect(key, .lengthDelimited); ex = try reader.readString()
            case 4: try reader.expect(key, .lengthDelimited); iOSPushSound = try reader.readString()
            case 5: try reader.expect(key, .varint); iOSBadgeCount = try reader.readBool()
            case 6: try reader.expect(key, .lengthDelimited); signalInfo = try reader.readString()
            default: try reader.skip(key)
            }
        }
    }

    /// Writes the fields (defaults omitted).
    public func encode(to w: inout ProtobufWriter) {
        w.writeString(1, title)
        w.writeString(2, desc)
        w.writeString(3, ex)
        w.writeString(4, iOSPushSound)
        w.writeBool(5, iOSBadgeCount)
        w.writeString(6, signalInfo)
    }
}
