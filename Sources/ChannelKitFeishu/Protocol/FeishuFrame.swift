import Foundation
import ChannelKit

/// One frame of Feishu's long-connection protocol (`pbbp2.Frame`, proto2), encoded and
/// decoded on the core ``ProtobufReader``/``ProtobufWriter``.
///
/// ```
/// message Header { required string key = 1; required string value = 2; }
/// message Frame { required uint64 SeqID = 1; required uint64 LogID = 2;
///   required int32 service = 3; required int32 method = 4; repeated Header headers = 5;
///   optional string payload_encoding = 6; optional string payload_type = 7;
///   optional bytes payload = 8; optional string LogIDNew = 9; }
/// ```
///
/// Fields 1–4 are required: always encoded, even when 0, and a decoded frame without one
/// of them is rejected (`missingRequiredField`). Optional fields are encoded only when
/// set. Unknown fields are skipped.
public struct FeishuFrame: Sendable, Hashable {
    /// `method` of control frames (ping, pong).
    public static let methodControl: Int32 = 0
    /// `method` of data frames (events, cards).
    public static let methodData: Int32 = 1

    /// One `Header` entry.
    public struct Header: Sendable, Hashable {
        /// The key (`type`, `message_id`, `sum`, `seq`, `trace_id`, `biz_rt`, …).
        public var key: String
        /// The value.
        public var value: String
        /// Creates a header.
        public init(_ key: String, _ value: String) {
            self.key = key
            self.value = value
        }
    }

    /// Field 1.
    public var seqID: UInt64
    /// Field 2.
    public var logID: UInt64
    /// Field 3: the service id (the endpoint URL's `service_id` on pings).
    public var service: Int32
    /// Field 4: ``methodControl`` or ``methodData``.
    public var method: Int32
    /// Field 5, in order.
    public var headers: [Header]
    /// Field 6, when present.
    public var payloadEncoding: String?
    /// Field 7, when present.
    public var payloadType: String?
    /// Field 8, when present.
    public var payload: [UInt8]?
    /// Field 9, when present.
    public var logIDNew: String?

    /// Creates a frame.
    public init(seqID: UInt64 = 0, logID: UInt64 = 0, service: Int32 = 0, method: Int32, headers: [Header] = [],
                payloadEncoding: String? = nil, payloadType: String? = nil, payload: [UInt8]? = nil, logIDNew: String? = nil) {
        self.seqID = seqID
        self.logID = logID
        self.service = service
        self.method = method
        self.headers = headers
        self.payloadEncoding = payloadEncoding
        self.payloadType = payloadType
        self.payload = payload
        self.logIDNew = logIDNew
    }

    /// The first value of header `key`, if present.
    public func header(_ key: String) -> String? {
        for h in headers where h.key == key { return h.value }
        return nil
    }

    /// A client ping for `service`: SeqID 0, LogID 0, method 0, `type: ping`, no payload.
    public static func ping(service: Int32) -> FeishuFrame {
        FeishuFrame(service: service, method: methodControl, headers: [Header("type", "ping")])
    }

