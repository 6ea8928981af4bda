import Foundation
import ChannelKit

/// What one decoded event payload is, for one account.
public enum FeishuEvent: Sendable {
    /// An `im.message.receive_v1` to deliver.
    case message(InboundMessage)
    /// A message event that is not delivered, with why (a group message that does not
    /// mention the bot while `requireMention` is on, the bot's own message).
    case skipped(messageID: String, reason: String)
    /// Any other event (or a message type ChannelKit does not map), with its type and
    /// raw payload; `isKnown` is `true` for message events of unmapped types.
    case platform(type: String, payload: JSONValue, isKnown: Bool)
}

/// One `mentions[]` entry of a message.
struct FeishuMention: Sendable, Equatable {
    var key: String
    var openID: String
    var name: String
}

/// The fields of an `im.message.receive_v1` event that ChannelKit reads, as decoded by
/// either decoder; ``FeishuEventDecoder/build(_:botOpenID:)`` turns them into the
/// message.
struct FeishuMessageFields: Sendable, Equatable {
    var eventID = ""
    var senderOpenID = ""
    var senderType = ""
    var messageID = ""
    var rootID = ""
    var parentID = ""
    var createTime = ""
    var chatID = ""
    var threadID = ""
    var chatType = ""
    var messageType = ""
    var content = ""
    var mentions: [FeishuMention] = []
}

/// The decoded `content` of a message.
struct FeishuContent: Sendable, Equatable {
    /// Text with `@_user_N` placeholders still in place.
    var text: String
    /// (kind, resource key, file name).
    var resources: [(kind: Attachment.Kind, key: String, name: String?)]

    static func == (lhs: FeishuContent, rhs: FeishuContent) -> Bool {
        lhs.text == rhs.text && lhs.resources.map { "\($0.kind)|\($0.key)|\($0.name ?? "")" } == rhs.resources.map { "\($0.kind)|\($0.key)|\($0.name ?? "")" }
    }
}
