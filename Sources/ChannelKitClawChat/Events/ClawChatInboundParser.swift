import Foundation
import ChannelKit

/// Turns downlink `message.send` / `message.reply` frames into ``InboundMessage``s.
///
/// Pure: no I/O, no clock. The connection applies the fail-closed and self-echo rules
/// first and reports the results.
enum ClawChatInboundParser {
    /// What a materialised-message frame turned into.
    enum Outcome: Sendable {
        /// A message for the host.
        case message(InboundMessage)
        /// Not for the host (self-echo, non-normal mode, provisional stream merge); the
        /// reason is safe to log.
        case skipped(String)
        /// The frame breaks the protocol; dropped with a typed error.
        case invalid(ChannelError)
    }

    /// `message.send` and `message.reply`: the events fed to the host.
    static let materializedEvents: Set<String> = ["message.send", "message.reply"]

    /// Keys in ``Origin/replyContext`` that a reply needs to quote the message.
    enum ReplyKey {
        static let senderID = "clawchat.sender_id"
        static let senderNick = "clawchat.sender_nick"
        static let previewText = "clawchat.preview_text"
        static let chatType = "clawchat.chat_type"
    }

    /// Parses one frame for the account whose own user id is `ownUserID`.
    static func parse(_ frame: ClawChatFrame, account: AccountKey, ownUserID: String) -> Outcome {
        guard let chatID = frame.chatID, !chatID.isEmpty else {
            return .invalid(ChannelError(.malformedInput, "\(frame.event) frame without chat_id", account: account, location: "$.chat_id"))
        }
        guard let senderID = frame.raw["sender"]?["id"]?.stringValue, !senderID.isEmpty else {
            return .invalid(ChannelError(.malformedInput, "\(frame.event) frame without sender.id", account: account, location: "$.sender.id"))
        }
        if senderID == ownUserID { return .skipped("self-echo") }
        let payload = frame.payload
        guard let messageID = payload["message_id"]?.stringValue, !messageID.isEmpty else {
            return .invalid(ChannelError(.malformedInput, "\(frame.event) frame without payload.message_id", account: account, location: "$.payload.message_id"))
        }
        // The server applies no default: an omitted mode arrives as "" and means normal.
        let mode = payload["message_mode"]?.stringValue ?? ""
        if mode != "" && mode != "normal" { return .skipped("message_mode \(mode)") }
        if payload["stream_merged"]?.boolValue == true { return .skipped("provisional stream_merged reply") }
        guard case .object = payload["message"] ?? .null else {
            return .invalid(ChannelError(.malformedInput, "\(frame.event) frame without payload.message", account: account, location: "$.payload.message"))
        }
        let fragments = payload["message"]?["body"]?["fragments"]?.arrayValue ?? []
        let rendered = render(fragments, ownUserID: ownUserID)
        let context = payload["message"]?["context"]
        var mentionsBot = rendered.mentionsBot
        for mention in context?["mentions"]?.arrayValue ?? [] {
            let id = mention.stringValue ?? mention["user_id"]?.stringValue ?? mention["id"]?.stringValue
            if id == ownUserID || id == "all" { mentionsBot = true }
        }
        let replyTo = context?["reply"]?["reply_to_msg_id"]?.stringValue
        let nick = frame.raw["sender"]?["nick_name"]?.stringValue
        let isGroup = frame.chatType == "group"
        let origin = Origin(
            account: account,
            peer: Peer(isGroup ? .group : .direct, chatID),
            messageID: messageID,
            replyContext: [
                ReplyKey.senderID: senderID,
                ReplyKey.senderNick: nick ?? senderID,
                ReplyKey.previewText: String(rendered.text.prefix(200)),
                ReplyKey.chatType: isGroup ? "group" : "direct",
            ])
        let message = InboundMessage(
            origin: origin,
            sender: Sender(id: senderID, name: nick),
            text: rendered.text,
            attachments: rendered.attachments,
            timestamp: frame.emittedAt.map { Date(timeIntervalSince1970: $0 / 1000) },
            mentionsBot: mentionsBot,
            replyToMessageID: replyTo)
        return .message(message)
    }

    /// Text, attachments and whether the bot is mentioned, from `fragments`.
    static func render(_ fragments: [JSONValue], ownUserID: String) -> (text: String, attachments: [Attachment], mentionsBot: Bool) {
        var text = ""
        var attachments: [Attachment] = []
        var mentionsBot = false
        for fragment in fragments {
            let kind = fragment["kind"]?.stringValue ?? ""
            switch kind {
            case "text":
                text += fragment["text"]?.stringValue ?? fragment["delta"]?.stringValue ?? ""
            case "mention":
                let userID = fragment["user_id"]?.stringValue
                if userID == ownUserID {
                    mentionsBot = true   // the platform's mention of the bot is not part of the text
                } else {
                    if userID == "all" { mentionsBot = true }
                    text += "@" + (fragment["display"]?.stringValue ?? userID ?? "")
                }
            case "image", "file", "audio", "video":
                guard let url = fragment["url"]?.stringValue, !url.isEmpty else {
                    text += "[\(kind) without url]"
                    continue
                }
                let attachmentKind = Attachment.Kind(rawValue: kind) ?? .other
                attachments.append(Attachment(kind: attachmentKind, url: url, name: fragment["name"]?.stringValue,
                                              mimeType: fragment["mime"]?.stringValue, size: fragment["size"]?.intValue))
            default:
                text += "[unsupported \(kind.isEmpty ? "fragment" : kind)]"
            }
        }
        return (text.trimmingCharacters(in: .whitespaces), attachments, mentionsBot)
    }
}
