/// Names one stored document of one account, e.g. `(qqbot:main, "credentials")`.
///
/// A `StateKey` is always scoped by an ``AccountKey``: there is no global state file.
public struct StateKey: Hashable, Sendable, CustomStringConvertible {
    /// The account the document belongs to.
    public let account: AccountKey
    /// The document's name inside the account, e.g. `"credentials"` or `"dedup"`.
    /// Letters, digits, `-`, `_` and `.` only (not starting with `.`).
    public let name: String

    /// Creates a key.
    public init(_ account: AccountKey, _ name: String) {
        self.account = account
        self.name = name
    }

    public var description: String { "\(account)/\(name)" }
}
