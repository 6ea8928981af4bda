/// How direct-message conversations map onto sessions (config `session.dmScope`).
///
/// Group and channel conversations always get their own session per account; the scope
/// only decides how much direct messages share.
public enum DMScope: String, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Every direct message of the agent shares one session: `agent:<agent>:main`.
    case main
    /// One session per peer id, across channels: `agent:<agent>:direct:<peer>`.
    case perPeer = "per-peer"
    /// One session per channel and peer: `agent:<agent>:<channel>:direct:<peer>`.
    case perChannelPeer = "per-channel-peer"
    /// One session per account, channel and peer — the right choice for multi-account
    /// inboxes: `agent:<agent>:<channel>:<account>:direct:<peer>`.
    case perAccountChannelPeer = "per-account-channel-peer"

    public var description: String { rawValue }
}
