import Foundation
import Synchronization

/// The one way an account's connection reports to whoever runs it (the gateway, or a
/// test). Bound to one lifecycle generation: once that generation is over, everything
/// sent here is dropped, so a stale socket can never touch a new lifecycle.
public struct AccountEventSink: Sendable {
    private let handler: @Sendable (AccountEvent) async -> Bool
    private let activityCell: ActivityCell

    /// Creates a sink. `handler` returns whether the event was accepted (a message that is
    /// a duplicate, or any event from a stale generation, returns `false`).
    public init(handler: @escaping @Sendable (AccountEvent) async -> Bool) {
        self.handler = handler
        self.activityCell = ActivityCell()
    }

    /// Reports an event; returns whether it was accepted.
    @discardableResult
    public func send(_ event: AccountEvent) async -> Bool {
        await handler(event)
    }

    /// Reports an inbound message. Returns `true` if it was delivered, `false` if it was
    /// a duplicate (or the lifecycle is over). Adapters ack the platform either way.
    @discardableResult
    public func deliver(_ message: InboundMessage) async -> Bool {
        await handler(.message(message))
    }

    /// Reports a state change of the connection.
    public func state(_ state: AccountState) async {
        _ = await handler(.state(state))
    }

    /// Reports the account's own identity.
    public func identity(_ identity: AccountIdentity?) async {
        _ = await handler(.identity(identity))
    }

    /// Reports a non-message platform event.
    public func platformEvent(_ type: String, payload: JSONValue, isKnown: Bool = false) async {
        _ = await handler(.platform(type: type, payload: payload, isKnown: isKnown))
    }

    /// Records an error as the account's last error.
    public func error(_ error: ChannelError) async {
        _ = await handler(.error(error))
    }

    /// Notes that something arrived from the platform (any frame, heartbeat ack) at
    /// wall time `now`. Synchronous and cheap: one lock, no suspension. The health
    /// monitor uses it to find stale sockets; liveness is never inferred from chat
    /// traffic alone because adapters call this on heartbeat acks too.
    public func activity(at now: Date) {
        activityCell.value.withLock { $0 = now }
    }

    /// The last time ``activity(at:)`` was called, if ever.
    public var lastActivity: Date? {
        activityCell.value.withLock { $0 }
    }

    /// A sink that accepts and discards everything.
    public static let discarding = AccountEventSink { _ in true }
}

private final class ActivityCell: Sendable {
    let value = Mutex<Date?>(nil)
}
