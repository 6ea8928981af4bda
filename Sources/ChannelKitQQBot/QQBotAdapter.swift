import ChannelKit

/// The QQ Bot (QQ 机器人 API v2) adapter: parses `channels.qqbot.accounts.<id>` and makes
/// one ``QQBotConnection`` per account.
///
/// ```swift
/// let adapter = QQBotAdapter()
/// // gateway.register(adapter)
/// ```
///
/// The adapter holds no per-account state: tokens live in the runtime's shared
/// ``TokenCache`` keyed by `qqbot:<appId>`, sessions and `msg_seq` counters in each
/// connection.
public struct QQBotAdapter: ChannelAdapter {
    /// Tuning shared by every account of this adapter (per-account options are in
    /// ``QQBotAccountSettings``).
    public struct Configuration: Sendable, Hashable {
        /// How long to wait for Hello after the socket opened — and, when resuming, for
        /// RESUMED (a gateway that ignores the Resume makes the account identify afresh).
        /// Default 30 s.
        public var helloTimeout: Duration
        /// Deadline of each REST request (token, `/gateway`, sends, uploads). Default
        /// 15 s (the platform asks for at least 5 s).
        public var requestTimeout: Duration
        /// Gateway rules (missed heartbeat ACKs, 4008 wait).
        public var gateway: QQBotGatewayStateMachine.Configuration
        /// How long a gateway session saved in the state store (at READY and on
        /// shutdown) may be resumed by a restarted process, so that what the platform
        /// pushed while it was down is replayed instead of lost. `.zero` disables it.
        /// Default 5 min.
        public var sessionResumeWindow: Duration

        /// Creates a configuration; every parameter has the documented default.
        public init(helloTimeout: Duration = .seconds(30), requestTimeout: Duration = .seconds(15),
                    gateway: QQBotGatewayStateMachine.Configuration = .init(),
                    sessionResumeWindow: Duration = .seconds(300)) {
            self.helloTimeout = helloTimeout
            self.requestTimeout = requestTimeout
            self.gateway = gateway
            self.sessionResumeWindow = sessionResumeWindow
        }
    }

    /// The configuration.
    public var configuration: Configuration

    /// Creates the adapter.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// `qqbot`.
    public var channel: ChannelID { .qqbot }

    /// Parses one account; see ``QQBotAccountSettings/parse(_:)``.
    public func parseAccount(_ config: ConfigObject) -> (any AccountSettings)? {
        QQBotAccountSettings.parse(config)
    }

    /// Makes the account's connection (no I/O).
    /// - Throws: ``ChannelError`` `.invalidConfiguration` when `settings` are not
    ///   ``QQBotAccountSettings``.
    public func makeConnection(settings: any AccountSettings, context: AccountContext) throws -> any AccountConnection {
        guard let settings = settings as? QQBotAccountSettings else {
            throw ChannelError(.invalidConfiguration, "QQBotAdapter was given \(type(of: settings))", account: context.account)
        }
        return QQBotConnection(settings: settings, context: context, configuration: configuration)
    }
}
