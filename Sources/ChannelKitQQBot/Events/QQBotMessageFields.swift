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
    var content: String?
    var timestamp: String?
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
    static func scan(_ s: inout QQBotJSONScanner) throws(QQBotJSONScanner.Failure) -> QQBotMessageFields {
        var f = QQBotMessageFields()
        try s.beginObject()
        var first = true
        while let key = try s.nextKey(&first) {
            if s.matches(key, "id") { f.id = try s.readOptionalString() }
            else if s.matches(key, "content") { f.content = try s.readOptionalString() }
            else if s.matches(key, "timestamp") { f.timestamp = try s.readOptionalString() }
            else if s.matches(key, "author") { try scanAuthor(&s, into: &f) }
            else if s.matches(key, "group_openid") { f.groupOpenID = try s.readOptionalString() }
            else if s.matches(key, "group_id") { f.groupID = try s.readOptionalString() }
            else if s.matches(key, "channel_id") { f.channelID = try s.readOptionalString() }
            else if s.matches(key, "guild_id") { f.guildID = try s.readOptionalString() }
            else if s.matches(key, "src_guild_id") { f.srcGuildID = try s.readOptionalString() }
            else if s.matches(key, "attachments") { f.attachments = try scanAttachments(&s) }
            else if s.matches(key, "message_reference") { f.referencedMessageID = try scanReference(&s) }
            else { try s.skipValue(depth: 1) }
        }
        return f
    }

    private static func scanAuthor(_ s: inout QQBotJSONScanner, into f: inout QQBotMessageFields) throws(QQBotJSONScanner.Failure) {
        if try s.consumeNull() {
            f.authorID = nil; f.authorUserOpenID = nil; f.authorMemberOpenID = nil; f.authorUsername = nil; f.authorBot = nil
            return
        }
        var id: String?, user: String?, member: String?, name: String?, bot: Bool?
        try s.beginObject()
        var first = true
        while let key = try s.nextKey(&first) {
            if s.matches(key, "id") { id = try s.readOptionalString() }
            else if s.matches(key, "user_openid") { user = try s.readOptionalString() }
            else if s.matches(key, "member_openid") { member = try s.readOptionalString() }
            else if s.matches(key, "username") { name = try s.readOptionalString() }
            else if s.matches(key, "bot") { bot = try s.readOptionalBool() }
            else { try s.skipValue(depth: 2) }
        }
        f.authorID = id; f.authorUserOpenID = user; f.authorMemberOpenID = member; f.authorUsername = name; f.authorBot = bot
    }

    private static func scanAttachments(_ s: inout QQBotJSONScanner) throws(QQBotJSONScanner.Failure) -> [Attachment]? {
        if try s.consumeNull() { return nil }
        var out: [Attachment] = []
        guard try s.beginArray() else { return out }
        repeat {
            var a = Attachment()
            try s.beginObject()
            var first = true
            while let key = try s.nextKey(&first) {
                if s.matches(key, "content_type") { a.contentType = try s.readOptionalString() }
                else if s.matches(key, "filename") { a.filename = try s.readOptionalString() }
                else if s.matches(key, "url") { a.url = try s.readOptionalString() }
                else if s.matches(key, "size") { a.size = try s.readOptionalInt() }
                else { try s.skipValue(depth: 3) }
            }
            out.append(a)
        } while try s.nextElement()
        return out
    }

    private static func scanReference(_ s: inout QQBotJSONScanner) throws(QQBotJSONScanner.Failure) -> String? {
        if try s.consumeNull() { return nil }
        var id: String?
        try s.beginObject()
        var first = true
        while let key = try s.nextKey(&first) {
            if s.matches(key, "message_id") { id = try s.readOptionalString() } else { try s.skipValue(depth: 2) }
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

    var fields: QQBotMessageFields {
        QQBotMessageFields(
            id: id, content: content, timestamp: timestamp, authorID: author?.id, authorUserOpenID: author?.user_openid,
            authorMemberOpenID: author?.member_openid, authorUsername: author?.username, authorBot: author?.bot,
            groupOpenID: group_openid, groupID: group_id, channelID: channel_id, guildID: guild_id, srcGuildID: src_guild_id,
            attachments: attachments?.map { .init(contentType: $0.content_type, filename: $0.filename, url: $0.url, size: $0.size) },
            referencedMessageID: message_reference?.message_id)
    }
}
