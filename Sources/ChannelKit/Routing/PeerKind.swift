/// What kind of conversation a ``Peer`` is.
///
/// The three kinds the routing layer and session keys know. A platform maps its scenes
/// onto them (QQ C2C and guild DMs → ``direct``, QQ groups → ``group``, QQ guild
/// channels → ``channel``); anything platform-specific that a reply needs travels in
/// ``Origin/replyContext``.
public enum PeerKind: String, Hashable, Sendable, Codable, CustomStringConvertible {
    /// A one-to-one conversation with a user.
    case direct
    /// A group chat.
    case group
    /// A channel inside a larger space (QQ guild channel, …).
    case channel

    public var description: String { rawValue }
}
