import Foundation
import ChannelKit

/// The OpenIM adapter (channel `openim`): user accounts on one or more OpenIM servers,
/// through the msg gateway's JSON encoder (`sdkType=js`) with protobuf payloads.
///
/// ```swift
/// let gateway = ChannelGateway(adapters: [OpenIMAdapter()], …)
/// ```
///
/// One adapter value serves every OpenIM account, on any number of servers: each
/// account's ``OpenIMConnection`` owns its socket, its synced seqs (persisted per
/// account), its pending requests and its token recovery.
public struct OpenIMAdapter: ChannelAdapter {
    /// Tuning shared by every account of this adapter. Defaults are the protocol's rules
    /// (`../shared/protocols/openim.md`); tests shorten nothing but the clock.
    public struct Configuration: Sendable {
        /// How long to wait for the gateway's first text frame (`{"errCode":…}`) after
        /// the upgrade. Default 10 s (the server's handshake limit).
        public var handshakeTimeout: Duration
        /// How long a request (1001, 1002, 1003) waits for the reply with its `msgIncr`.
        /// Default 10 s (the Go SDK's wait).
        public var requestTimeout: Duration
        /// Interval of the WebSocket ping that keeps the server's 30 s read deadline
        /// from expiring. Default 25 s (must stay below 30 s).
        public var heartbeatInterval: Duration
        /// How long a ping may wait for its pong before the socket counts as dead.
        /// Default 10 s.
        public var heartbeatTimeout: Duration
        /// Largest frame sent, in bytes: the server closes connections whose frames
        /// exceed 51,200 bytes. Longer text is split; other frames fail with
        /// `.invalidState`. Default 51,200.
        public var maximumFrameSize: Int
        /// Largest frame accepted from the server, in bytes; a bigger one is reported as
        /// `.malformedInput` and dropped (the seq sync pulls what it carried). Default
        /// 1 MiB (the server's own writes are not limited: a pull reply of 100 messages
        /// can exceed 51,200 bytes).
        public var maximumInboundFrameSize: Int
        /// Seqs per `SeqRange` of a pull (the server's limit is 100). Default 100.
        public var pullBatchSize: Int
        /// Ranges per 1002 request. Default 10.
        public var maximumRangesPerPull: Int
        /// Consecutive dial failures before a `connectFailed` token recovery is tried (a
        /// network blip must not spend refreshes). Default 3.
        public var dialFailuresBeforeRecovery: Int
        /// Whether to ask for `compression=gzip`: every binary frame, both ways, is then a
        /// gzip member (ChannelKit inflates the server's frames and writes stored deflate
        /// blocks itself; no zlib). Default `false`.
        public var gzip: Bool
        /// Whether an `@all` (`AtAllTag`) counts as mentioning the account. Default
        /// `false`: announcements to a whole group do not wake every bot in it.
        public var atAllMentions: Bool
        /// Longest text per message, in Characters. Default 4,000.
        public var textChunkLimit: Int
        /// Largest media upload, in bytes. Default 100 MiB (20 parts of up to 5 MiB;
        /// larger parts when the server allows).
        public var maximumUploadSize: Int
        /// Token recovery mode `hook`: the host's closure `(account, reason) -> new token?`
        /// (`reason` like `"OnUserTokenExpired"`, `"OnConnectFailed errCode=10001"`).
        /// Default `nil`.
        public var tokenHook: (@Sendable (AccountKey, String) async -> String?)?
        /// Called after a successful token refresh with the new token (`channelkit run`
        /// writes it back into its configuration file). Default `nil`.
        public var tokenDidRefresh: (@Sendable (AccountKey, Secret) async -> Void)?

        /// Creates a configuration; every parameter defaults to the value documented on
        /// its property.
        public init(
            handshakeTimeout: Duration = .seconds(10),
            requestTimeout: Duration = .seconds(10),
            heartbeatInterval: Duration = .seconds(25),
            heartbeatTimeout: Duration = .seconds(10),
            maximumFrameSize: Int = 51_200,
            maximumInboundFrameSize: Int = 1 << 20,
            pullBatchSize: Int = 100,
            maximumRangesPerPull: Int = 10,
            dialFailuresBeforeRecovery: Int = 3,
            gzip: Bool = false,
            atAllMentions: Bool = false,
            textChunkLimit: Int = 4000,
            maximumUploadSize: Int = 100 << 20,
            tokenHook: (@Sendable (AccountKey, String) async -> String?)? = nil,
            tokenDidRefresh: (@Sendable (AccountKey, Secret) async -> Void)? = nil
        ) {
            self.handshakeTimeout = handshakeTimeout
            self.requestTimeout = requestTimeout
            self.heartbeatInterval = min(heartbeatInterval, .seconds(25))
            self.heartbeatTimeout = heartbeatTimeout
            self.maximumFrameSize = max(1024, maximumFrameSize)
            self.maximumInboundFrameSize = max(1024, maximumInboundFrameSize)
            self.pullBatchSize = min(100, max(1, pullBatchSize))
            self.maximumRangesPerPull = max(1, maximumRangesPerPull)
            self.dialFailuresBeforeRecovery = max(1, dialFailuresBeforeRecovery)
            self.gzip = gzip
            self.atAllMentions = atAllMentions
            self.textChunkLimit = textChunkLimit
            self.maximumUploadSize = maximumUploadSize
            self.tokenHook = tokenHook
            self.tokenDidRefresh = tokenDidRefresh
        }
    }

    /// The configuration.
    public let configuration: Configuration

    /// Creates the adapter.
    /// - Parameter configuration: Tuning; defaults are the protocol's rules.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// `openim`.
    public var channel: ChannelID { .openim }

    /// Channel-level keys besides `accounts` and `healthCheckIntervalMinutes`:
    /// `tokenRefresh` and `disableFriendSdk` (the accounts' default).
    public var channelFields: Set<String> { ["tokenRefresh", "disableFriendSdk"] }

    /// The seed plugin's health-check interval: 30 minutes.
    public var defaultHealthCheckMinutes: Int { 30 }

    /// Parses an account without channel-level settings (no token refresh).
    public func parseAccount(_ config: ConfigObject) -> (any AccountSettings)? {
        OpenIMAccountSettings.parse(config, channelDisableFriendSdk: nil, tokenRefresh: .off)
    }

    /// Parses `channels.openim.accounts.<id>` with the channel's `tokenRefresh` and
    /// `disableFriendSdk`.
    public func parseAccount(_ config: ConfigObject, channel: ConfigObject) -> (any AccountSettings)? {
        let disable = channel.bool("disableFriendSdk")
        var refresh = OpenIMTokenRefresh.off
        if let object = channel.object("tokenRefresh") {
            guard let parsed = OpenIMTokenRefresh.parse(object) else {
                _ = OpenIMAccountSettings.parse(config, channelDisableFriendSdk: disable, tokenRefresh: .off)
                return nil
            }
            refresh = parsed
        }
        return OpenIMAccountSettings.parse(config, channelDisableFriendSdk: disable, tokenRefresh: refresh)
    }

    /// Makes the account's ``OpenIMConnection`` (no I/O).
    /// - Throws: ``ChannelError`` `.invalidConfiguration` when `settings` are not
    ///   ``OpenIMAccountSettings``.
    public func makeConnection(settings: any AccountSettings, context: AccountContext) throws -> any AccountConnection {
        guard let settings = settings as? OpenIMAccountSettings else {
            throw ChannelError(.invalidConfiguration, "settings for \(context.account) are not OpenIM settings", account: context.account)
        }
        return OpenIMConnection(settings: settings, context: context, configuration: configuration)
    }
}
