import Foundation

/// A message a user sent to one of the gateway's accounts, decoded into the common shape.
///
/// Adapters build it; the gateway deduplicates it (on ``dedupKeys``), stamps the
/// ``sessionKey`` and delivers it as ``GatewayEvent/message(_:)``. Reply with
/// ``ChannelGateway/reply(to:_:)``, which uses ``origin`` and nothing else.
public struct InboundMessage: Sendable {
    /// Where it came from; the only route a reply can take.
    public let origin: Origin
    /// Who sent it.
    public var sender: Sender
    /// The text, with the platform's leading mention of the bot stripped.
    public var text: String
    /// Media attached to it.
    public var attachments: [Attachment]
    /// When the platform says it was sent, if it said.
    public var timestamp: Date?
    /// Whether the message mentions this account's bot. Fail-closed: `false` when the
    /// bot's own id is unknown.
    public var mentionsBot: Bool
    /// The id of the message it quotes or replies to, when any.
    public var replyToMessageID: String?
    /// Keys the gateway deduplicates on, per account. Default: the message id. Adapters
    /// may add more (e.g. a content hash for platforms that redeliver under a new id).
    public var dedupKeys: [String]
    /// The canonical session key (``SessionKey``), stamped by the gateway before
    /// delivery; `nil` on a message that has not been through a gateway.
    public var sessionKey: String?

    /// Creates a message.
    public init(
        origin: Origin,
        sender: Sender,
        text: String,
        attachments: [Attachment] = [],
        timestamp: Date? = nil,
        mentionsBot: Bool = false,
        replyToMessageID: String? = nil,
        dedupKeys: [String]? = nil
    ) {
        self.origin = origin
        self.sender = sender
        self.text = text
        self.attachments = attachments
        self.timestamp = timestamp
        self.mentionsBot = mentionsBot
        self.replyToMessageID = replyToMessageID
        self.dedupKeys = dedupKeys ?? [origin.messageID]
        self.sessionKey = nil
    }

    /// The account that received it.
    public var account: AccountKey { origin.account }
}
