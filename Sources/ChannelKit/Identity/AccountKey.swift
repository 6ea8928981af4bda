/// The scope of everything that belongs to one account: `(channel, account)`.
///
/// Tokens, sockets, sessions, dedup entries, state files and log lines are all scoped by
/// an `AccountKey` (or by the platform credential identity, see ``CredentialKey``).
/// Its description is `"<channel>:<account>"`, used as the `channel.account` log metadata.
public struct AccountKey: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The platform.
    public let channel: ChannelID
    /// The configured account on that platform.
    public let account: AccountID

    /// Creates an account key.
    public init(_ channel: ChannelID, _ account: AccountID) {
        self.channel = channel
        self.account = account
    }

    /// Creates an account key.
    public init(channel: ChannelID, account: AccountID) {
        self.init(channel, account)
    }

    public var description: String { "\(channel.rawValue):\(account.rawValue)" }
}
