/// Where one outbound message goes, as the adapter sees it.
///
/// The gateway builds it: from an ``Origin`` for replies (``reply``), or from an explicit
/// peer for ``ChannelGateway/send(_:via:to:thread:)`` (then ``reply`` is `nil` and the
/// platform's proactive-send rules apply).
public struct DeliveryTarget: Hashable, Sendable, CustomStringConvertible {
    /// The conversation.
    public let peer: Peer
    /// The thread inside it, when any.
    public let thread: String?
    /// The inbound message being answered, for passive replies.
    public let reply: Origin?

    /// A target answering `origin`: same peer, same thread.
    public init(replyingTo origin: Origin) {
        self.peer = origin.peer
        self.thread = origin.thread
        self.reply = origin
    }

    /// A proactive target.
    public init(peer: Peer, thread: String? = nil) {
        self.peer = peer
        self.thread = thread
        self.reply = nil
    }

    public var description: String {
        "\(peer)\(thread.map { " thread:\($0)" } ?? "")\(reply.map { " reply-to:\($0.messageID)" } ?? "")"
    }
}
