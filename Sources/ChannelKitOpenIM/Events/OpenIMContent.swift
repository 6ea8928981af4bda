import Foundation
import ChannelKit

/// The decoded content elem of one message (`MsgData.content`, UTF-8 JSON), reduced to
/// what an inbound message needs.
public struct OpenIMContent: Sendable, Hashable {
    /// The text (text, @-text, quote, custom `data`, markdown).
    public var text = ""
    /// Media (picture, voice, video, file).
    public var attachments: [Attachment] = []
    /// `atUserList` of an @-text elem.
    public var atUserIDs: [String] = []
    /// The quoted message's `clientMsgID` (else `serverMsgID`) of a quote elem.
    public var quotedMessageID: String?

    /// Creates content.
    public init(text: String = "", attachments: [Attachment] = [], atUserIDs: [String] = [], quotedMessageID: String? = nil) {
        self.text = text
        self.attachments = attachments
        self.atUserIDs = atUserIDs
        self.quotedMessageID = quotedMessageID
    }

    /// The content types ChannelKit decodes: 101 text, 102 picture, 103 voice, 104 video,
    /// 105 file, 106 @-text, 110 custom, 114 quote, 117 advanced text, 118 markdown.
    public static let supportedContentTypes: Set<Int32> = [101, 102, 103, 104, 105, 106, 110, 114, 117, 118]

    /// Decodes the elem of `contentType` from its JSON bytes. Members of an unexpected
    /// type are ignored (an elem is a loose, SDK-written object); malformed JSON throws.
    /// - Throws: ``OpenIMFrameError`` with the JSON path of the problem (`content$…`).
    public static func decode(contentType: Int32, _ bytes: UnsafeBufferPointer<UInt8>) throws(OpenIMFrameError) -> OpenIMContent {
        var ascii = true
        for b in bytes where b >= 0x80 { ascii = false; break }
        if !ascii, String(validating: bytes, as: UTF8.self) == nil {
            throw OpenIMFrameError(message: "content of type \(contentType) is not UTF-8", location: "content")
        }
        var s = JSONScanner(bytes)
        var c = OpenIMContent()
        var media = MediaFields()
        do throws(JSONScanner.Failure) {
            try s.beginObject()
            var first = true
            while let key = try s.nextKey(&first) {
                switch contentType {
                case 101, 118:
                    if s.matches(key, "content") || (c.text.isEmpty && s.matches(key, "text")) { c.text = try lenientString(&s) ?? c.text } else { _ = try s.skipValue() }
                case 106:
                    if s.matches(key, "text") { c.text = try lenientString(&s) ?? "" }
                    else if s.matches(key, "atUserList") { c.atUserIDs = try stringArray(&s) }
                    else { _ = try s.skipValue() }
                case 114:
                    if s.matches(key, "text") { c.text = try lenientString(&s) ?? "" }
                    else if s.matches(key, "quoteMessage") {
                        var q = MediaFields()
                        try object(&s) { (s: inout JSONScanner, key: JSONScanner.Key) throws(JSONScanner.Failure) in
                            if s.matches(key, "clientMsgID") { q.a = try lenientString(&s) }
                            else if s.matches(key, "serverMsgID") { q.b = try lenientString(&s) }
                            else { _ = try s.skipValue() }
                        }
                        c.quotedMessageID = nonEmpty(q.a) ?? nonEmpty(q.b)
                    } else { _ = try s.skipValue() }
                case 117:
                    if s.matches(key, "text") { c.text = try lenientString(&s) ?? "" } else { _ = try s.skipValue() }
                case 110:
                    if s.matches(key, "data") { c.text = try lenientString(&s) ?? "" }
                    else if s.matches(key, "description") { media.name = try lenientString(&s) }
                    else { _ = try s.skipValue() }
                case 102:
                    if s.matches(key, "sourcePicture") || s.matches(key, "bigPicture") {
                        let isSource = s.matches(key, "sourcePicture")
                        var p = MediaFields()
                        try object(&s) { (s: inout JSONScanner, key: JSONScanner.Key) throws(JSONScanner.Failure) in
                            if s.matches(key, "url") { p.url = try lenientString(&s) }
                            else if s.matches(key, "type") { p.mime = try lenientString(&s) }
                            else if s.matches(key, "size") { p.size = try lenientInt(&s) }
                            else if s.matches(key, "uuid") { p.name = try lenientString(&s) }
                            else { _ = try s.skipValue() }
                        }
                        if isSource || nonEmpty(media.url) == nil { media = p }
                    } else { _ = try s.skipValue() }
                case 103:
                    if s.matches(key, "sourceUrl") { media.url = try lenientString(&s) }
                    else if s.matches(key, "dataSize") { media.size = try lenientInt(&s) }
                    else if s.matches(key, "soundType") { media.mime = try lenientString(&s) }
                    else if s.matches(key, "uuid") { media.name = try lenientString(&s) }
                    else { _ = try s.skipValue() }
                case 104:
                    if s.matches(key, "videoUrl") { media.url = try lenientString(&s) }
                    else if s.matches(key, "videoSize") { media.size = try lenientInt(&s) }
                    else if s.matches(key, "videoType") { media.mime = try lenientString(&s) }
                    else if s.matches(key, "videoUUID") { media.name = try lenientString(&s) }
                    else { _ = try s.skipValue() }
                case 105:
                    if s.matches(key, "sourceUrl") { media.url = try lenientString(&s) }
                    else if s.matches(key, "fileSize") { media.size = try lenientInt(&s) }
                    else if s.matches(key, "fileType") { media.mime = try lenientString(&s) }
                    else if s.matches(key, "fileName") { media.name = try lenientString(&s) }
                    else { _ = try s.skipValue() }
                default:
                    _ = try s.skipValue()
                }
            }
            try s.expectEnd()
        } catch {
            throw OpenIMFrameError(message: "content of type \(contentType) is not a JSON object: \(error.reason)", location: "content")
        }
        let kind: Attachment.Kind?
        switch contentType {
        case 102: kind = .image
        case 103: kind = .audio
        case 104: kind = .video
        case 105: kind = .file
        default: kind = nil
        }
        if let kind, let url = nonEmpty(media.url) {
            c.attachments = [Attachment(kind: kind, url: url, name: nonEmpty(media.name), mimeType: nonEmpty(media.mime), size: media.size)]
        }
        if contentType == 110, c.text.isEmpty, let description = nonEmpty(media.name) { c.text = description }
        return c
    }

