import Foundation
import ChannelKit

/// The msg gateway's `reqIdentifier` values (protocol notes §2).
public enum OpenIMReqIdentifier {
    /// `WSGetNewestSeq`: GetMaxSeqReq → GetMaxSeqResp.
    public static let getNewestSeq = 1001
    /// `WSPullMsgBySeqList`: PullMessageBySeqsReq → PullMessageBySeqsResp.
    public static let pullMsgBySeqList = 1002
    /// `WSSendMsg`: raw MsgData → SendMsgResp.
    public static let sendMsg = 1003
    /// `WSPushMsg` (server push): PushMessages.
    public static let pushMsg = 2001
    /// `WSKickOnlineMsg` (server): the token was kicked; the server closes.
    public static let kickOnlineMsg = 2002
}

/// A reply or push from the msg gateway (a binary frame in JSON mode):
/// `{"reqIdentifier","msgIncr","operationID","errCode","errMsg","data":"<base64>"}`.
public struct OpenIMResponseEnvelope: Sendable, Hashable {
    public var reqIdentifier: Int
    public var msgIncr: String
    public var operationID: String
    public var errCode: Int
    public var errMsg: String
    /// The decoded `data` (empty for `null` or absent).
    public var data: [UInt8]

    /// Creates an envelope.
    public init(reqIdentifier: Int, msgIncr: String = "", operationID: String = "", errCode: Int = 0, errMsg: String = "", data: [UInt8] = []) {
        self.reqIdentifier = reqIdentifier
        self.msgIncr = msgIncr
        self.operationID = operationID
        self.errCode = errCode
        self.errMsg = errMsg
        self.data = data
    }
}

/// Why a frame from the msg gateway could not be read: what and where (a JSON path or
/// a protobuf byte offset). Never contains frame bytes.
public struct OpenIMFrameError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong.
    public var message: String
    /// Where: `$.data`, `$.reqIdentifier`, `protobuf byte 12 (field 5)`, …
    public var location: String

    public var description: String { "\(message) at \(location)" }

    /// As a ``ChannelError`` `.malformedInput` for `account`.
    func channelError(_ account: AccountKey, frame: String) -> ChannelError {
        ChannelError(.malformedInput, "OpenIM \(frame): \(message)", account: account, location: location)
    }
}

