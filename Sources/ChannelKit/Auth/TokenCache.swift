import Foundation
import Synchronization

/// Access tokens cached per credential key (`qqbot:<appId>`, `feishu:<appId>`, …) with
/// single-flight refresh.
///
/// - **Isolation.** Each ``CredentialKey`` has its own slot. A token fetched for key A is
///   stamped with A and can only ever be returned for A; callers of other keys never wait
///   on A's fetch.
/// - **Single flight.** N concurrent callers of one key that find no usable token cause
///   exactly one fetch; all N receive its result.
/// - **Refresh ahead of expiry.** A token is served without a fetch until
///   `expiresAt − lead`, where `lead = min(refreshMargin + U(0, refreshJitter),
///   lifetime / 2)`. From then until `expiresAt` it is still served while one background
///   fetch replaces it. After `expiresAt` callers wait for a fresh one.
/// - **Failure is not sticky.** A failed fetch is reported to the callers that waited on
///   it; the next call fetches again. A still-valid cached token survives a failed
///   background refresh.
/// - **Cancellation.** Cancelling a caller makes that caller throw `CancellationError`
///   at once; it never cancels the fetch that other callers share. ``shutdown()``
///   cancels running fetches.
///
/// ```swift
/// let cache = TokenCache(configuration: .init(time: clock.timeSource))
/// let token = try await cache.token(for: CredentialKey(.qqbot, appId)) { key in
///     try await qqAuth.fetchAppAccessToken(appId: key.identity)
/// }
/// ```
public final class TokenCache: Sendable {
    /// Tuning for a ``TokenCache``.
    public struct Configuration: Sendable {
        /// How long before expiry a refresh starts. Default 60 s.
        public var refreshMargin: Duration
        /// Extra random lead added to ``refreshMargin`` per token, in `[0, refreshJitter)`,
        /// so many accounts do not refresh in the same second. Default 30 s.
        public var refreshJitter: Duration
        /// Delays between failed background refreshes in ``TokenCache/keepWarm(_:fetch:)``.
        /// Default ``Backoff/Configuration/default`` (1 s doubling to 60 s, ±20 %).
        public var retryBackoff: Backoff.Configuration
        /// Clock for sleeps and wall clock for expiry. Default ``TimeSource/system``.
        public var time: TimeSource
        /// Uniform random numbers in `[0, 1)` for jitter. Default: the system generator.
        public var random: @Sendable () -> Double
        /// Where the cache logs fetches and failures. Default ``ChannelLogger/disabled``.
        public var logger: ChannelLogger

        /// Creates a configuration; every parameter has a default.
        public init(
            refreshMargin: Duration = .seconds(60),
            refreshJitter: Duration = .seconds(30),
            retryBackoff: Backoff.Configuration = .default,
            time: TimeSource = .system,
            random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
            logger: ChannelLogger = .disabled
        ) {
            self.refreshMargin = refreshMargin
            self.refreshJitter = refreshJitter
            self.retryBackoff = retryBackoff
            self.time = time
            self.random = random
            self.logger = logger
        }
    }

    /// The configuration the cache was created with.
    public let configuration: Configuration
    private let slots = Mutex<[CredentialKey: TokenSlot]>([:])

    /// Creates an empty cache.
    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    // MARK: Reading

    /// Returns a valid token for `key`, fetching one with `fetch` if needed.
    ///
    /// - Parameters:
    ///   - key: The credential whose token is wanted.
    ///   - fetch: Fetches a fresh token for the key it is given. Called at most once at
    ///     a time per key, in its own task.
    /// - Returns: A token stamped with `key`.
    /// - Throws: The fetch's error (a ``ChannelError`` passes through; other errors are
    ///   wrapped as `.tokenFetchFailed`), or `CancellationError` if the calling task is
    ///   cancelled while waiting (the shared fetch keeps running).
    nonisolated(nonsending) public func token(for key: CredentialKey, fetch: @escaping TokenFetcher) async throws -> AccessToken {
        let slot = slot(for: key)
        if let token = cachedToken(in: slot, now: configuration.time.coarseNow(), fetch: fetch) { return token }
        return try await wait(on: slot, fetch: fetch)
    }

    /// A handle bound to one key and fetcher. Hold it for a running account: its hit
    /// path skips the key lookup.
    public func source(for key: CredentialKey, fetch: @escaping TokenFetcher) -> TokenSource {
        TokenSource(cache: self, slot: slot(for: key), fetch: fetch)
    }

