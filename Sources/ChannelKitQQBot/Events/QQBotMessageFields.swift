import Foundation
import ChannelKit

/// The members of a QQ message event (`d` of C2C/GROUP_AT/AT/DIRECT_MESSAGE_CREATE)
/// that ChannelKit uses, exactly as on the wire. Both decoders (the byte-level fast
/// path and the `JSONDecoder` reference) produce this, so they can be compared.
struct QQBotMessageFields: Equatable, Sendable {
    struct Attachment: Equatable, Sendable {
        var contentType: String?
        var filename: String?
        var url: String?
        var size: Int?
    }

    var id: String?
    /// `content` with the bot's leading mention and surrounding whitespace removed.
    var text: String?
    /// `timestamp`, parsed (`nil` when absent or not RFC 3339).
    var timestamp: Date?
    var authorID: String?
    var authorUserOpenID: String?
    var authorMemberOpenID: String?
    var authorUsername: String?
    var authorBot: Bool?
    var groupOpenID: String?
    var groupID: String?
    var channelID: String?
    var guildID: String?
    var srcGuildID: String?
    var attachments: [Attachment]?
    var referencedMessageID: String?
}

extension QQBotMessageFields {
    /// Reads a message object with the fast scanner (positioned at its `{`).
    static func scan(_ s: inout JSONScanner, botID: String?) throws(JSONScanner.Failure) -> QQBotMessageFields {
        var f = QQBotMessageFields()
        // The first occurrence of a member wins, as with JSONDecoder.
        var seen: UInt32 = 0
        try s.beginObject()
        var firstKey = true
        while let key = try s.nextKey(&firstKey) {
            let bit = memberBit(s, key)
            if bit == 0 || seen & bit != 0 {
                try s.skipValue(depth: 1)
                continue
            }
            seen |= bit
            switch bit {
            case 1 << 0: f.id = try s.readOptionalString()
            case 1 << 1:
                if try s.consumeNull() {
                    f.text = nil
                } else {
                    switch try s.readStringValue() {
                    case .raw(let range): f.text = QQBotEventDecoder.stripMention(s.bytes, range, botID: botID)
                    case .decoded(let text): f.text = QQBotEventDecoder.stripMention(text, botID: botID)
                    }
                }
            case 1 << 2:
                if try s.consumeNull() {
                    f.timestamp = nil
                } else {
                    switch try s.readStringValue() {
                    case .raw(let range): f.timestamp = QQBotTimestamp.parse(bytes: UnsafeBufferPointer(rebasing: s.bytes[range]))
                    case .decoded(let text): f.timestamp = QQBotTimestamp.parse(text)
                    }
                }
            case 1 << 3: try scanAuthor(&s, into: &f)
            case 1 << 4: f.groupOpenID = try s.readOptionalString()
            case 1 << 5: f.groupID = try s.readOptionalString()
            case 1 << 6: f.channelID = try s.readOptionalString()
            case 1 << 7: f.guildID = try s.readOptionalString()
            case 1 << 8: f.srcGuildID = try s.readOptionalString()
            case 1 << 9: f.attachments = try scanAttachments(&s)
            default: f.referencedMessageID = try scanReference(&s)
            }
        }
        return f
    }

    /// The bit of a message member the decoder reads, or 0.
    @inline(__always)
    private static func memberBit(_ s: JSONScanner, _ key: JSONScanner.Key) -> UInt32 {
        // Dispatch on the length first: one comparison for most names.
        switch s.nameLength(key) {
        case 2: return s.matches(key, "id") ? 1 << 0 : 0
        case 6: return s.matches(key, "author") ? 1 << 3 : 0
        case 7: return s.matches(key, "content") ? 1 << 1 : 0
        case 8:
            if s.matches(key, "group_id") { return 1 << 5 }
            return s.matches(key, "guild_id") ? 1 << 7 : 0
        case 9: return s.matches(key, "timestamp") ? 1 << 2 : 0
        case 10: return s.matches(key, "channel_id") ? 1 << 6 : 0
        case 11: return s.matches(key, "attachments") ? 1 << 9 : 0
        case 12:
            if s.matches(key, "group_openid") { return 1 << 4 }
            return s.matches(key, "src_guild_id") ? 1 << 8 : 0
        case 17: return s.matches(key, "message_reference") ? 1 << 10 : 0
        default: return 0
        }
    }

