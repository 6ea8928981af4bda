/// The lifecycle state of one account.
public enum AccountState: Hashable, Sendable, CustomStringConvertible {
    /// Started, not yet connected.
    case starting
    /// Connected and healthy: the socket is up and the account's own identity is known.
    case connected
    /// Up, but not fully working: e.g. the bot's own id is unknown (group mentions are
    /// then treated as not addressed to the bot). Never reported as healthy.
    case degraded(reason: String)
    /// The connection dropped; the `attempt`-th reconnect is pending or running.
    case reconnecting(attempt: Int)
    /// Stopped on purpose (by the host, a reload, or shutdown).
    case stopped
    /// Stopped by a failure that retrying cannot fix (banned bot, revoked credentials,
    /// rejected configuration). It restarts only when started again or its
    /// configuration changes.
    case failed(reason: String)

    /// The state's name as written in `channelkit run` output: `starting`, `connected`,
    /// `degraded`, `reconnecting`, `stopped` or `failed`.
    public var name: String {
        switch self {
        case .starting: "starting"
        case .connected: "connected"
        case .degraded: "degraded"
        case .reconnecting: "reconnecting"
        case .stopped: "stopped"
        case .failed: "failed"
        }
    }

    /// The reason, for `degraded` and `failed`; the attempt for `reconnecting`.
    public var reason: String? {
        switch self {
        case .degraded(let reason), .failed(let reason): reason
        case .reconnecting(let attempt): "attempt \(attempt)"
        default: nil
        }
    }

    /// `true` for ``connected`` only.
    public var isHealthy: Bool { self == .connected }

    /// `true` when the socket is up (connected or degraded).
    public var isUp: Bool {
        switch self {
        case .connected, .degraded: true
        default: false
        }
    }

    public var description: String { reason.map { "\(name)(\($0))" } ?? name }
}
