/// One event on ``ChannelGateway/events``.
public enum GatewayEvent: Sendable {
    /// A deduplicated inbound message, with its session key stamped.
    case message(InboundMessage)
    /// An account changed state.
    case status(AccountKey, AccountState)
    /// An account's own identity became known (or was lost: `nil`).
    case identity(AccountKey, AccountIdentity?)
    /// A non-message platform event.
    case platform(PlatformEvent)

    /// The account the event belongs to.
    public var account: AccountKey {
        switch self {
        case .message(let message): message.origin.account
        case .status(let account, _), .identity(let account, _): account
        case .platform(let event): event.account
        }
    }
}
