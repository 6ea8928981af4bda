import ChannelKit

/// The Feishu/Lark adapter (long-connection mode, 长连接): parses
/// `channels.feishu.accounts.<id>` and makes one ``FeishuConnection`` per account.
///
/// ```swift
/// let adapter = FeishuAdapter()
/// // gateway.register(adapter)
/// ```
///
/// The adapter holds no per-account state: tenant tokens live in the runtime's shared
/// ``TokenCache`` keyed by `feishu:<appId>`, the connection settings pushed by the
/// server and the idempotency keys of sends in each connection.
public struct FeishuAdapter: ChannelAdapter {
    /// Tuning shared by every account of this adapter (per-account options are in
    /// ``FeishuAccountSettings``).
    public struct Configuration: Sendable {
        /// Deadline of each REST request (token, endpoint discovery, bot info, sends,
        /// uploads). Default 15 s.
        public var requestTimeout: Duration
        /// Fragment reassembly limits (partials expire after 5 s by default).
        public var fragments: FeishuFragmentAssembler.Configuration
        /// The longest text one message may carry, in characters (the gateway splits
        /// longer text). Default 4000; a chunk whose request body would still exceed
        /// ``textBodyLimit`` / ``postBodyLimit`` is split again by size.
        public var textChunkLimit: Int
        /// The largest request body of a `text` message, in bytes. Default 150 KiB
        /// (the platform's limit).
        public var textBodyLimit: Int
        /// The largest request body of a `post` (markdown) message, in bytes. Default
        /// 30 KiB (the platform's limit).
        public var postBodyLimit: Int
        /// Uniform random numbers in `[0, 1)` for the first reconnect's delay in
        /// `[0, ReconnectNonce)`. Default: the system generator.
        public var random: @Sendable () -> Double

        /// Creates a configuration; every parameter has the documented default.
        public init(requestTimeout: Duration = .seconds(15), fragments: FeishuFragmentAssembler.Configuration = .init(),
                    textChunkLimit: Int = 4000, textBodyLimit: Int = 150 * 1024, postBodyLimit: Int = 30 * 1024,
                    random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }) {
            self.requestTimeout = requestTimeout
            self.fragments = fragments
            self.textChunkLimit = textChunkLimit
            self.textBodyLimit = textBodyLimit
            self.postBodyLimit = postBodyLimit
            self.random = random
        }
    }

    /// The configuration.
    public var configuration: Configuration

    /// Creates the adapter.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// `feishu`.
    public var channel: ChannelID { .feishu }

    /// Parses one account; see ``FeishuAccountSettings/parse(_:)``.
    public func parseAccount(_ config: ConfigObject) -> (any AccountSettings)? {
        FeishuAccountSettings.parse(config)
    }

    /// Makes the account's connection (no I/O).
    /// - Throws: ``ChannelError`` `.invalidConfiguration` when `settings` are not
    ///   ``FeishuAccountSettings``.
    public func makeConnection(settings: any AccountSettings, context: AccountContext) throws -> any AccountConnection {
        guard let settings = settings as? FeishuAccountSettings else {
            throw ChannelError(.invalidConfiguration, "FeishuAdapter was given \(type(of: settings))", account: context.account)
        }
        return FeishuConnection(settings: settings, context: context, configuration: configuration)
    }
}
