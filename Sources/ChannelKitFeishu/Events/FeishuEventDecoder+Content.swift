import Foundation
import ChannelKit

/// Message `content` on the fast path: text, media keys and rich-text posts.
extension FeishuEventDecoder {
    /// Parses `content` for the mapped message types; `nil` when it is not a JSON object.
    static func parseContentFast(_ content: String, type: String, account: AccountKey) throws(ChannelError) -> FeishuContent? {
        var copy = content
        var result: Result<FeishuContent?, JSONScanner.Failure> = .success(nil)
        copy.withUTF8 { buffer in
            do throws(JSONScanner.Failure) {
                var s = JSONScanner(buffer)
                guard s.peek() == UInt8(ascii: "{") else {
                    // Valid JSON that is not an object: not a mapped content.
                    _ = try s.skipValue()
                    try s.expectEnd()
                    result = .success(nil)
                    return
                }
                let parsed: FeishuContent
                if type == "post" {
                    parsed = try parsePost(&s)
                } else {
                    parsed = try parseFlat(&s, type: type)
                }
                try s.expectEnd()
                result = .success(parsed)
            } catch {
                result = .failure(error)
            }
        }
        switch result {
        case .success(let c): return c
        case .failure(let error):
            throw ChannelError(.malformedInput, "unreadable message content: \(error.reason)", account: account,
                               location: "$.event.message.content byte \(error.offset)")
        }
    }

    private static func parseFlat(_ s: inout JSONScanner, type: String) throws(JSONScanner.Failure) -> FeishuContent {
        var text = "", imageKey = "", fileKey = "", fileName = ""
        try s.beginObject()
        var first = true
        while let k = try s.nextKey(&first) {
            if Self.named(s, k, "text") { text = try stringValue(&s) }
            else if Self.named(s, k, "image_key") { imageKey = try stringValue(&s) }
            else if Self.named(s, k, "file_key") { fileKey = try stringValue(&s) }
            else if Self.named(s, k, "file_name") { fileName = try stringValue(&s) }
            else { _ = try s.skipValue() }
        }
        return flatContent(type: type, text: text, imageKey: imageKey, fileKey: fileKey, fileName: fileName)
    }

    /// A string member, or "" for any other JSON type (`JSONSerialization` parity: a
    /// non-string is ignored).
    private static func stringValue(_ s: inout JSONScanner) throws(JSONScanner.Failure) -> String {
        if s.peek() == UInt8(ascii: "\"") { return try s.readString() }
        _ = try s.skipValue()
        return ""
    }

    static func flatContent(type: String, text: String, imageKey: String, fileKey: String, fileName: String) -> FeishuContent {
        let name = fileName.isEmpty ? nil : fileName
        switch type {
        case "text": return FeishuContent(text: text, resources: [])
        case "image": return FeishuContent(text: "", resources: imageKey.isEmpty ? [] : [(.image, imageKey, nil)])
        case "file": return FeishuContent(text: "", resources: fileKey.isEmpty ? [] : [(.file, fileKey, name)])
        case "audio": return FeishuContent(text: "", resources: fileKey.isEmpty ? [] : [(.audio, fileKey, name)])
        default: return FeishuContent(text: "", resources: fileKey.isEmpty ? [] : [(.video, fileKey, name)])
        }
    }

    /// `{title, content:[[element…]…]}`, or the same under a locale key (`zh_cn`, …):
    /// the direct form wins, else the first locale that has content.
    private static func parsePost(_ s: inout JSONScanner) throws(JSONScanner.Failure) -> FeishuContent {
        var direct: (title: String, lines: [[PostElement]])? = nil
        var title = ""
        var lines: [[PostElement]]? = nil
        var locale: (title: String, lines: [[PostElement]])? = nil
        try s.beginObject()
        var first = true
        while let k = try s.nextKey(&first) {
            if Self.named(s, k, "title") { title = try stringValue(&s) }
            else if Self.named(s, k, "content") {
                if s.peek() == UInt8(ascii: "[") { lines = try parsePostLines(&s) } else { lines = nil; _ = try s.skipValue() }
            } else if s.peek() == UInt8(ascii: "{") {
                // A locale body.
                var t = ""
                var l: [[PostElement]]? = nil
                try s.beginObject()
                var f = true
                while let kk = try s.nextKey(&f) {
                    if Self.named(s, kk, "title") { t = try stringValue(&s) }
                    else if Self.named(s, kk, "content"), s.peek() == UInt8(ascii: "[") { l = try parsePostLines(&s) }
                    else { if Self.named(s, kk, "content") { l = nil }; _ = try s.skipValue() }
                }
                if locale == nil, let l { locale = (t, l) }
            } else {
                _ = try s.skipValue()
            }
        }
        if let lines { direct = (title, lines) }
        let body = direct ?? locale ?? (title, [])
        return renderPost(title: body.title, lines: body.lines)
    }

    struct PostElement: Sendable {
        var tag = "", text = "", href = "", userID = "", userName = "", imageKey = "", fileKey = "", emojiType = ""
    }

    private static func parsePostLines(_ s: inout JSONScanner) throws(JSONScanner.Failure) -> [[PostElement]] {
        var lines: [[PostElement]] = []
        guard try s.beginArray() else { return lines }
        repeat {
            var line: [PostElement] = []
            if s.peek() == UInt8(ascii: "["), try s.beginArray() {
                repeat {
                    if s.peek() == UInt8(ascii: "{") {
                        var e = PostElement()
                        try s.beginObject()
                        var first = true
                        while let k = try s.nextKey(&first) {
                            if Self.named(s, k, "tag") { e.tag = try stringValue(&s) }
                            else if Self.named(s, k, "text") { e.text = try stringValue(&s) }
                            else if Self.named(s, k, "href") { e.href = try stringValue(&s) }
                            else if Self.named(s, k, "user_id") { e.userID = try stringValue(&s) }
                            else if Self.named(s, k, "user_name") { e.userName = try stringValue(&s) }
                            else if Self.named(s, k, "image_key") { e.imageKey = try stringValue(&s) }
                            else if Self.named(s, k, "file_key") { e.fileKey = try stringValue(&s) }
                            else if Self.named(s, k, "emoji_type") { e.emojiType = try stringValue(&s) }
                            else { _ = try s.skipValue() }
                        }
                        line.append(e)
                    } else {
                        _ = try s.skipValue()
                    }
                } while try s.nextElement()
            } else if s.peek() != UInt8(ascii: "[") {
                _ = try s.skipValue()
            }
            lines.append(line)
        } while try s.nextElement()
        return lines
    }

    /// Renders a post: the title line (when not empty), then one line per paragraph.
    static func renderPost(title: String, lines: [[PostElement]]) -> FeishuContent {
        var out: [String] = []
        var resources: [(kind: Attachment.Kind, key: String, name: String?)] = []
        if !title.isEmpty { out.append(title) }
        for line in lines {
            var text = ""
            for e in line {
                switch e.tag {
                case "text", "code_block": text += e.text
                case "a": text += e.text.isEmpty ? e.href : e.text
                case "at": text += e.userID.hasPrefix("@_") ? e.userID : "@" + (e.userName.isEmpty ? e.userID : e.userName)
                case "emotion": text += ":" + e.emojiType + ":"
                case "img": if !e.imageKey.isEmpty { resources.append((.image, e.imageKey, nil)) }
                case "media": if !e.fileKey.isEmpty { resources.append((.video, e.fileKey, nil)) }
                default: text += e.text
                }
            }
            out.append(text)
        }
        return FeishuContent(text: out.joined(separator: "\n"), resources: resources)
    }
}
