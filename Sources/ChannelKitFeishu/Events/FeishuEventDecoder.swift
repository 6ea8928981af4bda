import Foundation
import ChannelKit

/// Turns event payloads (the UTF-8 JSON of a completed data frame) into typed events for
/// one account.
///
/// `im.message.receive_v1` takes a byte-level fast path (the core `JSONScanner`) that
/// reads the envelope, the message and its `content` straight from the bytes; other
/// event types are decoded with `JSONDecoder` into a ``JSONValue`` (cold path). The fast
/// path is differentially tested against ``decodeReference(_:botOpenID:)``, which does
/// the same with `JSONSerialization`.
///
/// Messages become:
/// - p2p → `Peer(.direct, sender open_id)`; group / topic_group → `Peer(.group, chat_id)`;
///   `replyContext["chatId"]` is the chat, `thread` the `thread_id` when present.
/// - text: the `text`; post: title and paragraphs (`text`, `a`, `at`, `emotion`,
///   `code_block` elements), lines joined by `\n`; `@_user_N` placeholders become
///   `@name` through `mentions`, a mention of the bot itself is removed, and the text is
///   trimmed. Images, files, audio and media (and post `img`/`media` elements) become
///   attachments whose URL is the message-resource download endpoint.
/// - ``InboundMessage/mentionsBot``: some `mentions[].id.open_id` equals the bot's
///   open_id; `false` while the bot's open_id is unknown (fail closed). With
///   `requireMention`, group messages that do not mention the bot are ``FeishuEvent/skipped(messageID:reason:)``.
/// - Dedup keys: `event:<event_id>`, `msg:<message_id>`, and
///   `retry:<sender>:<chat>:<create_time>:<content hash>` for redeliveries under a new
///   message id (openclaw #46778).
public struct FeishuEventDecoder: Sendable {
    /// The event type of received messages.
    public static let messageReceived = "im.message.receive_v1"

    /// The receiving account (stamped into every ``Origin``).
    public var account: AccountKey
    /// The open-platform base URL (for attachment download URLs), without a trailing `/`.
    public var baseURL: String
    /// Whether group messages must mention the bot.
    public var requireMention: Bool

    /// Creates a decoder.
    public init(account: AccountKey, baseURL: URL, requireMention: Bool = true) {
        self.account = account
        var base = baseURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.requireMention = requireMention
    }

    // MARK: Fast path

    /// Decodes one event payload.
    /// - Parameter botOpenID: The bot's open_id, or `nil` while unknown (fail closed).
    /// - Throws: ``ChannelError`` `.malformedInput` with the byte offset when the payload
    ///   is not a readable event.
    public func decode(_ payload: [UInt8], botOpenID: String?) throws(ChannelError) -> FeishuEvent {
        var result: Result<FeishuEvent, ChannelError>?
        payload.withUnsafeBufferPointer { buffer in
            do throws(ChannelError) { result = .success(try decode(bytes: buffer, botOpenID: botOpenID)) } catch { result = .failure(error) }
        }
        guard let result else { throw ChannelError(.malformedInput, "empty event payload", account: account) }
        return try result.get()
    }

