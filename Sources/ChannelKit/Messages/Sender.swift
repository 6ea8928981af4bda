/// Who sent an inbound message.
public struct Sender: Hashable, Sendable, CustomStringConvertible {
    /// The platform's id for the sender, scoped like the platform scopes it (a QQ
    /// `member_openid` belongs to one group of one bot).
    public var id: String
    /// A display name, when the platform sent one.
    public var name: String?
    /// Whether the platform marked the sender as a bot.
    public var isBot: Bool

    /// Creates a sender.
    public init(id: String, name: String? = nil, isBot: Bool = false) {
        self.id = id
        self.name = name
        self.isBot = isBot
    }

    public var description: String { name.map { "\(id) (\($0))" } ?? id }
}
