/// The other side of a conversation: its kind and the platform's id for it.
///
/// Ids are platform-scoped and often account-scoped (a QQ openid belongs to one appId),
/// which is why a `Peer` alone never names a destination: sends always go through an
/// ``Origin`` or an explicit ``AccountKey``.
public struct Peer: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Direct, group or channel.
    public var kind: PeerKind
    /// The platform's id for the conversation (user openid, group id, chat id, …).
    public var id: String

    /// Creates a peer.
    public init(_ kind: PeerKind, _ id: String) {
        self.kind = kind
        self.id = id
    }

    /// Creates a peer.
    public init(kind: PeerKind, id: String) {
        self.init(kind, id)
    }

    public var description: String { "\(kind):\(id)" }
}
