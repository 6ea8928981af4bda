/// Everything an account's connection gets from the runtime: its key, clock, logger,
/// store, transports, the shared token cache, its event sink and identity cell.
///
/// One context per account lifecycle; nothing in it is shared with another account
/// except the token cache, whose slots are keyed by credential (two accounts with the
/// same QQ appId legitimately share one token; different appIds never do).
public struct AccountContext: Sendable {
    /// The account.
    public let account: AccountKey
    /// Clock and wall time; tests inject a ``TimeSource`` over a virtual clock.
    public let time: TimeSource
    /// A logger already scoped to the account (`channel.account` metadata).
    public let logger: ChannelLogger
    /// The state store (persisted sessions, rotated credentials, cursors).
    public let store: any StateStore
    /// The HTTP transport.
    public let http: any HTTPTransport
    /// The WebSocket transport.
    public let webSocket: any WebSocketTransport
    /// The process's token cache, keyed by ``CredentialKey``.
    public let tokenCache: TokenCache
    /// Where the connection reports messages, state and errors.
    public let events: AccountEventSink
    /// The account's own identity, as currently known.
    public let identity: AccountIdentityCell

    /// Creates a context.
    public init(
        account: AccountKey,
        time: TimeSource,
        logger: ChannelLogger,
        store: any StateStore,
        http: any HTTPTransport,
        webSocket: any WebSocketTransport,
        tokenCache: TokenCache,
        events: AccountEventSink,
        identity: AccountIdentityCell = AccountIdentityCell()
    ) {
        self.account = account
        self.time = time
        self.logger = logger.scoped(to: account)
        self.store = store
        self.http = http
        self.webSocket = webSocket
        self.tokenCache = tokenCache
        self.events = events
        self.identity = identity
    }
}
