import Foundation

/// A parsed configuration file: channels with their named accounts, session keys, and
/// the state directory.
///
/// Build it with ``parse(_:adapters:environment:)``; hand it to
/// ``ChannelGateway/apply(_:)`` to start (or reload) the accounts it names. Accounts are
/// always named (`channels.<channel>.accounts.<id>`); there is no default account.
public struct GatewaySettings: Sendable {
    /// Per-channel settings, keyed by channel.
    public var channels: [ChannelID: ChannelSettings]
    /// How direct messages map onto sessions (`session.dmScope`, default `main`).
    public var dmScope: DMScope
    /// The agent id used in session keys (`session.agent`, default `main`).
    public var agent: String
    /// The state directory (`state.directory`), resolved against the config file's
    /// directory; `nil` when the file does not set one.
    public var stateDirectory: String?

    /// Creates settings.
    public init(channels: [ChannelID: ChannelSettings] = [:], dmScope: DMScope = .main, agent: String = SessionKey.defaultAgent, stateDirectory: String? = nil) {
        self.channels = channels
        self.dmScope = dmScope
        self.agent = agent
        self.stateDirectory = stateDirectory
    }

    /// Every configured account, in channel then file order.
    public var accounts: [(key: AccountKey, settings: any AccountSettings)] {
        channels.keys.sorted { $0.rawValue < $1.rawValue }.flatMap { channel in
            (channels[channel]?.accounts ?? []).map { (AccountKey(channel, $0.id), $0.settings) }
        }
    }

    /// The settings of one account.
    public func settings(for key: AccountKey) -> (any AccountSettings)? {
        channels[key.channel]?.accounts.first { $0.id == key.account }?.settings
    }
}

/// One channel's part of the configuration.
public struct ChannelSettings: Sendable {
    /// The accounts, in file order.
    public var accounts: [(id: AccountID, settings: any AccountSettings)]
    /// How often the health monitor checks this channel's accounts
    /// (`healthCheckIntervalMinutes`); `nil` disables it (the value `0`).
    public var healthCheckInterval: Duration?

    /// Creates channel settings.
    public init(accounts: [(id: AccountID, settings: any AccountSettings)] = [], healthCheckInterval: Duration? = .seconds(5 * 60)) {
        self.accounts = accounts
        self.healthCheckInterval = healthCheckInterval
    }
}
