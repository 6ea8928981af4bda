/// Who an account is on its platform: the bot's id (QQ READY `user.id`, Feishu
/// `bot.open_id`) or the user id (ClawChat, OpenIM).
public struct AccountIdentity: Hashable, Sendable, CustomStringConvertible {
    /// The platform's id for this account.
    public var id: String
    /// A display name, when known.
    public var name: String?

    /// Creates an identity.
    public init(id: String, name: String? = nil) {
        self.id = id
        self.name = name
    }

    public var description: String { name.map { "\(id) (\($0))" } ?? id }
}