/// Encodes requests and decodes replies/pushes of the msg gateway's JSON encoder.
public enum OpenIMEnvelopeCodec {
    /// The JSON request, sent as a binary frame:
    /// `{"reqIdentifier":N,"token":"","sendID":U,"operationID":O,"msgIncr":M,"data":"<base64>"}`.
    /// The token travels only in the connect URL, never in frames.
    public static func encodeRequest(reqIdentifier: Int, sendID: String, operationID: String, msgIncr: String, data: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(96 + sendID.utf8.count + operationID.utf8.count + msgIncr.utf8.count + (data.count + 2) / 3 * 4)
        out.append(contentsOf: #"{"reqIdentifier":"#.utf8)
        out.append(contentsOf: String(reqIdentifier).utf8)
        out.append(contentsOf: #","token":"","sendID":"#.utf8)
        out.append(contentsOf: JSONValue.quoted(sendID).utf8)
        out.append(contentsOf: #","operationID":"#.utf8)
        out.append(contentsOf: JSONValue.quoted(operationID).utf8)
        out.append(contentsOf: #","msgIncr":"#.utf8)
        out.append(contentsOf: JSONValue.quoted(msgIncr).utf8)
        out.append(contentsOf: #","data":""#.utf8)
        OpenIMBase64.encode(data, into: &out)
        out.append(contentsOf: "\"}".utf8)
        return out
    }

    /// Decodes a reply or push envelope from the frame's bytes.
    /// - Throws: ``OpenIMFrameError`` for bytes that are not UTF-8, malformed JSON, a missing or non-integer
    ///   `reqIdentifier`, or a `data` that is not base64.
    public static func decodeResponse(_ bytes: UnsafeBufferPointer<UInt8>) throws(OpenIMFrameError) -> OpenIMResponseEnvelope {
        // JSON is UTF-8: a binary frame that is not is refused whole (ASCII, the usual
        // case, costs one pass over the bytes).
        var ascii = true
        for b in bytes where b >= 0x80 { ascii = false; break }
        if !ascii, String(validating: bytes, as: UTF8.self) == nil {
            throw OpenIMFrameError(message: "frame is not UTF-8", location: "$")
        }
        var s = JSONScanner(bytes)
        var env = OpenIMResponseEnvelope(reqIdentifier: 0)
        var sawReq = false
        var field = "$"
        var dataValue: JSONScanner.StringValue?
        do throws(JSONScanner.Failure) {
            try s.beginObject()
            var first = true
            while let key = try s.nextKey(&first) {
                if s.matches(key, "reqIdentifier") {
                    field = "$.reqIdentifier"; env.reqIdentifier = try s.readInt(); sawReq = true
                } else if s.matches(key, "msgIncr") {
                    field = "$.msgIncr"; env.msgIncr = try s.readOptionalString() ?? ""
                } else if s.matches(key, "operationID") {
                    field = "$.operationID"; env.operationID = try s.readOptionalString() ?? ""
                } else if s.matches(key, "errCode") {
                    field = "$.errCode"; env.errCode = try s.readOptionalInt() ?? 0
                } else if s.matches(key, "errMsg") {
                    field = "$.errMsg"; env.errMsg = try s.readOptionalString() ?? ""
                } else if s.matches(key, "data") {
                    field = "$.data"
                    if try s.consumeNull() { continue }
                    dataValue = try s.readStringValue()
                } else {
                    field = "$." + s.decodedName(key)
                    _ = try s.skipValue()
                }
                field = "$"
            }
            try s.expectEnd()
        } catch {
            throw OpenIMFrameError(message: "not a gateway envelope: \(error.reason)", location: field)
        }
        guard sawReq else { throw OpenIMFrameError(message: "missing reqIdentifier", location: "$.reqIdentifier") }
        if let dataValue {
            let decoded: [UInt8]?
            switch dataValue {
            case .raw(let range): decoded = OpenIMBase64.decode(UnsafeBufferPointer(rebasing: bytes[range]))
            case .decoded(let text): decoded = OpenIMBase64.decode(text)
            }
            guard let decoded else { throw OpenIMFrameError(message: "data is not base64", location: "$.data") }
            env.data = decoded
        }
        return env
    }

    /// Decodes a reply or push envelope.
    public static func decodeResponse(_ data: Data) throws(OpenIMFrameError) -> OpenIMResponseEnvelope {
        let result: Result<OpenIMResponseEnvelope, OpenIMFrameError> = data.withUnsafeBytes { raw in
            let buffer = raw.bindMemory(to: UInt8.self)
            do throws(OpenIMFrameError) { return .success(try decodeResponse(buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// A text frame from the gateway.
    public enum TextFrame: Sendable, Hashable {
        /// The `isMsgResp` connect result `{"errCode":N,"errMsg":…,"errDlt":…}`.
        case connectResult(errCode: Int, errMsg: String)
        /// `{"type":"pong",…}` (or `ping`).
        case heartbeat(type: String)
    }

    /// Decodes a text frame.
    /// - Throws: ``OpenIMFrameError`` when it is neither shape.
    public static func decodeText(_ text: String) throws(OpenIMFrameError) -> TextFrame {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)), let object = value.objectValue else {
            throw OpenIMFrameError(message: "text frame is not a JSON object", location: "$")
        }
        if let type = object["type"]?.stringValue { return .heartbeat(type: type) }
        guard let codeValue = object["errCode"] else { throw OpenIMFrameError(message: "text frame without errCode or type", location: "$.errCode") }
        guard let code = codeValue.intValue else { throw OpenIMFrameError(message: "errCode is not an integer", location: "$.errCode") }
        return .connectResult(errCode: code, errMsg: object["errMsg"]?.stringValue ?? "")
    }
}
