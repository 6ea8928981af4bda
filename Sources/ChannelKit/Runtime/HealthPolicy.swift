import Foundation

/// When the health monitor restarts an account: a pure function of the account's
/// snapshot and the time, so every rule is unit-tested without I/O.
///
/// The monitor runs per channel every `healthCheckIntervalMinutes`. It never touches an
/// account that was stopped on purpose, one that failed for a reason retrying cannot fix
/// (``AccountState/failed(reason:)``: banned bot, revoked credentials — a config change
/// or an explicit start brings it back), or one sitting out a wait the platform imposed.
public struct HealthPolicy: Sendable, Hashable {
    /// No check within this long after an account starts. Default 60 s.
    public var startupGrace: Duration
    /// An account that is not up for this long is restarted (`disconnected`). Default 120 s.
    public var connectGrace: Duration
    /// An up account with nothing received for this long is restarted (`stale-socket`).
    /// Adapters report heartbeat acks as activity, so a quiet but live socket is not
    /// stale. Default 30 min.
    public var staleThreshold: Duration
    /// An account is not restarted again within this many check intervals. Default 2.
    public var cooldownIntervals: Int

    /// Creates a policy; every parameter has the documented default.
    public init(startupGrace: Duration = .seconds(60), connectGrace: Duration = .seconds(120), staleThreshold: Duration = .seconds(30 * 60), cooldownIntervals: Int = 2) {
        self.startupGrace = startupGrace
        self.connectGrace = connectGrace
        self.staleThreshold = staleThreshold
        self.cooldownIntervals = cooldownIntervals
    }

    /// What the monitor knows about one account.
    public struct Snapshot: Sendable, Hashable {
        /// The published state.
        public var state: AccountState
        /// Whether its lifecycle task is running.
        public var isRunning: Bool
        /// Whether it was stopped on purpose.
        public var stoppedOnPurpose: Bool
        /// When its lifecycle last started.
        public var startedAt: Date?
        /// When its state last changed.
        public var stateChangedAt: Date
        /// The last activity from the platform.
        public var lastActivity: Date?
        /// When the monitor last restarted it.
        public var lastHealthRestart: Date?
        /// The end of a wait the platform imposed (QQ 4008, ClawChat 4002
        /// `retry_after_ms`), while the account sits it out.
        public var platformWaitUntil: Date?

        /// Creates a snapshot.
        public init(state: AccountState, isRunning: Bool, stoppedOnPurpose: Bool, startedAt: Date?, stateChangedAt: Date, lastActivity: Date?, lastHealthRestart: Date?, platformWaitUntil: Date? = nil) {
            self.state = state
            self.isRunning = isRunning
            self.stoppedOnPurpose = stoppedOnPurpose
            self.startedAt = startedAt
            self.stateChangedAt = stateChangedAt
            self.lastActivity = lastActivity
            self.lastHealthRestart = lastHealthRestart
            self.platformWaitUntil = platformWaitUntil
        }
    }

    /// Why an account should be restarted, or `nil` when it should be left alone.
    /// - Parameters:
    ///   - snapshot: the account.
    ///   - now: wall time.
    ///   - interval: the channel's check interval (for the cooldown).
    public func restartReason(for snapshot: Snapshot, now: Date, interval: Duration) -> String? {
        if snapshot.stoppedOnPurpose { return nil }
        if case .failed = snapshot.state { return nil }
        if let last = snapshot.lastHealthRestart,
           now.timeIntervalSince(last) < (interval * cooldownIntervals).seconds {
            return nil
        }
        guard snapshot.isRunning else { return "stopped" }
        // A restart must not cut short a wait the platform asked for.
        if let until = snapshot.platformWaitUntil, now < until { return nil }
        if let started = snapshot.startedAt, now.timeIntervalSince(started) < startupGrace.seconds { return nil }
        if !snapshot.state.isUp {
            return now.timeIntervalSince(snapshot.stateChangedAt) >= connectGrace.seconds ? "disconnected" : nil
        }
        let lastSign = max(snapshot.lastActivity ?? snapshot.stateChangedAt, snapshot.stateChangedAt)
        return now.timeIntervalSince(lastSign) >= staleThreshold.seconds ? "stale-socket" : nil
    }
}
