/// A ``TokenCache`` handle bound to one credential key and its fetcher.
///
/// An account holds one `TokenSource` for its credential; ``token()`` is the cache's hit
/// path without the key lookup. Sources for the same key (from the same cache) share
/// one slot: same token, same single-flight fetch.
public struct TokenSource: Sendable {
    /// The cache the source reads from.
    public let cache: TokenCache
    let slot: TokenSlot
    let fetch: TokenFetcher

    init(cache: TokenCache, slot: TokenSlot, fetch: @escaping TokenFetcher) {
        self.cache = cache
        self.slot = slot
        self.fetch = fetch
    }

    /// The credential this source serves.
    public var key: CredentialKey { slot.key }

    /// A valid token for ``key``; see ``TokenCache/token(for:fetch:)``.
    public func token() async throws -> AccessToken {
        let now = cache.configuration.time.now().timeIntervalSinceReferenceDate
        switch slot.lookup(now: now) {
        case .hit(let token):
            return token
        case .hitStartRefresh(let token, let flightID):
            cache.startFetch(slot, flightID: flightID, fetch: fetch)
            return token
        case .miss:
            return try await cache.wait(on: slot, fetch: fetch)
        }
    }

    /// Fetches a new token now (joining a running fetch); see ``TokenCache/refresh(_:fetch:)``.
    public func refresh() async throws -> AccessToken {
        try await cache.wait(on: slot, fetch: fetch)
    }

    /// Drops the cached token if it is still `value`; see ``TokenCache/invalidate(_:ifValue:)``.
    public func invalidate(ifValue value: Secret? = nil) {
        cache.invalidate(key, ifValue: value)
    }
}
