/// The identity a cached credential belongs to, e.g. `qqbot:<appId>`.
///
/// Platform tokens are scoped by the credential that minted them (QQ Bot and Feishu:
/// the `appId`; per-user tokens: the account), not by whichever account happens to ask.
/// Two accounts configured with the same `appId` therefore share one token; two
/// different `appId`s never do.
public struct CredentialKey: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The platform that issues the credential.
    public let channel: ChannelID
    /// The credential identity inside that platform (an `appId`, a user id, …).
    public let identity: String

    /// Creates a credential key.
    public init(_ channel: ChannelID, _ identity: String) {
        self.channel = channel
        self.identity = identity
    }

    /// The key of a per-account credential (a user token owned by exactly one account).
    public init(account: AccountKey) {
        self.init(account.channel, account.account.rawValue)
    }

    public var description: String { "\(channel.rawValue):\(identity)" }
}
