/// What an adapter's connection reports to the runtime, through ``AccountEventSink``.
public enum AccountEvent: Sendable {
    /// An inbound message (the gateway deduplicates it before delivery).
    case message(InboundMessage)
    /// The connection's own view of its state: `.connected` once the session is
    /// established (the gateway reports it as `degraded` while the identity is unknown),
    /// `.degraded(reason)` when the adapter itself knows something is off.
    case state(AccountState)
    /// The account's own identity, learned from the connection (QQ READY, …).
    case identity(AccountIdentity?)
    /// A non-message platform event.
    case platform(type: String, payload: JSONValue, isKnown: Bool)
    /// A failure worth recording as the account's last error (already redacted by
    /// ``ChannelError/description``); it does not change the state.
    case error(ChannelError)
}