    /// Decodes one event payload from its bytes; see ``decode(_:botOpenID:)``.
    public func decode(bytes: UnsafeBufferPointer<UInt8>, botOpenID: String?) throws(ChannelError) -> FeishuEvent {
        var fields = FeishuMessageFields()
        var eventType: String?
        var eventRange: Range<Int>?
        var parsedMessage = false
        do throws(JSONScanner.Failure) {
            var s = JSONScanner(bytes)
            try s.beginObject()
            var first = true
            while let key = try s.nextKey(&first) {
                if Self.named(s, key, "header") {
                    eventType = nil
                    fields.eventID = ""
                    guard s.peek() == UInt8(ascii: "{") else { _ = try s.skipValue(); continue }
                    try s.beginObject()
                    var f = true
                    while let k = try s.nextKey(&f) {
                        if Self.named(s, k, "event_id") { fields.eventID = try Self.string(&s) }
                        else if Self.named(s, k, "event_type") { eventType = try Self.eventType(&s, bytes) }
                        else { _ = try s.skipValue() }
                    }
                } else if Self.named(s, key, "event") {
                    let start = s.index
                    if eventType == Self.messageReceived, s.peek() == UInt8(ascii: "{") {
                        try Self.parseEvent(&s, into: &fields)
                        parsedMessage = true
                        eventRange = start..<s.index
                    } else {
                        eventRange = try s.skipValue()
                        parsedMessage = false
                    }
                } else {
                    _ = try s.skipValue()
                }
            }
            try s.expectEnd()
            if eventType == Self.messageReceived, !parsedMessage, let range = eventRange {
                var again = JSONScanner(bytes, from: range.lowerBound)
                guard again.peek() == UInt8(ascii: "{") else { throw again.fail("event is not an object") }
                let eventID = fields.eventID
                fields = FeishuMessageFields()
                try Self.parseEvent(&again, into: &fields)
                fields.eventID = eventID
                parsedMessage = true
            }
        } catch {
            throw ChannelError(.malformedInput, "unreadable event payload: \(error.reason)", account: account, location: "byte \(error.offset)")
        }
        guard eventType == Self.messageReceived, parsedMessage else {
            return try platformEvent(bytes: bytes, type: eventType)
        }
        let content: FeishuContent?
        switch fields.messageType {
        case "text", "post", "image", "file", "audio", "media":
            content = try Self.parseContentFast(fields.content, type: fields.messageType, account: account)
        default:
            content = nil
        }
        guard let content else { return try platformEvent(bytes: bytes, type: eventType, isKnown: true) }
        return try build(fields, content: content, botOpenID: botOpenID)
    }