    private static func scanAuthor(_ s: inout JSONScanner, into f: inout QQBotMessageFields) throws(JSONScanner.Failure) {
        if try s.consumeNull() {
            f.authorID = nil; f.authorUserOpenID = nil; f.authorMemberOpenID = nil; f.authorUsername = nil; f.authorBot = nil
            return
        }
        var id: String?, user: String?, member: String?, name: String?, bot: Bool?
        var seen: UInt8 = 0
        try s.beginObject()
        var first = true
        while let key = try s.nextKey(&first) {
            if s.matches(key, "id"), seen & 1 == 0 { seen |= 1; id = try s.readOptionalString() }
            else if s.matches(key, "user_openid"), seen & 2 == 0 { seen |= 2; user = try s.readOptionalString() }
            else if s.matches(key, "member_openid"), seen & 4 == 0 { seen |= 4; member = try s.readOptionalString() }
            else if s.matches(key, "username"), seen & 8 == 0 { seen |= 8; name = try s.readOptionalString() }
            else if s.matches(key, "bot"), seen & 16 == 0 { seen |= 16; bot = try s.readOptionalBool() }
            else { try s.skipValue(depth: 2) }
        }
        f.authorID = id; f.authorUserOpenID = user; f.authorMemberOpenID = member; f.authorUsername = name; f.authorBot = bot
    }

    private static func scanAttachments(_ s: inout JSONScanner) throws(JSONScanner.Failure) -> [Attachment]? {
        if try s.consumeNull() { return nil }
        var out: [Attachment] = []
        guard try s.beginArray() else { return out }
        repeat {
            var a = Attachment()
            var seen: UInt8 = 0
            try s.beginObject()
            var first = true
            while let key = try s.nextKey(&first) {
                if s.matches(key, "content_type"), seen & 1 == 0 { seen |= 1; a.contentType = try s.readOptionalString() }
                else if s.matches(key, "filename"), seen & 2 == 0 { seen |= 2; a.filename = try s.readOptionalString() }
                else if s.matches(key, "url"), seen & 4 == 0 { seen |= 4; a.url = try s.readOptionalString() }
                else if s.matches(key, "size"), seen & 8 == 0 { seen |= 8; a.size = try s.readOptionalInt() }
                else { try s.skipValue(depth: 3) }
            }
            out.append(a)
        } while try s.nextElement()
        return out
    }

    private static func scanReference(_ s: inout JSONScanner) throws(JSONScanner.Failure) -> String? {
        if try s.consumeNull() { return nil }
        var id: String?
        var seen = false
        try s.beginObject()
        var first = true
        while let key = try s.nextKey(&first) {
            if s.matches(key, "message_id"), !seen { seen = true; id = try s.readOptionalString() } else { try s.skipValue(depth: 2) }
        }
        return id
    }
}

/// The `JSONDecoder` model of the same members: the reference the fast path is
/// differentially tested against, and the cold-path decoder.
struct QQBotWireMessage: Decodable {
    struct Author: Decodable {
        var id: String?
        var user_openid: String?
        var member_openid: String?
        var username: String?
        var bot: Bool?
    }
    struct Attachment: Decodable {
        var content_type: String?
        var filename: String?
        var url: String?
        var size: Int?
    }
    struct Reference: Decodable {
        var message_id: String?
    }
    var id: String?
    var content: String?
    var timestamp: String?
    var author: Author?
    var group_openid: String?
    var group_id: String?
    var channel_id: String?
    var guild_id: String?
    var src_guild_id: String?
    var attachments: [Attachment]?
    var message_reference: Reference?

    func fields(botID: String?) -> QQBotMessageFields {
        QQBotMessageFields(
            id: id, text: content.map { QQBotEventDecoder.stripMention($0, botID: botID) }, timestamp: timestamp.flatMap(QQBotTimestamp.parse),
            authorID: author?.id, authorUserOpenID: author?.user_openid,
            authorMemberOpenID: author?.member_openid, authorUsername: author?.username, authorBot: author?.bot,
            groupOpenID: group_openid, groupID: group_id, channelID: channel_id, guildID: guild_id, srcGuildID: src_guild_id,
            attachments: attachments?.map { .init(contentType: $0.content_type, filename: $0.filename, url: $0.url, size: $0.size) },
            referencedMessageID: message_reference?.message_id)
    }
}
