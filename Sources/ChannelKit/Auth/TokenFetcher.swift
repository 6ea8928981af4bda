/// Fetches a fresh token for a credential key (e.g. QQ's `POST /app/getAppAccessToken`
/// with that key's `appId` and secret).
///
/// The fetcher receives the key it must fetch for. It runs in its own task: cancelling
/// one caller of ``TokenCache/token(for:fetch:)`` does not cancel it, and it finishes
/// (and fills the cache) even if every caller has gone away.
public typealias TokenFetcher = @Sendable (CredentialKey) async throws -> IssuedToken
