import Foundation
import ChannelKit

/// The ClawChat adapter (channel `clawchat`): Protocol v2 WebSocket, rotating JWT access
/// tokens with single-use refresh tokens, acked sends, and `/media/upload`.
///
/// ```swift
/// let gateway = ChannelGateway(adapters: [ClawChatAdapter()], …)
/// ```
///
/// One adapter value serves every ClawChat account; everything an account owns (its
/// ``RefreshCoordinator``, unacked sends, device ids, blocked chats) lives in the
/// ``ClawChatConnection`` made for it, so a reconnect storm can never become a refresh
/// storm and two accounts never share a token or a device id.
public struct ClawChatAdapter: ChannelAdapter {
    /// Tuning shared by every account of this adapter. Every default is the protocol's
    /// rule (``../shared/protocols/clawchat.md``); tests shorten nothing but the clock.
    public struct Configuration: Sendable {
        /// How long to wait for `connect.challenge` and then `hello-*` after the upgrade.
        /// Default 10 s (the server's own connect deadline).
        public var handshakeTimeout: Duration
        /// How long one transmission of a send waits for `message.ack`/`message.error`.
        /// Default 15 s (Hermes).
        public var ackTimeout: Duration
        /// How many times one send is put on the wire (the first send plus byte-identical
        /// resends after a reconnect or an ack timeout) before it fails with `.timeout`.
        /// Default 3.
        public var maximumTransmissions: Int
        /// Sends waiting for a socket or an ack, per account; further sends fail with
        /// `.rateLimited`. Default 128 (Hermes).
        public var maximumQueuedSends: Int
        /// How long sends to a chat are refused after `chat_not_found`/`not_member`.
        /// Default 600 s.
        public var blockedChatDuration: Duration
        /// The least wait after close 4001 (session taken over). Default 5 s.
        public var takeoverWait: Duration
        /// The wait after close 4002 when its reason carries no `retry_after_ms`.
        /// Default 60 s (the low end of the server's 60–300 s).
        public var throttleFallbackWait: Duration
        /// Interval of the JSON `ping` the client sends to prove liveness (the answer is
        /// reported as activity); `nil` disables it. Default 30 s.
        public var keepaliveInterval: Duration?
        /// Largest outbound frame, in bytes; bigger sends fail locally (the server closes
        /// with 1009 above 8 MiB). Default 8 MiB.
        public var maximumFrameSize: Int
        /// Largest media upload, in bytes. Default 100 MiB.
        public var maximumUploadSize: Int
        /// `connect.payload.client_version`. Default `"channelkit/0.1"`.
        public var clientVersion: String
        /// Whether to request Protocol v2 (`protocol_version: 2`) and ack `dseq` frames when
        /// the server grants `ack_mode: "dseq"`. Default `true`.
        public var protocolV2: Bool
        /// Refresh timing and guards (min interval 30 s, attempt timeout 20 s, the JWT
        /// schedule). Its `time` and `logger` are replaced by the account's.
        public var refresh: RefreshCoordinator.Configuration
        /// Longest text per message, in Characters. Default 4,000.
        public var textChunkLimit: Int

        /// Creates a configuration; every parameter defaults to the value documented on
        /// its property.
        public init(
            handshakeTimeout: Duration = .seconds(10),
            ackTimeout: Duration = .seconds(15),
            maximumTransmissions: Int = 3,
            maximumQueuedSends: Int = 128,
            blockedChatDuration: Duration = .seconds(600),
            takeoverWait: Duration = .seconds(5),
            throttleFallbackWait: Duration = .seconds(60),
            keepaliveInterval: Duration? = .seconds(30),
            maximumFrameSize: Int = 8 << 20,
            maximumUploadSize: Int = 100 << 20,
            clientVersion: String = "channelkit/0.1",
            protocolV2: Bool = true,
            refresh: RefreshCoordinator.Configuration = .init(),
            textChunkLimit: Int = 4000
        ) {
            self.handshakeTimeout = handshakeTimeout
            self.ackTimeout = ackTimeout
            self.maximumTransmissions = max(1, maximumTransmissions)
            self.maximumQueuedSends = max(1, maximumQueuedSends)
            self.blockedChatDuration = blockedChatDuration
            self.takeoverWait = takeoverWait
            self.throttleFallbackWait = throttleFallbackWait
            self.keepaliveInterval = keepaliveInterval
            self.maximumFrameSize = maximumFrameSize
            self.maximumUploadSize = maximumUploadSize
            self.clientVersion = clientVersion
            self.protocolV2 = protocolV2
            self.refresh = refresh
            self.textChunkLimit = textChunkLimit
        }
    }

    /// The configuration.
    public let configuration: Configuration

    /// Creates the adapter.
    /// - Parameter configuration: Tuning; defaults are the protocol's rules.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// `clawchat`.
    public var channel: ChannelID { .clawchat }

    /// Parses `channels.clawchat.accounts.<id>` into ``ClawChatAccountSettings``.
    public func parseAccount(_ config: ConfigObject) -> (any AccountSettings)? {
        ClawChatAccountSettings.parse(config)
    }

    /// Makes the account's ``ClawChatConnection`` (no I/O).
    /// - Throws: ``ChannelError`` `.invalidConfiguration` when `settings` are not
    ///   ``ClawChatAccountSettings``.
    public func makeConnection(settings: any AccountSettings, context: AccountContext) throws -> any AccountConnection {
        guard let settings = settings as? ClawChatAccountSettings else {
            throw ChannelError(.invalidConfiguration, "settings for \(context.account) are not ClawChat settings", account: context.account)
        }
        return ClawChatConnection(settings: settings, context: context, configuration: configuration)
    }
}
