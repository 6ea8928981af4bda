import Foundation
import ChannelKit

/// Building the ``InboundMessage`` from decoded fields (shared by both decoders):
/// mention gating, peer, origin, attachments and dedup keys.
extension FeishuEventDecoder {
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
