/// Where an inbound message came from, as one immutable tuple: channel, account, peer,
/// thread and message id.
///
/// Every ``InboundMessage`` carries its origin, and ``ChannelGateway/reply(to:_:)`` sends
/// through exactly this origin — the account that received the message, to the
/// conversation it came from. There is no "last channel" and no default account that
/// could be used instead. The fields are `let`: a route is never edited piecewise
/// (bug class "route not treated as one tuple").
public struct Origin: Hashable, Sendable, CustomStringConvertible {
    /// The account that received the message.
    public let account: AccountKey
    /// The conversation the message belongs to.
    public let peer: Peer
    /// The thread or topic inside the conversation, when the platform has one.
    public let thread: String?
    /// The platform's id of the inbound message (QQ `d.id`, ClawChat `message_id`, …).
    public let messageID: String
    /// Platform-specific facts a reply needs and that are not part of the peer, e.g. the
    /// QQ guild id of a direct message, or the event id a passive reply must quote.
    /// Adapters read their own keys; the gateway never interprets them.
    public let replyContext: [String: String]

    /// Creates an origin.
    public init(account: AccountKey, peer: Peer, thread: String? = nil, messageID: String, replyContext: [String: String] = [:]) {
        self.account = account
        self.peer = peer
        self.thread = thread
        self.messageID = messageID
        self.replyContext = replyContext
    }

    /// The channel that received the message.
    public var channel: ChannelID { account.channel }

    public var description: String {
        "Origin(\(account) \(peer)\(thread.map { " thread:\($0)" } ?? "") msg:\(messageID))"
    }
}
