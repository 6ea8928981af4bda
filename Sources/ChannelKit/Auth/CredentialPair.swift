import Foundation

/// A rotating access + refresh token pair (ClawChat, OpenIM HTTP refresh).
///
/// Both tokens are single-use-on-rotation secrets: a refresh spends the refresh token
/// and returns a new pair, which must be stored durably before it is used (see
/// ``RefreshCoordinator``).
public struct CredentialPair: Sendable, Codable, Hashable, CustomStringConvertible {
    /// The bearer token used for REST calls and the WebSocket handshake.
    public var accessToken: Secret
    /// The token that buys the next pair.
    public var refreshToken: Secret
    /// When this pair was obtained (wall clock). Used as the fallback expiry base
    /// (`activatedAt + 24 h`) when the access token carries no JWT `exp`.
    public var activatedAt: Date?

    /// Creates a pair.
    public init(accessToken: Secret, refreshToken: Secret, activatedAt: Date? = nil) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.activatedAt = activatedAt
    }

    public var description: String {
        "CredentialPair(accessToken: <redacted>, refreshToken: <redacted>, activatedAt: \(activatedAt.map { "\($0)" } ?? "nil"))"
    }
}

/// What one call to the platform's refresh endpoint produced, classified by the adapter.
public enum RefreshAttemptResult: Sendable, Equatable {
    /// The platform rotated the pair.
    case rotated(CredentialPair)
    /// It may work later (network error, HTTP 5xx, unknown code, malformed body): the
    /// old pair stays in use.
    case transient(code: Int?, message: String)
    /// The refresh token is dead (revoked, expired, device mismatch): the account must
    /// stop until it is given new credentials.
    case permanent(code: Int?, message: String)
}

/// Calls the platform's refresh endpoint with the current pair.
///
/// It runs in its own task and is never cancelled by a caller going away (a rotation in
/// flight must be stored). It is cancelled only when it exceeds
/// ``RefreshCoordinator/Configuration/attemptTimeout``; a thrown error counts as
/// transient.
public typealias CredentialRefresher = @Sendable (CredentialPair) async throws -> RefreshAttemptResult

/// Why ``RefreshCoordinator/refresh(reason:)`` did not attempt a refresh.
public enum RefreshSkipReason: String, Sendable, Codable, Equatable {
    /// The current access token was permanently rejected; nothing is attempted until the
    /// credentials change.
    case rejectedLatch
    /// The previous attempt was less than the minimum interval ago.
    case minInterval
    /// There is no refresh token.
    case noRefreshToken
    /// The coordinator was stopped.
    case stopped
}

/// The outcome of ``RefreshCoordinator/refresh(reason:)``.
public enum RefreshOutcome: Sendable, Equatable, CustomStringConvertible {
    /// The pair was rotated, stored, and is now in use.
    case success(CredentialPair)
    /// Nothing changed; the old pair stays in use. The message is safe to log.
    case transient(String)
    /// The refresh token is dead; the account must stop and say so.
    case permanent(code: Int?, message: String)
    /// No attempt was made.
    case skipped(RefreshSkipReason)

    public var description: String {
        switch self {
        case .success(let pair): "success(\(pair))"
        case .transient(let message): "transient(\(Redactor.redact(message)))"
        case .permanent(let code, let message): "permanent(code: \(code.map(String.init) ?? "nil"), \(Redactor.redact(message)))"
        case .skipped(let reason): "skipped(\(reason.rawValue))"
        }
    }
}

/// The guard state of a ``RefreshCoordinator`` that must survive a reconnect (a new
/// coordinator built for the same account): the rejected-token latch and the time of
/// the last attempt.
public struct RefreshGuardState: Sendable, Codable, Equatable {
    /// The access token whose refresh was permanently rejected, if any.
    public var rejectedAccessToken: Secret?
    /// When the last refresh attempt started.
    public var lastAttemptAt: Date?

    public init(rejectedAccessToken: Secret? = nil, lastAttemptAt: Date? = nil) {
        self.rejectedAccessToken = rejectedAccessToken
        self.lastAttemptAt = lastAttemptAt
    }
}
