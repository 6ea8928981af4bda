import Foundation

/// What a token fetcher returns: the token value and its lifetime.
public struct IssuedToken: Sendable {
    /// The token.
    public var value: Secret
    /// When it stops being valid, or `nil` to compute it from ``lifetime``.
    public var expiresAt: Date?
    /// How long it is valid from the moment the fetch completes (used when
    /// ``expiresAt`` is `nil`).
    public var lifetime: Duration

    /// A token valid for `lifetime` from now (e.g. QQ's `expires_in` seconds).
    public init(value: Secret, lifetime: Duration) {
        self.value = value
        self.expiresAt = nil
        self.lifetime = lifetime
    }

    /// A token valid until an absolute time (e.g. a JWT `exp`).
    public init(value: Secret, expiresAt: Date) {
        self.value = value
        self.expiresAt = expiresAt
        self.lifetime = .zero
    }
}

/// A cached access token, stamped with the credential it was fetched for.
///
/// A value type over one immutable reference, so handing it out on the cache's hit
/// path costs one reference-count operation.
public struct AccessToken: Sendable, Hashable, CustomStringConvertible {
    private final class Storage: Sendable {
        let key: CredentialKey
        let value: Secret
        let issuedAt: Date
        let expiresAt: Date
        init(key: CredentialKey, value: Secret, issuedAt: Date, expiresAt: Date) {
            self.key = key
            self.value = value
            self.issuedAt = issuedAt
            self.expiresAt = expiresAt
        }
    }
    private let storage: Storage

    /// The credential that minted this token. A token is only ever returned for the key
    /// it was fetched for.
    public var key: CredentialKey { storage.key }
    /// The token value (redacted when printed).
    public var value: Secret { storage.value }
    /// When the fetch completed (wall clock).
    public var issuedAt: Date { storage.issuedAt }
    /// When the platform stops accepting it (wall clock).
    public var expiresAt: Date { storage.expiresAt }

    public init(key: CredentialKey, value: Secret, issuedAt: Date, expiresAt: Date) {
        storage = Storage(key: key, value: value, issuedAt: issuedAt, expiresAt: expiresAt)
    }

    public static func == (lhs: AccessToken, rhs: AccessToken) -> Bool {
        lhs.storage === rhs.storage || (lhs.key == rhs.key && lhs.value == rhs.value
            && lhs.issuedAt == rhs.issuedAt && lhs.expiresAt == rhs.expiresAt)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(key)
        hasher.combine(value)
        hasher.combine(expiresAt)
    }

    public var description: String { "AccessToken(\(key), expiresAt: \(expiresAt))" }
}

/// What ``TokenCache/status(_:)`` reports for a credential.
public enum TokenStatus: Sendable, Equatable {
    /// No token is cached and none is being fetched.
    case none
    /// A token is cached and valid until `expiresAt`.
    case valid(expiresAt: Date)
    /// The cached token expired at `expiresAt` and no fetch is running.
    case expired(expiresAt: Date)
    /// A fetch is running; `current` is the expiry of the token still cached, if any.
    case refreshing(current: Date?)
}
