import Foundation

/// A platform event that is not a chat message: lifecycle events (QQ `GROUP_ADD_ROBOT`,
/// ClawChat `chat.metadata.invalidated`, …) and anything the adapter does not know,
/// with its raw payload.
public struct PlatformEvent: Sendable, Hashable {
    /// The account that received it.
    public var account: AccountKey
    /// The platform's event type (`t` for QQ, `event` for ClawChat, …).
    public var type: String
    /// The event's payload as the platform sent it.
    public var payload: JSONValue
    /// Whether the adapter knows this event type (a typed lifecycle event) or passes it
    /// through unknown.
    public var isKnown: Bool

    /// Creates an event.
    public init(account: AccountKey, type: String, payload: JSONValue, isKnown: Bool = false) {
        self.account = account
        self.type = type
        self.payload = payload
        self.isKnown = isKnown
    }
}