    private func platformEvent(bytes: UnsafeBufferPointer<UInt8>, type: String?, isKnown: Bool = false) throws(ChannelError) -> FeishuEvent {
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(buffer: bytes))
        } catch {
            throw ChannelError(.malformedInput, "unreadable event payload", account: account, location: "$")
        }
        // Schema 1.0 events carry their type in `event.type`.
        let name = type ?? value["event"]?["type"]?.stringValue ?? "unknown"
        return .platform(type: name, payload: value, isKnown: isKnown)
    }

    /// Whether `key` is `name`: the length is compared here (inlined), the bytes only for
    /// keys of the right length.
    @inline(__always)
    static func named(_ s: JSONScanner, _ key: JSONScanner.Key, _ name: StaticString) -> Bool {
        (key.escaped || key.count == name.utf8CodeUnitCount) && s.matches(key, name)
    }

    /// The event type; the message type is recognised from the bytes without building a
    /// new string.
    private static func eventType(_ s: inout JSONScanner, _ bytes: UnsafeBufferPointer<UInt8>) throws(JSONScanner.Failure) -> String? {
        if try s.consumeNull() { return nil }
        switch try s.readStringValue() {
        case .raw(let range):
            let raw = UnsafeBufferPointer(rebasing: bytes[range])
            let known: StaticString = "im.message.receive_v1"
            if raw.count == known.utf8CodeUnitCount, raw.elementsEqual(UnsafeBufferPointer(start: known.utf8Start, count: known.utf8CodeUnitCount)) {
                return messageReceived
            }
            return String(decoding: raw, as: UTF8.self)
        case .decoded(let text):
            return text
        }
    }

    static func string(_ s: inout JSONScanner) throws(JSONScanner.Failure) -> String {
        try s.consumeNull() ? "" : s.readString()
    }

    static func optionalString(_ s: inout JSONScanner) throws(JSONScanner.Failure) -> String? {
        try s.consumeNull() ? nil : s.readString()
    }

    /// Reads `{sender:{…}, message:{…}}`.
    private static func parseEvent(_ s: inout JSONScanner, into f: inout FeishuMessageFields) throws(JSONScanner.Failure) {
        try s.beginObject()
        var first = true
        while let key = try s.nextKey(&first) {
            if Self.named(s, key, "sender"), s.peek() == UInt8(ascii: "{") {
                f.senderOpenID = ""
                f.senderType = ""
                try s.beginObject()
                var a = true
                while let k = try s.nextKey(&a) {
                    if Self.named(s, k, "sender_id"), s.peek() == UInt8(ascii: "{") {
                        f.senderOpenID = ""
                        try s.beginObject()
                        var b = true
                        while let kk = try s.nextKey(&b) {
                            if Self.named(s, kk, "open_id") { f.senderOpenID = try string(&s) } else { _ = try s.skipValue() }
                        }
                    } else if Self.named(s, k, "sender_type") {
                        f.senderType = try string(&s)
                    } else {
                        if Self.named(s, k, "sender_id") { f.senderOpenID = "" }
                        _ = try s.skipValue()
                    }
                }
            } else if Self.named(s, key, "message"), s.peek() == UInt8(ascii: "{") {
                let eventID = f.eventID, senderOpenID = f.senderOpenID, senderType = f.senderType
                f = FeishuMessageFields()
                f.eventID = eventID
                f.senderOpenID = senderOpenID
                f.senderType = senderType
                try s.beginObject()
                var a = true
                while let k = try s.nextKey(&a) {
                    if Self.named(s, k, "message_id") { f.messageID = try string(&s) }
                    else if Self.named(s, k, "root_id") { f.rootID = try string(&s) }
                    else if Self.named(s, k, "parent_id") { f.parentID = try string(&s) }
                    else if Self.named(s, k, "create_time") { f.createTime = try string(&s) }
                    else if Self.named(s, k, "chat_id") { f.chatID = try string(&s) }
                    else if Self.named(s, k, "thread_id") { f.threadID = try string(&s) }
                    else if Self.named(s, k, "chat_type") { f.chatType = try string(&s) }
                    else if Self.named(s, k, "message_type") { f.messageType = try string(&s) }
                    else if Self.named(s, k, "content") { f.content = try string(&s) }
                    else if Self.named(s, k, "mentions") { f.mentions = try parseMentions(&s) }
                    else { _ = try s.skipValue() }
                }
            } else {
                if Self.named(s, key, "sender") { f.senderOpenID = ""; f.senderType = "" }
                if Self.named(s, key, "message") {
                    let eventID = f.eventID, senderOpenID = f.senderOpenID, senderType = f.senderType
                    f = FeishuMessageFields()
                    f.eventID = eventID
                    f.senderOpenID = senderOpenID
                    f.senderType = senderType
                }
                _ = try s.skipValue()
            }
        }
    }

    private static func parseMentions(_ s: inout JSONScanner) throws(JSONScanner.Failure) -> [FeishuMention] {
        guard s.peek() == UInt8(ascii: "[") else { _ = try s.skipValue(); return [] }
        var out: [FeishuMention] = []
        guard try s.beginArray() else { return out }
        repeat {
            if s.peek() == UInt8(ascii: "{") {
                var m = FeishuMention(key: "", openID: "", name: "")
                try s.beginObject()
                var first = true
                while let k = try s.nextKey(&first) {
                    if Self.named(s, k, "key") { m.key = try string(&s) }
                    else if Self.named(s, k, "name") { m.name = try string(&s) }
                    else if Self.named(s, k, "id"), s.peek() == UInt8(ascii: "{") {
                        m.openID = ""
                        try s.beginObject()
                        var f = true
                        while let kk = try s.nextKey(&f) {
                            if Self.named(s, kk, "open_id") { m.openID = try string(&s) } else { _ = try s.skipValue() }
                        }
                    } else {
                        if Self.named(s, k, "id") { m.openID = "" }
                        _ = try s.skipValue()
                    }
                }
                out.append(m)
            } else {
                _ = try s.skipValue()
            }
        } while try s.nextElement()
        return out
    }
}