    /// Fetches a new token for `key` now, joining a fetch already running for it.
    /// - Returns: The token from that fetch (not the previously cached one).
    /// - Throws: As ``token(for:fetch:)``.
    public func refresh(_ key: CredentialKey, fetch: @escaping TokenFetcher) async throws -> AccessToken {
        try await wait(on: slot(for: key), fetch: fetch, force: true)
    }

    /// Reports the state of `key`'s token at the current wall-clock time.
    public func status(_ key: CredentialKey) -> TokenStatus {
        guard let slot = existingSlot(for: key) else { return .none }
        let now = configuration.time.now()
        return slot.state.withLock { s in
            if s.flight != nil { return .refreshing(current: s.token?.expiresAt) }
            guard let token = s.token else { return .none }
            return now < token.expiresAt ? .valid(expiresAt: token.expiresAt) : .expired(expiresAt: token.expiresAt)
        }
    }

    // MARK: Dropping tokens

    /// Drops `key`'s cached token, e.g. after the platform rejected it (HTTP 401).
    ///
    /// - Parameter value: When given, the token is dropped only if it is still this
    ///   value, so a late 401 for an old token does not throw away a newer one.
    ///   Defaults to `nil` (drop whatever is cached).
    public func invalidate(_ key: CredentialKey, ifValue value: Secret? = nil) {
        guard let slot = existingSlot(for: key) else { return }
        slot.state.withLock { s in
            guard let token = s.token, value == nil || token.value == value else { return }
            s.token = nil
            s.refreshAt = -.infinity
            s.expiresAt = -.infinity
        }
        configuration.logger.debug("token invalidated", metadata: ["credential.key": key.description], source: "TokenCache")
    }

    /// Drops the cached token of `key`, or of every key when `key` is `nil`. A fetch that
    /// is running still answers its waiters, but its token is not cached.
    public func clear(_ key: CredentialKey? = nil) {
        let targets: [TokenSlot] = slots.withLock { table in
            if let key { return table[key].map { [$0] } ?? [] }
            return Array(table.values)
        }
        for slot in targets {
            slot.state.withLock { s in
                s.token = nil
                s.refreshAt = -.infinity
                s.expiresAt = -.infinity
                s.flight?.keepResult = false
            }
        }
    }

    // MARK: Background refresh

    /// Keeps `key`'s token warm until the calling task is cancelled: fetches one now if
    /// needed, then refreshes it ahead of every expiry. Failed refreshes are retried
    /// with ``Configuration/retryBackoff``.
    ///
    /// Run it as a child task of the account that uses the token; cancelling that task
    /// (stopping the account) ends it at once. It never returns otherwise.
    public func keepWarm(_ key: CredentialKey, fetch: @escaping TokenFetcher) async {
        let slot = slot(for: key)
        let time = configuration.time
        var backoff = Backoff(configuration.retryBackoff)
        while !Task.isCancelled {
            do {
                let now = time.now().timeIntervalSinceReferenceDate
                let (hasToken, refreshAt) = slot.state.withLock { ($0.token != nil, $0.refreshAt) }
                if hasToken && now < refreshAt {
                    try await time.sleep(for: .seconds(refreshAt - now))
                    continue
                }
                _ = try await wait(on: slot, fetch: fetch, force: true)
                backoff.reset()
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                let delay = backoff.next(unitRandom: configuration.random())
                configuration.logger.warning("background token refresh failed; retrying in \(delay)",
                                             metadata: ["credential.key": key.description, "error": String(describing: error)],
                                             source: "TokenCache")
                do { try await time.sleep(for: delay) } catch { return }
            }
        }
    }

    /// Cancels every running fetch and waits for them to end. Their waiters receive
    /// `CancellationError`. Cached tokens are dropped.
    public func shutdown() async {
        let all = slots.withLock { Array($0.values) }
        var tasks: [Task<Void, Never>] = []
        for slot in all {
            slot.state.withLock { s in
                if let task = s.flight?.task { tasks.append(task) }
            }
        }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
        clear()
    }

    // MARK: Internals

    /// The hit path: the cached token of `slot` if it can be served at `now` (seconds
    /// since the reference date); inside the refresh window it also starts one
    /// background fetch.
    @usableFromInline
    func cachedToken(in slot: TokenSlot, now: Double, fetch: @escaping TokenFetcher) -> AccessToken? {
        switch slot.lookup(now: now) {
        case .hit(let token):
            return token
        case .hitStartRefresh(let token, let flightID):
            startFetch(slot, flightID: flightID, fetch: fetch)
            return token
        case .miss:
            return nil
        }
    }

    @usableFromInline
    func slot(for key: CredentialKey) -> TokenSlot {
        slots.withLock { table in
            if let slot = table[key] { return slot }
            let slot = TokenSlot(key: key)
            table[key] = slot
            return slot
        }
    }

