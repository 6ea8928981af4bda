/// A platform adapter: parses its accounts' configuration and makes their connections.
///
/// Register one per platform with ``ChannelGateway``. Adapters hold no per-account state
/// themselves — everything an account owns lives in the ``AccountConnection`` made for
/// it — so one adapter value serves every account of its channel.
public protocol ChannelAdapter: Sendable {
    /// The channel this adapter serves (`qqbot`, `clawchat`, …).
    var channel: ChannelID { get }

    /// Parses one account's object at `channels.<channel>.accounts.<id>`.
    ///
    /// Report every problem through `config` (``ConfigObject/error(_:at:)`` and the typed
    /// readers do it for you, each with its JSON path) and return `nil` if the account
    /// cannot be used. Unknown fields should be reported (``ConfigObject/rejectUnknownKeys()``).
    func parseAccount(_ config: ConfigObject) -> (any AccountSettings)?

    /// Parses one account with its channel object at hand, for adapters whose accounts
    /// inherit channel-level settings (OpenIM `tokenRefresh`). The gateway calls this
    /// one; the default forwards to ``parseAccount(_:)``.
    ///
    /// Problems found in `channel` are reported once even though this runs per account.
    func parseAccount(_ config: ConfigObject, channel: ConfigObject) -> (any AccountSettings)?

    /// Channel-level fields this adapter reads (in ``parseAccount(_:channel:)``) besides
    /// `accounts` and `healthCheckIntervalMinutes`. Default: none — any other
    /// channel-level field is reported as misplaced account settings.
    var channelFields: Set<String> { get }

    /// The health-check interval, in minutes, when the file does not set
    /// `channels.<channel>.healthCheckIntervalMinutes`. Default 5
    /// (``GatewaySettings/defaultHealthCheckMinutes``).
    var defaultHealthCheckMinutes: Int { get }

    /// Makes the connection for one account. Called on every (re)start with a fresh
    /// context; must not do I/O (that belongs in ``AccountConnection/run()``).
    /// - Throws: ``ChannelError`` `.invalidConfiguration` when `settings` is not this
    ///   adapter's type.
    func makeConnection(settings: any AccountSettings, context: AccountContext) throws -> any AccountConnection
}

/// One account's parsed configuration.
///
/// Reload compares old and new settings with ``isSame(as:)``: unchanged accounts keep
/// their socket, changed ones restart.
public protocol AccountSettings: Sendable {
    /// Whether the account should run (config `enabled`, default `true`).
    var enabled: Bool { get }
    /// Whether `other` is the same configuration (secrets included).
    func isSame(as other: any AccountSettings) -> Bool
}

extension ChannelAdapter {
    /// Default: the account does not read channel-level settings.
    public func parseAccount(_ config: ConfigObject, channel: ConfigObject) -> (any AccountSettings)? {
        parseAccount(config)
    }
    /// Default: no channel-level fields.
    public var channelFields: Set<String> { [] }
    /// Default: 5 minutes.
    public var defaultHealthCheckMinutes: Int { GatewaySettings.defaultHealthCheckMinutes }
}

extension AccountSettings where Self: Equatable {
    /// Equal when `other` is the same type and `==`.
    public func isSame(as other: any AccountSettings) -> Bool {
        (other as? Self) == self
    }
}

/// How one run of an account's connection ended, when it ended without being cancelled.
public enum AccountRunOutcome: Sendable, Hashable {
    /// The session ended and should be re-established: after at least `after` (a
    /// platform-imposed wait such as QQ 4008 or ClawChat 4002 `retry_after_ms`), or after
    /// the runtime's jittered backoff when `nil`.
    case reconnect(after: Duration?, reason: String)
    /// The account cannot work until its configuration changes (banned bot, revoked
    /// credentials): the runtime marks it `failed(reason)` and does not restart it.
    case failed(reason: String)
}

/// The running side of one account: one session per ``run()`` call, plus sends.
///
/// The runtime calls ``run()`` in a loop (with backoff between calls) on the same
/// connection value, so state that must survive a reconnect (QQ session id and seq,
/// ClawChat unacked sends, rotated tokens) lives in the connection. A configuration
/// change makes a new connection.
public protocol AccountConnection: Sendable {
    /// The longest text one platform message may carry, in Swift `Character`s; the
    /// gateway splits longer text before ``send(_:to:)``.
    var textChunkLimit: Int { get }

    /// Connects, runs one session until it ends, and says what should happen next.
    ///
    /// Reports state, messages and identity through ``AccountContext/events``. Throwing
    /// counts as `.reconnect(after: nil, reason: error)`.
    /// - Cancellation: returns promptly (throwing `CancellationError` is fine) after
    ///   closing its socket; no child task outlives the call.
    func run() async throws -> AccountRunOutcome

    /// Finds the account's own identity over REST (Feishu bot info, ClawChat
    /// `/v1/users/me`), or returns `nil` when the platform only tells it over the
    /// connection (QQ READY). The runtime calls it on the account's own task, retrying on
    /// a schedule that no socket's lifetime can cancel.
    func discoverIdentity() async throws -> AccountIdentity?

    /// Sends one chunk.
    /// - Throws: ``ChannelError``; `.rateLimited` (with ``ChannelError/retryAfter`` when
    ///   the platform said) makes the gateway's pacer wait and retry.
    func send(_ message: OutboundMessage, to target: DeliveryTarget) async throws -> SentMessage

    /// Checks the account without starting it: token, identity, gateway reachability.
    func probe() async -> AccountProbe

    /// Releases what the connection holds beyond one run (background token refresh,
    /// pending sends), flushing state to the store. Called once, after the last run.
    func shutdown() async
}

extension AccountConnection {
    /// Default: the identity comes from the connection.
    public func discoverIdentity() async throws -> AccountIdentity? { nil }
    /// Default: nothing to release.
    public func shutdown() async {}
}

/// The result of ``AccountConnection/probe()``.
public struct AccountProbe: Sendable, Hashable {
    /// Whether a token (or the configured credential) was accepted; `nil` if not checked.
    public var tokenOK: Bool?
    /// The account's identity, if it could be found.
    public var identity: AccountIdentity?
    /// Whether the platform's gateway answered; `nil` if not checked.
    public var gatewayReachable: Bool?
    /// What went wrong, redacted.
    public var problems: [String]

    /// Creates a result.
    public init(tokenOK: Bool? = nil, identity: AccountIdentity? = nil, gatewayReachable: Bool? = nil, problems: [String] = []) {
        self.tokenOK = tokenOK
        self.identity = identity
        self.gatewayReachable = gatewayReachable
        self.problems = problems
    }

    /// `true` when nothing checked failed.
    public var isOK: Bool {
        problems.isEmpty && tokenOK != false && gatewayReachable != false
    }
}
