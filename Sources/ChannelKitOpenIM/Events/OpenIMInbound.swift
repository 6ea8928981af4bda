import Foundation
import ChannelKit

/// Turns one ``OpenIMMsgData`` into an ``InboundMessage`` for an account, applying the
/// account's rules: self-sent messages and notifications are skipped, groups need an
/// @-mention when `requireMention` (or an `inboundWhitelist`) says so, and senders off
/// the whitelist are skipped.
public enum OpenIMInbound {
    /// The `atUserIDList` entry that mentions everyone.
    public static let atAllTag = "AtAllTag"

    /// What became of one message.
    public enum Outcome: Sendable {
        /// Deliver it.
        case message(InboundMessage)
        /// Not for delivery (self-sent, notification, not mentioned, not whitelisted, …).
        case skipped(String)
        /// Its content could not be decoded.
        case invalid(ChannelError)
    }

    /// The rules an account applies.
    public struct Rules: Sendable {
        /// The account's own user id.
        public var ownUserID: String
        /// Groups need an @-mention.
        public var requireMention: Bool
        /// Allowed senders; empty allows everyone (non-empty also forces mentions in groups).
        public var inboundWhitelist: Set<String>
        /// Whether `AtAllTag` counts as a mention.
        public var atAllMentions: Bool

        /// Creates rules.
        public init(ownUserID: String, requireMention: Bool = true, inboundWhitelist: Set<String> = [], atAllMentions: Bool = false) {
            self.ownUserID = ownUserID
            self.requireMention = requireMention
            self.inboundWhitelist = inboundWhitelist
            self.atAllMentions = atAllMentions
        }
    }

    /// The dedup key: `clientMsgID`, else `serverMsgID`, else `conversationID:seq`.
    public static func messageID(_ msg: OpenIMMsgData, conversationID: String) -> String {
        if !msg.clientMsgID.isEmpty { return msg.clientMsgID }
        if !msg.serverMsgID.isEmpty { return msg.serverMsgID }
        return "\(conversationID):\(msg.seq)"
    }

    /// Builds the inbound message for `account`.
    public static func build(_ msg: OpenIMMsgData, conversationID: String, account: AccountKey, rules: Rules) -> Outcome {
        if msg.sendID == rules.ownUserID { return .skipped("self-sent") }
        if msg.sendID.isEmpty { return .skipped("no sendID") }
        let peer: Peer
        switch msg.sessionType {
        case 1: peer = Peer(.direct, msg.sendID)
        case 2, 3:
            guard !msg.groupID.isEmpty else { return .skipped("group message without groupID") }
            peer = Peer(.group, msg.groupID)
        default:
            return .skipped("session type \(msg.sessionType)")
        }
        guard OpenIMContent.supportedContentTypes.contains(msg.contentType) else {
            return .skipped("content type \(msg.contentType)")
        }
        if !rules.inboundWhitelist.isEmpty, !rules.inboundWhitelist.contains(msg.sendID) {
            return .skipped("sender not in inboundWhitelist")
        }
        let content: OpenIMContent
        do {
            content = try msg.content.withUnsafeBufferPointer { buffer throws(OpenIMFrameError) in
                try OpenIMContent.decode(contentType: msg.contentType, buffer)
            }
        } catch {
            return .invalid(error.channelError(account, frame: "message \(messageID(msg, conversationID: conversationID))"))
        }
        let own = rules.ownUserID
        var mentioned = msg.atUserIDList.contains(own) || content.atUserIDs.contains(own)
        if !mentioned, rules.atAllMentions, msg.atUserIDList.contains(atAllTag) || content.atUserIDs.contains(atAllTag) { mentioned = true }
        if peer.kind == .group, rules.requireMention || !rules.inboundWhitelist.isEmpty, !mentioned {
            return .skipped("group message does not mention the account")
        }
        var text = content.text
        if msg.contentType == 106 || mentioned { text = stripMention(text, own) }
        if text.isEmpty, content.attachments.isEmpty { return .skipped("no text and no media") }
        let id = messageID(msg, conversationID: conversationID)
        let context = msg.serverMsgID.isEmpty ? ["conversationID": conversationID] : ["conversationID": conversationID, "serverMsgID": msg.serverMsgID]
        let origin = Origin(account: account, peer: peer, messageID: id, replyContext: context)
        let timestamp = msg.sendTime > 0 ? Date(timeIntervalSince1970: Double(msg.sendTime) / 1000)
            : msg.createTime > 0 ? Date(timeIntervalSince1970: Double(msg.createTime) / 1000) : nil
        let message = InboundMessage(
            origin: origin,
            sender: Sender(id: msg.sendID, name: msg.senderNickname.isEmpty ? nil : msg.senderNickname),
            text: text, attachments: content.attachments, timestamp: timestamp,
            mentionsBot: mentioned, replyToMessageID: content.quotedMessageID, dedupKeys: [id])
        return .message(message)
    }

