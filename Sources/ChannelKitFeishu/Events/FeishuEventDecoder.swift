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
    private static func named(_ s: JSONScanner, _ key: JSONScanner.Key, _ name: StaticString) -> Bool {
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

    private static func string(_ s: inout JSONScanner) throws(JSONScanner.Failure) -> String {
        try s.consumeNull() ? "" : s.readString()
    }

    private static func optionalString(_ s: inout JSONScanner) throws(JSONScanner.Failure) -> String? {
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

    // MARK: Content (fast)

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

    // MARK: Building the message

    /// Builds the event from decoded fields (shared by both decoders).
    func build(_ f: FeishuMessageFields, content: FeishuContent, botOpenID: String?) throws(ChannelError) -> FeishuEvent {
        guard !f.messageID.isEmpty else {
            throw ChannelError(.malformedInput, "message event without message_id", account: account, location: "$.event.message.message_id")
        }
        guard !f.chatID.isEmpty else {
            throw ChannelError(.malformedInput, "message event without chat_id", account: account, location: "$.event.message.chat_id")
        }
        guard !f.senderOpenID.isEmpty else {
            throw ChannelError(.malformedInput, "message event without sender open_id", account: account,
                               location: "$.event.sender.sender_id.open_id")
        }
        let bot = botOpenID.flatMap { $0.isEmpty ? nil : $0 }
        if let bot, f.senderOpenID == bot {
            return .skipped(messageID: f.messageID, reason: "the bot's own message")
        }
        let mentionsBot = bot.map { b in f.mentions.contains { $0.openID == b } } ?? false
        let isDirect = f.chatType == "p2p"
        if !isDirect, requireMention, !mentionsBot {
            return .skipped(messageID: f.messageID, reason: bot == nil ? "group message while the bot's open_id is unknown (fail closed)"
                                                                        : "group message that does not mention the bot")
        }
        let text = Self.resolveMentions(content.text, mentions: f.mentions, bot: bot)
        let attachments = content.resources.map { r in
            Attachment(kind: r.kind, url: "\(baseURL)/open-apis/im/v1/messages/\(Self.segment(f.messageID))/resources/\(Self.segment(r.key))?type=\(r.kind == .image ? "image" : "file")",
                       name: r.name)
        }
        let peer = isDirect ? Peer(.direct, f.senderOpenID) : Peer(.group, f.chatID)
        let origin = Origin(account: account, peer: peer, thread: f.threadID.isEmpty ? nil : f.threadID, messageID: f.messageID,
                            replyContext: ["chatId": f.chatID])
        var keys: [String] = []
        keys.reserveCapacity(3)
        if !f.eventID.isEmpty { keys.append("event:" + f.eventID) }
        keys.append("msg:" + f.messageID)
        var retry = "retry:"
        retry.reserveCapacity(48 + f.senderOpenID.utf8.count + f.chatID.utf8.count + f.createTime.utf8.count)
        retry += f.senderOpenID
        retry += ":"
        retry += f.chatID
        retry += ":"
        retry += f.createTime
        retry += ":"
        retry += Self.contentHash(f.content)
        keys.append(retry)
        let timestamp = Int64(f.createTime).map { Date(timeIntervalSince1970: Double($0) / 1000) }
        let message = InboundMessage(origin: origin, sender: Sender(id: f.senderOpenID, isBot: !f.senderType.isEmpty && f.senderType != "user"),
                                     text: text, attachments: attachments, timestamp: timestamp, mentionsBot: mentionsBot,
                                     replyToMessageID: f.parentID.isEmpty ? nil : f.parentID, dedupKeys: keys)
        return .message(message)
    }

    /// Replaces `@_user_N` placeholders: the bot's own mention is removed, others become
    /// `@name`; unknown placeholders stay. The result is trimmed.
    static func resolveMentions(_ text: String, mentions: [FeishuMention], bot: String?) -> String {
        guard !mentions.isEmpty, text.utf8.contains(UInt8(ascii: "@")) else { return trim(text) }
        var copy = text
        let resolved: String = copy.withUTF8 { bytes in
            let marker: StaticString = "@_user_"
            let m0 = marker.utf8Start, mn = marker.utf8CodeUnitCount
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count + 16)
            var i = 0
            outer: while i < bytes.count {
                if bytes[i] == m0[0], i + mn <= bytes.count {
                    var same = true
                    for k in 1..<mn where bytes[i + k] != m0[k] { same = false; break }
                    if same {
                        var j = i + mn
                        while j < bytes.count, bytes[j] >= 0x30, bytes[j] <= 0x39 { j += 1 }
                        if j > i + mn {
                            let key = UnsafeBufferPointer(rebasing: bytes[i..<j])
                            for m in mentions where m.key.utf8.elementsEqual(key) {
                                if let bot, m.openID == bot {
                                    // The bot's own mention: removed.
                                } else {
                                    out.append(UInt8(ascii: "@"))
                                    out.append(contentsOf: (m.name.isEmpty ? m.openID : m.name).utf8)
                                }
                                i = j
                                continue outer
                            }
                        }
                    }
                }
                out.append(bytes[i])
                i += 1
            }
            return String(decoding: out, as: UTF8.self)
        }
        return trim(resolved)
    }

    /// Trims whitespace and newlines (Foundation's `.whitespacesAndNewlines`); text that
    /// starts and ends with a visible ASCII byte is returned as is without a copy.
    static func trim(_ text: String) -> String {
        let utf8 = text.utf8
        guard let first = utf8.first, let last = utf8.last else { return text }
        if first > 0x20, first < 0x7F, last > 0x20, last < 0x7F { return text }
        // ASCII whitespace at the ends: cut it, unless a non-ASCII byte is then at an end
        // (it may be Unicode whitespace: Foundation decides).
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }
        var start = utf8.startIndex, end = utf8.endIndex
        while start < end, isSpace(utf8[start]) { start = utf8.index(after: start) }
        while end > start, isSpace(utf8[utf8.index(before: end)]) { end = utf8.index(before: end) }
        if start == end { return "" }
        let head = utf8[start], tail = utf8[utf8.index(before: end)]
        if head < 0x80, tail < 0x80 { return String(text[start..<end]) }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// 32 hex digits of two FNV-1a 64 hashes of `content` (stable across processes, so
    /// persisted dedup entries still match after a restart).
    static func contentHash(_ content: String) -> String {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325
        var b: UInt64 = 0x8422_2325_cbf2_9ce4
        for byte in content.utf8 {
            a = (a ^ UInt64(byte)) &* 0x100_0000_01b3
            b = (b ^ UInt64(byte)) &* 0x100_0000_01b3
            b = (b << 7) | (b >> 57)
        }
        return String(unsafeUninitializedCapacity: 32) { buffer in
            let digits: StaticString = "0123456789abcdef"
            for i in 0..<16 {
                buffer[i] = digits.utf8Start[Int((a >> UInt64(60 - 4 * i)) & 0xF)]
                buffer[16 + i] = digits.utf8Start[Int((b >> UInt64(60 - 4 * i)) & 0xF)]
            }
            return 32
        }
    }

    /// Escapes one dynamic path segment so it cannot add segments.
    static func segment(_ raw: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return raw.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}
