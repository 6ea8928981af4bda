extension ChannelGateway {
    /// What a gateway is built from: clock, logger, store, transports and the policies
    /// of its runtime. Every field has a default suitable for production.
    public struct Configuration: Sendable {
        /// Clock and wall time. Default ``TimeSource/system``; tests inject a virtual one.
        public var time: TimeSource
        /// Where log lines go. Default ``ChannelLogger/disabled``.
        public var logger: ChannelLogger
        /// Durable state (dedup, sessions, rotated credentials). Default an
        /// ``InMemoryStateStore``; `channelkit run` uses a ``FileStateStore`` on
        /// `state.directory`.
        public var store: any StateStore
        /// HTTP transport. Default ``URLSessionHTTPTransport``.
        public var http: any HTTPTransport
        /// WebSocket transport. Default ``makeDefaultWebSocketTransport()``.
        public var webSocket: any WebSocketTransport
        /// The token cache shared by every account (slots keyed by credential). Default a
        /// new cache on ``time``.
        public var tokenCache: TokenCache?
        /// How the ``ChannelGateway/events`` stream buffers when its consumer lags.
        /// Default `.unbounded` (nothing is dropped; memory grows while the consumer lags).
        public var eventBuffering: AsyncStream<GatewayEvent>.Continuation.BufferingPolicy
        /// Delay between an account's reconnects when the platform imposes none.
        /// Default 1 s doubling to 5 min, ±20 % jitter, with no attempt limit: an account
        /// is never given up on.
        public var restartBackoff: Backoff.Configuration
        /// Delay between identity-discovery retries. Default 5 s doubling to 5 min.
        public var identityRetry: Backoff.Configuration
        /// Inbound dedup per account. Default 20 min TTL, 5,000 ids.
        public var dedup: DedupCache.Configuration
        /// How long after a new message the dedup state is written to the store.
        /// Default 1 s (and always on stop).
        public var dedupFlushDelay: Duration
        /// Per-target send pacing.
        public var pacing: TargetPacer.Configuration
        /// When the health monitor restarts an account.
        public var health: HealthPolicy
        /// The longest ``ChannelGateway/stop(_:)`` waits for an account's tasks before it
        /// lets a new lifecycle start anyway (the old one can no longer touch the
        /// account: its generation is over). Default 10 s.
        public var stopTimeout: Duration

        /// Creates a configuration; every parameter has the documented default.
        public init(
            time: TimeSource = .system,
            logger: ChannelLogger = .disabled,
            store: any StateStore = InMemoryStateStore(),
            http: any HTTPTransport = URLSessionHTTPTransport(),
            webSocket: any WebSocketTransport = makeDefaultWebSocketTransport(),
            tokenCache: TokenCache? = nil,
            eventBuffering: AsyncStream<GatewayEvent>.Continuation.BufferingPolicy = .unbounded,
            restartBackoff: Backoff.Configuration = Backoff.Configuration(initial: .seconds(1), maximum: .seconds(300), multiplier: 2, jitter: 0.2),
            identityRetry: Backoff.Configuration = Backoff.Configuration(initial: .seconds(5), maximum: .seconds(300), multiplier: 2, jitter: 0.2),
            dedup: DedupCache.Configuration = DedupCache.Configuration(),
            dedupFlushDelay: Duration = .seconds(1),
            pacing: TargetPacer.Configuration = TargetPacer.Configuration(),
            health: HealthPolicy = HealthPolicy(),
            stopTimeout: Duration = .seconds(10)
        ) {
            self.time = time
            self.logger = logger
            self.store = store
            self.http = http
            self.webSocket = webSocket
            self.tokenCache = tokenCache
            self.eventBuffering = eventBuffering
            self.restartBackoff = restartBackoff
            self.identityRetry = identityRetry
            self.dedup = dedup
            self.dedupFlushDelay = dedupFlushDelay
            self.pacing = pacing
            self.health = health
            self.stopTimeout = stopTimeout
        }
    }
}