    /// Removes `@<own>` tokens (each only where it ends at a space, punctuation or the end,
    /// so `@bot2` stays when the account is `bot`), and the space after each; trims.
    static func stripMention(_ text: String, _ own: String) -> String {
        guard !own.isEmpty, text.contains("@" + own) else { return text }
        let token = Array(("@" + own).unicodeScalars)
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < scalars.count {
            if scalars[i] == "@", i + token.count <= scalars.count, Array(scalars[i..<(i + token.count)]) == token {
                let end = i + token.count
                let boundary = end == scalars.count || !(CharacterSet.alphanumerics.contains(scalars[end]) || scalars[end] == "_" || scalars[end] == "-")
                if boundary {
                    i = end
                    if i < scalars.count, scalars[i] == " " { i += 1 }
                    continue
                }
            }
            out.append(scalars[i])
            i += 1
        }
        return String(out).trimmingCharacters(in: .whitespaces)
    }
}

extension OpenIMInbound {
    /// The whole inbound hot path for one 2001 frame: the JSON envelope (byte-level
    /// ``JSONScanner``), its base64 `data`, the ``OpenIMPushMessages`` protobuf, and each
    /// chat message's content JSON, built into outcomes in conversation and seq order.
    /// - Throws: ``OpenIMFrameError`` for a malformed envelope, base64 or protobuf, or a
    ///   frame that is not a push.
    public static func decodePush(_ frame: Data, account: AccountKey, rules: Rules) throws(OpenIMFrameError) -> [(conversationID: String, seq: Int64, outcome: Outcome)] {
        let envelope = try OpenIMEnvelopeCodec.decodeResponse(frame)
        guard envelope.reqIdentifier == OpenIMReqIdentifier.pushMsg else {
            throw OpenIMFrameError(message: "reqIdentifier \(envelope.reqIdentifier) is not a push", location: "$.reqIdentifier")
        }
        let push: OpenIMPushMessages
        do { push = try OpenIMPushMessages(serialized: envelope.data) } catch {
            throw OpenIMFrameError(message: error.message, location: "$.data protobuf byte \(error.offset)")
        }
        var out: [(String, Int64, Outcome)] = []
        if push.msgs.count == 1, let (conversationID, pulls) = push.msgs.first {
            // The common shape: one conversation.
            for msg in pulls.msgs.count > 1 ? pulls.msgs.sorted(by: { $0.seq < $1.seq }) : pulls.msgs {
                out.append((conversationID, msg.seq, build(msg, conversationID: conversationID, account: account, rules: rules)))
            }
            return out
        }
        for conversationID in push.msgs.keys.sorted() {
            for msg in (push.msgs[conversationID]?.msgs ?? []).sorted(by: { $0.seq < $1.seq }) {
                out.append((conversationID, msg.seq, build(msg, conversationID: conversationID, account: account, rules: rules)))
            }
        }
        return out
    }
}