    /// The ack of a completed data frame: the same SeqID, LogID, service, method and
    /// headers plus `biz_rt` (handler milliseconds), payload `{"code":<code>}`.
    public func ack(code: Int = 200, businessMilliseconds: Int = 0) -> FeishuFrame {
        var copy = self
        copy.headers.append(Header("biz_rt", String(businessMilliseconds)))
        copy.payload = Array(#"{"code":\#(code)}"#.utf8)
        return copy
    }

    /// The wire bytes of ``ack(code:businessMilliseconds:)``, written straight from this
    /// frame without building the copy.
    public func encodedAck(code: Int = 200, businessMilliseconds: Int = 0) -> [UInt8] {
        var writer = ProtobufWriter(capacity: 48 + headers.count * 24)
        writer.writeUInt64(1, seqID, always: true)
        writer.writeUInt64(2, logID, always: true)
        writer.writeInt32(3, service, always: true)
        writer.writeInt32(4, method, always: true)
        for h in headers {
            writer.writeMessage(5) { w in
                w.writeString(1, h.key, always: true)
                w.writeString(2, h.value, always: true)
            }
        }
        writer.writeMessage(5) { w in
            w.writeString(1, "biz_rt", always: true)
            w.writeString(2, String(businessMilliseconds), always: true)
        }
        if let payloadEncoding { writer.writeString(6, payloadEncoding, always: true) }
        if let payloadType { writer.writeString(7, payloadType, always: true) }
        if code == 200 {
            writer.writeBytes(8, Self.ack200, always: true)
        } else {
            writer.writeBytes(8, Array(#"{"code":\#(code)}"#.utf8), always: true)
        }
        if let logIDNew { writer.writeString(9, logIDNew, always: true) }
        return writer.bytes
    }

    private static let ack200: [UInt8] = Array(#"{"code":200}"#.utf8)

    /// The ack of the data frame whose wire bytes are `raw`: every field of it copied
    /// byte for byte except the payload, then a `biz_rt` header and the payload
    /// `{"code":<code>}` (the hot path: nothing is re-encoded).
    /// - Throws: ``ProtobufDecodingError`` when `raw` is not well-formed protobuf.
    public static func encodedAck(echoing raw: UnsafeBufferPointer<UInt8>, code: Int = 200,
                                  businessMilliseconds: Int = 0) throws(ProtobufDecodingError) -> [UInt8] {
        var writer = ProtobufWriter(capacity: raw.count + 32)
        var reader = ProtobufReader(raw)
        var start = reader.offset
        while let key = try reader.nextField() {
            try reader.skip(key)
            if key.number != 8 { writer.writeRaw(UnsafeBufferPointer(rebasing: raw[start..<reader.offset])) }
            start = reader.offset
        }
        writer.writeMessage(5) { w in
            w.writeString(1, "biz_rt", always: true)
            w.writeString(2, String(businessMilliseconds), always: true)
        }
        if code == 200 {
            writer.writeBytes(8, ack200, always: true)
        } else {
            writer.writeBytes(8, Array(#"{"code":\#(code)}"#.utf8), always: true)
        }
        return writer.bytes
    }

    // MARK: Encoding

    /// The wire bytes.
    public func encoded() -> [UInt8] {
        var writer = ProtobufWriter(capacity: 32 + (payload?.count ?? 0) + headers.count * 24)
        encode(into: &writer)
        return writer.bytes
    }

    /// Appends the wire bytes to `writer`.
    public func encode(into writer: inout ProtobufWriter) {
        writer.writeUInt64(1, seqID, always: true)
        writer.writeUInt64(2, logID, always: true)
        writer.writeInt32(3, service, always: true)
        writer.writeInt32(4, method, always: true)
        for h in headers {
            writer.writeMessage(5) { w in
                w.writeString(1, h.key, always: true)
                w.writeString(2, h.value, always: true)
            }
        }
        if let payloadEncoding { writer.writeString(6, payloadEncoding, always: true) }
        if let payloadType { writer.writeString(7, payloadType, always: true) }
        if let payload { writer.writeBytes(8, payload, always: true) }
        if let logIDNew { writer.writeString(9, logIDNew, always: true) }
    }

    // MARK: Decoding

    /// Decodes a frame.
    /// - Throws: ``ProtobufDecodingError`` for malformed protobuf, a wrong wire type on a
    ///   known field, or a missing required field (1–4 of the frame, 1–2 of a header).
    public static func decode(_ bytes: some ContiguousBytes) throws(ProtobufDecodingError) -> FeishuFrame {
        try ProtobufReader.read(bytes) { reader throws(ProtobufDecodingError) in try decode(from: &reader) }
    }

    /// Decodes a frame from a byte array (the hot path: no generic dispatch).
    public static func decode(_ bytes: [UInt8]) throws(ProtobufDecodingError) -> FeishuFrame {
        var result: Result<FeishuFrame, ProtobufDecodingError>?
        bytes.withUnsafeBufferPointer { buffer in result = decodeResult(buffer) }
        return try result!.get()
    }

    /// Decodes a frame from `Data` (a WebSocket binary message).
    public static func decode(_ data: Data) throws(ProtobufDecodingError) -> FeishuFrame {
        var result: Result<FeishuFrame, ProtobufDecodingError>?
        data.withUnsafeBytes { raw in result = decodeResult(raw.bindMemory(to: UInt8.self)) }
        return try result!.get()
    }

    private static func decodeResult(_ buffer: UnsafeBufferPointer<UInt8>) -> Result<FeishuFrame, ProtobufDecodingError> {
        var reader = ProtobufReader(buffer)
        do throws(ProtobufDecodingError) { return .success(try decode(from: &reader, buffer: buffer)) } catch { return .failure(error) }
    }

    /// Decodes a frame from a reader positioned at its start (reads to the end).
    public static func decode(from reader: inout ProtobufReader) throws(ProtobufDecodingError) -> FeishuFrame {
        try decode(from: &reader, buffer: nil)
    }

    /// Reads one `Header` message from `bytes`; error offsets are shifted by `base`.
    private static func header(_ bytes: UnsafeBufferPointer<UInt8>, base: Int) throws(ProtobufDecodingError) -> Header {
        var r = ProtobufReader(bytes)
        do throws(ProtobufDecodingError) {
            return try headerFields(&r)
        } catch {
            var shifted = error
            shifted.offset += base
            throw shifted
        }
    }

    /// The fields of one `Header` message (both required).
    @inline(__always)
    private static func headerFields(_ r: inout ProtobufReader) throws(ProtobufDecodingError) -> Header {
        var k: String?, v: String?
        while let hk = try r.nextField() {
            switch hk.number {
            case 1: try r.expect(hk, .lengthDelimited); k = try r.readString()
            case 2: try r.expect(hk, .lengthDelimited); v = try r.readString()
            default: try r.skip(hk)
            }
        }
        guard let k, let v else {
            throw ProtobufDecodingError(.missingRequiredField, offset: r.offset, field: k == nil ? 1 : 2,
                                        message: "pbbp2.Header without \(k == nil ? "key" : "value")")
        }
        return Header(k, v)
    }

    /// `buffer`: the whole frame when known, so headers are read without the generic
    /// nested-message reader (the hot path).
    private static func decode(from reader: inout ProtobufReader, buffer: UnsafeBufferPointer<UInt8>?) throws(ProtobufDecodingError) -> FeishuFrame {
        var frame = FeishuFrame(method: 0)
        frame.headers.reserveCapacity(6)
        var seen: UInt8 = 0
        while let key = try reader.nextField() {
            switch key.number {
            case 1: try reader.expect(key, .varint); frame.seqID = try reader.readUInt64(); seen |= 1
            case 2: try reader.expect(key, .varint); frame.logID = try reader.readUInt64(); seen |= 2
            case 3: try reader.expect(key, .varint); frame.service = try reader.readInt32(); seen |= 4
            case 4: try reader.expect(key, .varint); frame.method = try reader.readInt32(); seen |= 8
            case 5 where buffer != nil:
                try reader.expect(key, .lengthDelimited)
                let range = try reader.readLengthDelimitedRange()
                frame.headers.append(try header(UnsafeBufferPointer(rebasing: buffer![range]), base: range.lowerBound))
            case 5:
                try reader.expect(key, .lengthDelimited)
                frame.headers.append(try reader.readMessage { r throws(ProtobufDecodingError) in try headerFields(&r) })
            case 6: try reader.expect(key, .lengthDelimited); frame.payloadEncoding = try reader.readString()
            case 7: try reader.expect(key, .lengthDelimited); frame.payloadType = try reader.readString()
            case 8: try reader.expect(key, .lengthDelimited); frame.payload = try reader.readBytes()
            case 9: try reader.expect(key, .lengthDelimited); frame.logIDNew = try reader.readString()
            default: try reader.skip(key)
            }
        }
        guard seen == 0b1111 else {
            var missing = 1
            while missing < 4, seen & (1 << UInt8(missing - 1)) != 0 { missing += 1 }
            let names = ["SeqID", "LogID", "service", "method"]
            throw ProtobufDecodingError(.missingRequiredField, offset: reader.offset, field: missing,
                                        message: "pbbp2.Frame without required field \(names[missing - 1])")
        }
        return frame
    }
}
