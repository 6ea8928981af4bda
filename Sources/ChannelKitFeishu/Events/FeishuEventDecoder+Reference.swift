import Foundation
import ChannelKit

extension FeishuEventDecoder {
    /// The reference decoder: the same mapping as ``decode(_:botOpenID:)`` built on
    /// `JSONSerialization`, for the differential test of the fast path (and a readable
    /// statement of what the fast path must do).
    /// - Throws: ``ChannelError`` `.malformedInput` when the payload is not an event.
    public func decodeReference(_ payload: Data, botOpenID: String?) throws(ChannelError) -> FeishuEvent {
        guard let root = (try? JSONSerialization.jsonObject(with: payload, options: [.fragmentsAllowed])) as? [String: Any] else {
            throw ChannelError(.malformedInput, "unreadable event payload", account: account, location: "$")
        }
        let header = root["header"] as? [String: Any]
        let type = header?["event_type"] as? String
        guard type == Self.messageReceived, let event = root["event"] as? [String: Any] else {
            return try referencePlatform(payload, type: type, isKnown: false)
        }
        func str(_ any: Any?) -> String { any as? String ?? "" }
        var f = FeishuMessageFields()
        f.eventID = str(header?["event_id"])
        let sender = event["sender"] as? [String: Any]
        f.senderOpenID = str((sender?["sender_id"] as? [String: Any])?["open_id"])
        f.senderType = str(sender?["sender_type"])
        let message = event["message"] as? [String: Any] ?? [:]
        f.messageID = str(message["message_id"])
        f.rootID = str(message["root_id"])
        f.parentID = str(message["parent_id"])
        f.createTime = str(message["create_time"])
        f.chatID = str(message["chat_id"])
        f.threadID = str(message["thread_id"])
        f.chatType = str(message["chat_type"])
        f.messageType = str(message["message_type"])
        f.content = str(message["content"])
        for item in message["mentions"] as? [Any] ?? [] {
            guard let m = item as? [String: Any] else { continue }
            f.mentions.append(FeishuMention(key: str(m["key"]), openID: str((m["id"] as? [String: Any])?["open_id"]), name: str(m["name"])))
        }
        guard ["text", "post", "image", "file", "audio", "media"].contains(f.messageType) else {
            return try referencePlatform(payload, type: type, isKnown: true)
        }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(f.content.utf8), options: [.fragmentsAllowed])) else {
            throw ChannelError(.malformedInput, "unreadable message content", account: account, location: "$.event.message.content")
        }
        guard let content = object as? [String: Any] else { return try referencePlatform(payload, type: type, isKnown: true) }
        let decoded: FeishuContent
        if f.messageType == "post" {
            func body(_ d: [String: Any]) -> (String, [[PostElement]])? {
                guard let lines = d["content"] as? [Any] else { return nil }
                return (str(d["title"]), lines.map { line in
                    (line as? [Any] ?? []).compactMap { $0 as? [String: Any] }.map { e in
                        PostElement(tag: str(e["tag"]), text: str(e["text"]), href: str(e["href"]), userID: str(e["user_id"]),
                                    userName: str(e["user_name"]), imageKey: str(e["image_key"]), fileKey: str(e["file_key"]),
                                    emojiType: str(e["emoji_type"]))
                    }
                })
            }
            // The direct form wins; else the first locale (in document order) with content.
            var chosen = body(content)
            if chosen == nil {
                for key in Self.objectKeyOrder(f.content) where key != "title" && key != "content" {
                    if let d = content[key] as? [String: Any], let b = body(d) { chosen = b; break }
                }
            }
            let (title, lines) = chosen ?? (str(content["title"]), [])
            decoded = Self.renderPost(title: title, lines: lines)
        } else {
            decoded = Self.flatContent(type: f.messageType, text: str(content["text"]), imageKey: str(content["image_key"]),
                                       fileKey: str(content["file_key"]), fileName: str(content["file_name"]))
        }
        return try build(f, content: decoded, botOpenID: botOpenID)
    }

    private func referencePlatform(_ payload: Data, type: String?, isKnown: Bool) throws(ChannelError) -> FeishuEvent {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: payload) else {
            throw ChannelError(.malformedInput, "unreadable event payload", account: account, location: "$")
        }
        return .platform(type: type ?? value["event"]?["type"]?.stringValue ?? "unknown", payload: value, isKnown: isKnown)
    }

    /// The top-level member names of a JSON object text, in document order (locale keys
    /// of a post; `JSONSerialization` does not keep order).
    static func objectKeyOrder(_ text: String) -> [String] {
        var copy = text
        var keys: [String] = []
        copy.withUTF8 { buffer in
            var s = JSONScanner(buffer)
            do throws(JSONScanner.Failure) {
                try s.beginObject()
                var first = true
                while let k = try s.nextKey(&first) {
                    keys.append(k.escaped ? s.decodedName(k) : String(decoding: UnsafeBufferPointer(rebasing: buffer[k.start..<(k.start + k.count)]), as: UTF8.self))
                    _ = try s.skipValue()
                }
            } catch {}
        }
        return keys
    }
}
