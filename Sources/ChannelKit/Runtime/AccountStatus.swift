import Foundation

/// A snapshot of one account's health, from ``ChannelGateway/status(of:)``.
public struct AccountStatus: Sendable, Hashable {
    /// The account.
    public var account: AccountKey
    /// The lifecycle state.
    public var state: AccountState
    /// The account's own identity, when known.
    public var identity: AccountIdentity?
    /// The last time anything arrived from the platform (frame, heartbeat ack, event).
    public var lastEventAt: Date?
    /// The last error, redacted.
    public var lastError: String?
    /// How many times the connection was re-established since the account started.
    public var reconnectCount: Int
    /// Whether the account was stopped on purpose (the health monitor leaves it alone).
    public var stoppedOnPurpose: Bool
    /// Message counters since the account's runtime was created.
    public var counters: AccountCounters

    /// Creates a snapshot.
    public init(account: AccountKey, state: AccountState, identity: AccountIdentity? = nil, lastEventAt: Date? = nil, lastError: String? = nil, reconnectCount: Int = 0, stoppedOnPurpose: Bool = false, counters: AccountCounters = AccountCounters()) {
        self.account = account
        self.state = state
        self.identity = identity
        self.lastEventAt = lastEventAt
        self.lastError = lastError
        self.reconnectCount = reconnectCount
        self.stoppedOnPurpose = stoppedOnPurpose
        self.counters = counters
    }
}