    private func existingSlot(for key: CredentialKey) -> TokenSlot? {
        slots.withLock { $0[key] }
    }

    /// Joins the running fetch of `slot`, or starts one, and waits for its result.
    ///
    /// - Parameter force: `false` (a cache read that missed): a token that became valid
    ///   since the miss is returned instead of fetching again. `true` (an explicit
    ///   refresh): always waits for a fetch.
    @usableFromInline
    func wait(on slot: TokenSlot, fetch: @escaping TokenFetcher, force: Bool = false) async throws -> AccessToken {
        let waiterID = slot.state.withLock { s -> UInt64 in
            s.nextID += 1
            return s.nextID
        }
        let now = configuration.time.coarseNow()
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<AccessToken, any Error>) in
                enum Action { case none, cancelled, start(UInt64), cached(AccessToken) }
                let action = slot.state.withLock { s -> Action in
                    if s.cancelledWaiters.remove(waiterID) != nil { return .cancelled }
                    // Another caller's fetch may have completed between our miss and now.
                    if !force, let token = s.token, now < s.refreshAt { return .cached(token) }
                    if s.flight == nil {
                        s.nextID += 1
                        s.flight = TokenSlot.Flight(id: s.nextID)
                        s.flight?.waiters[waiterID] = continuation
                        return .start(s.nextID)
                    }
                    s.flight?.waiters[waiterID] = continuation
                    return .none
                }
                switch action {
                case .none: break
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .cached(let token): continuation.resume(returning: token)
                case .start(let flightID): startFetch(slot, flightID: flightID, fetch: fetch)
                }
            }
        } onCancel: {
            let continuation = slot.state.withLock { s -> UnsafeContinuation<AccessToken, any Error>? in
                if let c = s.flight?.waiters.removeValue(forKey: waiterID) { return c }
                s.cancelledWaiters.insert(waiterID)
                return nil
            }
            continuation?.resume(throwing: CancellationError())
        }
    }

    /// Starts the fetch task of flight `flightID` (already registered in `slot`).
    func startFetch(_ slot: TokenSlot, flightID: UInt64, fetch: @escaping TokenFetcher) {
        let task = Task { [self] in
            let result: Result<IssuedToken, any Error>
            do {
                result = .success(try await fetch(slot.key))
            } catch {
                result = .failure(error)
            }
            complete(slot, flightID: flightID, with: result)
        }
        slot.state.withLock { s in
            if s.flight?.id == flightID { s.flight?.task = task }
        }
    }

    private func complete(_ slot: TokenSlot, flightID: UInt64, with result: Result<IssuedToken, any Error>) {
        let now = configuration.time.now()
        let outcome: Result<AccessToken, any Error> = result.map { issued in
            let expiresAt = issued.expiresAt ?? now.addingTimeInterval(issued.lifetime.seconds)
            return AccessToken(key: slot.key, value: issued.value, issuedAt: now, expiresAt: expiresAt)
        }.mapError { error in
            if error is CancellationError || error is ChannelError { return error }
            return ChannelError(.tokenFetchFailed, "token fetch for \(slot.key) failed", location: slot.key.description,
                                underlying: SendableErrorBox(error))
        }
        let lead: Double
        if case .success(let token) = outcome {
            let lifetime = token.expiresAt.timeIntervalSince(token.issuedAt)
            let wanted = configuration.refreshMargin.seconds + configuration.refreshJitter.seconds * configuration.random()
            lead = max(0, min(wanted, lifetime / 2))
        } else {
            lead = 0
        }
        let waiters = slot.state.withLock { s -> [UnsafeContinuation<AccessToken, any Error>] in
            guard let flight = s.flight, flight.id == flightID else { return [] }
            s.flight = nil
            if case .success(let token) = outcome, flight.keepResult {
                s.token = token
                s.expiresAt = token.expiresAt.timeIntervalSinceReferenceDate
                s.refreshAt = s.expiresAt - lead
            }
            return Array(flight.waiters.values)
        }
        switch outcome {
        case .success(let token):
            configuration.logger.debug("token fetched", metadata: ["credential.key": slot.key.description, "expires_at": "\(token.expiresAt)"], source: "TokenCache")
            for waiter in waiters { waiter.resume(returning: token) }
        case .failure(let error):
            configuration.logger.warning("token fetch failed: \(error)", metadata: ["credential.key": slot.key.description], source: "TokenCache")
            for waiter in waiters { waiter.resume(throwing: error) }
        }
    }
}
