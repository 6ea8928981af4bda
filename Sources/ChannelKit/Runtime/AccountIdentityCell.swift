import Synchronization

/// The account's own identity as currently known, readable without suspension.
///
/// The runtime writes it (from identity discovery or from ``AccountEvent/identity(_:)``)
/// and adapters read it on the hot path, e.g. to drop self-echo or to decide whether a
/// group message mentions the bot. While it is `nil`, adapters fail closed.
public final class AccountIdentityCell: Sendable {
    private let storage: Mutex<AccountIdentity?>

    /// Creates a cell holding `identity` (default unknown).
    public init(_ identity: AccountIdentity? = nil) {
        storage = Mutex(identity)
    }

    /// The identity, or `nil` while unknown.
    public var current: AccountIdentity? {
        storage.withLock { $0 }
    }

    /// Replaces the identity; returns whether it changed.
    @discardableResult
    public func set(_ identity: AccountIdentity?) -> Bool {
        storage.withLock { value in
            guard value != identity else { return false }
            value = identity
            return true
        }
    }
}