    private struct MediaFields {
        var url: String?
        var mime: String?
        var size: Int?
        var name: String?
        var a: String?
        var b: String?
    }

    @inline(__always)
    private static func nonEmpty(_ s: String?) -> String? {
        guard let s, !s.isEmpty else { return nil }
        return s
    }

    /// A string, or `nil` (value skipped) for any other type.
    private static func lenientString(_ s: inout JSONScanner) throws(JSONScanner.Failure) -> String? {
        guard s.peek() == UInt8(ascii: "\"") else { _ = try s.skipValue(); return nil }
        return try s.readString()
    }

    /// An integer, or `nil` (value skipped) for any other type or a fraction.
    private static func lenientInt(_ s: inout JSONScanner) throws(JSONScanner.Failure) -> Int? {
        guard let b = s.peek(), b == UInt8(ascii: "-") || (b >= 0x30 && b <= 0x39) else { _ = try s.skipValue(); return nil }
        let range = try s.skipValue()
        var value = 0
        var negative = false
        for i in range {
            let d = s.bytes[i]
            if d == UInt8(ascii: "-") { negative = true; continue }
            guard d >= 0x30, d <= 0x39 else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (r, o2) = m.addingReportingOverflow(Int(d - 0x30))
            if o1 || o2 { return nil }
            value = r
        }
        return negative ? -value : value
    }

    /// The strings of an array (other elements skipped), or `[]` for a non-array.
    private static func stringArray(_ s: inout JSONScanner) throws(JSONScanner.Failure) -> [String] {
        guard s.peek() == UInt8(ascii: "[") else { _ = try s.skipValue(); return [] }
        var out: [String] = []
        if try s.beginArray() {
            repeat {
                if let v = try lenientString(&s) { out.append(v) }
            } while try s.nextElement()
        }
        return out
    }

    /// Walks an object's members (a non-object is skipped).
    private static func object(_ s: inout JSONScanner, _ body: (inout JSONScanner, JSONScanner.Key) throws(JSONScanner.Failure) -> Void) throws(JSONScanner.Failure) {
        guard s.peek() == UInt8(ascii: "{") else { _ = try s.skipValue(); return }
        try s.beginObject()
        var first = true
        while let key = try s.nextKey(&first) { try body(&s, key) }
    }
}
