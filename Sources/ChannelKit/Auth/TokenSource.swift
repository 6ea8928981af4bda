/// A ``TokenCache`` handle bound to one credential key and its fetcher.
///
/// An account holds one `TokenSource` for its credential; ``token()`` is the cache's hit
/// path without the key lookup. Sources for the same key (from the same cache) share
/// one slot: same token, same single-flight fetch.
public struct TokenSource: Sendable {
    /// The cache the source reads from.
    public let cache: TokenCache
    @usableFromInline let slot: TokenSlot
    @usableFromInline let fetch: TokenFetcher
    @usableFromInline let coarseNow: @Sendable () -> Double

    init(cache: TokenCache, slot: TokenSlot, fetch: @escaping TokenFetcher) {
        self.cache = cache
        self.slot = slot
        self.fetch = fetch
        self.coarseNow = cache.configuration.time.coarseNow
    }

    /// The credential this source serves.
    public var key: CredentialKey { slot.key }

    /// A valid token for ``key``; see ``TokenCache/token(for:fetch:)``.
    ///
    /// The hit path (a cached token before its refresh time) takes one lock and does not
    /// suspend.
    @inlinable
    nonisolated(nonsending) public func token() async throws -> AccessToken {
        if let token = cachedToken() { return token }
        return try await cache.wait(on: slot, fetch: fetch)
    }

    /// The cached token if it can be served now, without waiting. Inside the refresh
    /// window it is served and one background fetch is started. Returns `nil` when the
    /// caller must wait for a fetch.
    @usableFromInline
    func cachedToken() -> AccessToken? {
        cache.cachedToken(in: slot, now: coarseNow(), fetch: fetch)
    }

    /// Fetches a new token now (joining a running fetch); see ``TokenCache/refresh(_:fetch:)``.
    public func refresh() async throws -> AccessToken {
        try await cache.wait(on: slot, fetch: fetch, force: true)
    }

    /// Drops the cached token if it is still `value`; see ``TokenCache/invalidate(_:ifValue:)``.
    public func invalidate(ifValue value: Secret? = nil) {
        cache.invalidate(key, ifValue: value)
    }
}
