import Foundation

/// When to refresh a rotating access token, from its JWT claims (ClawChat rules, also
/// used for OpenIM).
///
/// `refresh_at = exp − max(30 min, min(2 h, 0.25 · (exp − iat))) + jitter`, with jitter
/// in ±5 min. Without `exp`, `exp = activatedAt + 24 h`; without `iat`, the lifetime is
/// taken as 24 h (so the lead clamps to 2 h).
public struct RefreshSchedule: Sendable, Hashable {
    /// Lifetime assumed when the token has no `exp` (from `activatedAt`) or no `iat`.
    /// Default 24 h.
    public var fallbackLifetime: Duration = .seconds(24 * 3600)
    /// Smallest lead before `exp`. Default 30 min.
    public var minimumLead: Duration = .seconds(30 * 60)
    /// Largest lead before `exp`. Default 2 h.
    public var maximumLead: Duration = .seconds(2 * 3600)
    /// Fraction of the lifetime used as lead, clamped to the bounds above. Default 0.25.
    public var leadFraction: Double = 0.25
    /// Maximum jitter either way. Default 5 min.
    public var jitter: Duration = .seconds(5 * 60)

    /// The default schedule.
    public init() {}

    /// The expiry of `accessToken`: its JWT `exp`, else `activatedAt + fallbackLifetime`,
    /// else `nil`.
    public func expiry(of accessToken: Secret, activatedAt: Date?) -> Date? {
        if let exp = JWTClaims(token: accessToken.reveal())?.exp { return exp }
        return activatedAt?.addingTimeInterval(fallbackLifetime.seconds)
    }

    /// The proactive refresh time of `accessToken`.
    /// - Parameters:
    ///   - accessToken: The token (a JWT, or opaque).
    ///   - activatedAt: When the pair was obtained (fallback expiry base).
    ///   - unitJitter: A value in `[-1, 1]` scaling ``jitter``; 0 for none.
    /// - Returns: `nil` when no expiry can be determined.
    public func refreshTime(of accessToken: Secret, activatedAt: Date?, unitJitter: Double = 0) -> Date? {
        let claims = JWTClaims(token: accessToken.reveal())
        let exp: Date
        if let e = claims?.exp { exp = e }
        else if let activatedAt { exp = activatedAt.addingTimeInterval(fallbackLifetime.seconds) }
        else { return nil }
        let lifetime: Double = claims?.iat.map { exp.timeIntervalSince($0) } ?? fallbackLifetime.seconds
        let lead = max(minimumLead.seconds, min(maximumLead.seconds, leadFraction * lifetime))
        return exp.addingTimeInterval(-lead + max(-1, min(1, unitJitter)) * jitter.seconds)
    }
}
