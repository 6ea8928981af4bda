import Foundation

/// Owns one account's rotating access + refresh pair and every refresh of it.
///
/// Rules (ClawChat `RefreshManager` semantics, used by OpenIM's HTTP refresh too):
/// - **Single flight.** Concurrent ``refresh(reason:)`` calls — proactive timer, REST
///   401, WebSocket `hello-fail` — share one attempt and its outcome.
/// - **Rejected-token latch.** After a permanent rejection nothing is attempted for that
///   access token again until the credentials change (``replaceCredentials(_:)``).
/// - **Minimum interval** (default 30 s) between attempts, so a reconnect storm cannot
///   become a refresh storm.
/// - **Persist before swap.** A rotated pair is saved to the ``StateStore`` before it is
///   used. If saving throws, the old pair stays in use and the outcome is transient.
/// - **Cross-process safety.** The attempt runs under the store's exclusive lock for the
///   account; if the stored pair differs from the one in memory, another process already
///   rotated it and that pair is adopted without spending the refresh token again.
/// - **Not cancelled by callers.** An attempt runs in its own task; a caller that is
///   cancelled stops waiting but the rotation completes and is stored. Only
///   ``Configuration/attemptTimeout`` cancels the refresher.
/// - **Guard state survives reconnects** through ``exportState()`` /
///   ``restoreState(_:)``.
public actor RefreshCoordinator {
    /// Tuning for a ``RefreshCoordinator``.
    public struct Configuration: Sendable {
        /// Minimum time between two attempts. Default 30 s.
        public var minimumInterval: Duration
        /// Deadline of one refresher call; it is cancelled and counted transient after.
        /// Default 20 s.
        public var attemptTimeout: Duration
        /// When to refresh proactively.
        public var schedule: RefreshSchedule
        /// Retry delays of ``runProactiveRefresh(onRotated:)`` after transient failures,
        /// never sooner than the minimum interval allows. Default `min(30 s, 2^(n−1) s)`
        /// without jitter (the ClawChat rule).
        public var transientRetry: Backoff.Configuration
        /// Clock for sleeps, wall clock for JWT times. Default ``TimeSource/system``.
        public var time: TimeSource
        /// Uniform random numbers in `[0, 1)` for the proactive jitter. Default: system.
        public var random: @Sendable () -> Double
        /// Default ``ChannelLogger/disabled``.
        public var logger: ChannelLogger
        /// The name of the stored document under the account. Default `"credentials"`.
        public var documentName: String

        /// Creates a configuration; every parameter has a default.
        public init(
            minimumInterval: Duration = .seconds(30),
            attemptTimeout: Duration = .seconds(20),
            schedule: RefreshSchedule = RefreshSchedule(),
            transientRetry: Backoff.Configuration = .init(initial: .seconds(1), maximum: .seconds(30), multiplier: 2, jitter: 0),
            time: TimeSource = .system,
            random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
            logger: ChannelLogger = .disabled,
            documentName: String = "credentials"
        ) {
            self.minimumInterval = minimumInterval
            self.attemptTimeout = attemptTimeout
            self.schedule = schedule
            self.transientRetry = transientRetry
            self.time = time
            self.random = random
            self.logger = logger
            self.documentName = documentName
        }
    }

    /// The account whose credentials this coordinator owns.
    public nonisolated let account: AccountKey
    /// The configuration.
    public nonisolated let configuration: Configuration
    private let store: any StateStore
    private let refresher: CredentialRefresher
    private let logger: ChannelLogger

    /// The pair in use now.
    public private(set) var credentials: CredentialPair
    /// Set when a refresh was permanently rejected: the account must stop.
    public private(set) var permanentFailure: (code: Int?, message: String)?
    private var guardState = RefreshGuardState()
    private var inFlight: Task<RefreshOutcome, Never>?
    private var stopped = false

    /// Creates a coordinator for `account`.
    /// - Parameters:
    ///   - account: The account (scopes the stored document, the lock and log lines).
    ///   - credentials: The pair to start from (typically loaded with
    ///     ``loadStoredCredentials(account:store:documentName:)``).
    ///   - store: Where rotated pairs are persisted before use.
    ///   - configuration: Tuning; defaults are the ClawChat rules.
    ///   - refresher: Calls the platform's refresh endpoint.
    public init(
        account: AccountKey,
        credentials: CredentialPair,
        store: any StateStore,
        configuration: Configuration = .init(),
        refresher: @escaping CredentialRefresher
    ) {
        self.account = account
        self.credentials = credentials
        self.store = store
        self.configuration = configuration
        self.refresher = refresher
        self.logger = configuration.logger.scoped(to: account)
    }

    /// Reads the stored pair of `account`, if any.
    /// - Throws: The store's typed error for a corrupt or unreadable document.
    public static func loadStoredCredentials(account: AccountKey, store: any StateStore, documentName: String = "credentials") async throws -> CredentialPair? {
        try await store.load(CredentialPair.self, for: StateKey(account, documentName))
    }

    private var stateKey: StateKey { StateKey(account, configuration.documentName) }

    // MARK: Refresh

    /// Refreshes the pair now, unless a guard says not to.
    ///
    /// - Parameter reason: Why (for logs): `"proactive"`, `"rest-401"`, `"hello-fail"`.
    /// - Returns: The outcome; callers that joined a running attempt get its outcome.
    ///   Cancelling the caller does not cancel the attempt.
    public func refresh(reason: String) async -> RefreshOutcome {
        if let inFlight {
            logger.debug("refresh joined the attempt in flight (\(reason))", source: "RefreshCoordinator")
            return await inFlight.value
        }
        if stopped { return .skipped(.stopped) }
        let pair = credentials
        if let rejected = guardState.rejectedAccessToken, rejected == pair.accessToken {
            logger.debug("refresh skipped: access token was permanently rejected (\(reason))", source: "RefreshCoordinator")
            return .skipped(.rejectedLatch)
        }
        let now = configuration.time.now()
        if let last = guardState.lastAttemptAt, now.timeIntervalSince(last) < configuration.minimumInterval.seconds {
            logger.debug("refresh skipped: minimum interval (\(reason))", source: "RefreshCoordinator")
            return .skipped(.minInterval)
        }
        if pair.refreshToken.isEmpty { return .skipped(.noRefreshToken) }
        guardState.lastAttemptAt = now
        logger.info("refresh attempt (\(reason))", source: "RefreshCoordinator")
        let task = Task { await self.attempt(with: pair) }
        inFlight = task
        let outcome = await task.value
        inFlight = nil
        return outcome
    }

    private func attempt(with pair: CredentialPair) async -> RefreshOutcome {
        do {
            return try await store.withExclusiveAccess(stateKey) {
                await self.attemptLocked(with: pair)
            }
        } catch {
            logger.warning("refresh could not take the account lock: \(error)", source: "RefreshCoordinator")
            return .transient("could not lock the stored credentials: \(error)")
        }
    }

    private func attemptLocked(with pair: CredentialPair) async -> RefreshOutcome {
        // Another process (or an earlier coordinator) may have spent this refresh token
        // already: adopt the pair it stored instead of spending it a second time.
        do {
            if let stored = try await store.load(CredentialPair.self, for: stateKey),
               stored.refreshToken != pair.refreshToken {
                logger.info("adopting the pair another writer rotated", source: "RefreshCoordinator")
                credentials = stored
                guardState.rejectedAccessToken = nil
                return .success(stored)
            }
        } catch {
            logger.warning("stored credentials unreadable; refreshing anyway: \(error)", source: "RefreshCoordinator")
        }

        let result = await callRefresher(pair)
        switch result {
        case .rotated(var rotated):
            if rotated.activatedAt == nil { rotated.activatedAt = configuration.time.now() }
            do {
                try await store.save(rotated, for: stateKey)
            } catch {
                logger.error("rotated pair could not be stored; keeping the old pair: \(error)", source: "RefreshCoordinator")
                return .transient("rotated pair could not be stored: \(error)")
            }
            credentials = rotated
            guardState.rejectedAccessToken = nil
            logger.info("refresh succeeded; pair rotated", source: "RefreshCoordinator")
            return .success(rotated)
        case .transient(let code, let message):
            logger.warning("refresh failed transiently\(code.map { " (code \($0))" } ?? ""): \(message)", source: "RefreshCoordinator")
            return .transient(message)
        case .permanent(let code, let message):
            guardState.rejectedAccessToken = pair.accessToken
            permanentFailure = (code, message)
            logger.error("refresh permanently rejected\(code.map { " (code \($0))" } ?? ""): \(message); the account must stop", source: "RefreshCoordinator")
            return .permanent(code: code, message: message)
        }
    }

    /// Runs the refresher in a child task raced against the attempt timeout.
    private func callRefresher(_ pair: CredentialPair) async -> RefreshAttemptResult {
        let refresher = self.refresher
        let time = configuration.time
        let timeout = configuration.attemptTimeout
        return await withTaskGroup(of: RefreshAttemptResult?.self) { group in
            group.addTask {
                do { return try await refresher(pair) }
                catch is CancellationError { return nil }
                catch { return .transient(code: nil, message: "refresh request failed: \(error)") }
            }
            group.addTask {
                do { try await time.sleep(for: timeout) } catch { return nil }
                return .transient(code: nil, message: "refresh timed out after \(timeout)")
            }
            var result: RefreshAttemptResult = .transient(code: nil, message: "refresh was cancelled")
            for await value in group {
                if let value {
                    result = value
                    break
                }
            }
            group.cancelAll()
            return result
        }
    }

    // MARK: Credentials from outside

    /// Installs credentials obtained outside the refresh flow (a new login or
    /// activation): stores them, uses them, clears the latch and any permanent failure.
    /// - Throws: The store's error; then nothing changes.
    public func replaceCredentials(_ pair: CredentialPair) async throws {
        try await store.withExclusiveAccess(stateKey) {
            try await self.store.save(pair, for: self.stateKey)
        }
        credentials = pair
        guardState.rejectedAccessToken = nil
        permanentFailure = nil
        stopped = false
    }

    // MARK: Timing

    /// The next proactive refresh time of the current access token, without jitter.
    public var refreshTime: Date? {
        configuration.schedule.refreshTime(of: credentials.accessToken, activatedAt: credentials.activatedAt)
    }

    /// `true` when the current access token is at or past its proactive refresh time (or
    /// expired): refresh before the first connect.
    public func isNearExpiry() -> Bool {
        guard let at = refreshTime else { return false }
        return configuration.time.now() >= at
    }

    /// Refreshes ahead of every expiry until the calling task is cancelled, the
    /// coordinator stops, or a refresh is permanently rejected.
    ///
    /// - Parameter onRotated: Called after each successful proactive rotation (the pair
    ///   is already stored and in use), e.g. to reconnect the WebSocket with the new
    ///   token.
    /// - Returns: The final outcome when it ended because of a permanent failure or a
    ///   skip it cannot wait out; `nil` when cancelled or stopped.
    @discardableResult
    public func runProactiveRefresh(onRotated: @escaping @Sendable (CredentialPair) async -> Void) async -> RefreshOutcome? {
        var backoff = Backoff(configuration.transientRetry)
        while !Task.isCancelled && !stopped {
            let unit = configuration.random() * 2 - 1
            guard let at = configuration.schedule.refreshTime(of: credentials.accessToken, activatedAt: credentials.activatedAt, unitJitter: unit) else {
                logger.debug("no expiry known; proactive refresh not armed", source: "RefreshCoordinator")
                return nil
            }
            do { try await configuration.time.sleep(untilWall: at) } catch { return nil }
            if stopped { return nil }
            let outcome = await refresh(reason: "proactive")
            switch outcome {
            case .success(let pair):
                backoff.reset()
                await onRotated(pair)
            case .transient:
                let delay = backoff.next(unitRandom: configuration.random())
                do { try await configuration.time.sleep(for: max(delay, remainingInterval())) } catch { return nil }
            case .skipped(.minInterval):
                do { try await configuration.time.sleep(for: remainingInterval()) } catch { return nil }
            case .permanent, .skipped:
                return outcome
            }
        }
        return nil
    }

    private func remainingInterval() -> Duration {
        guard let last = guardState.lastAttemptAt else { return .zero }
        let left = configuration.minimumInterval.seconds - configuration.time.now().timeIntervalSince(last)
        return left > 0 ? .seconds(left) : .zero
    }

    // MARK: Lifecycle and guard state

    /// Stops the coordinator: later ``refresh(reason:)`` calls are skipped and
    /// ``runProactiveRefresh(onRotated:)`` ends after its current step. An attempt in
    /// flight still completes and stores its pair.
    public func stop() { stopped = true }

    /// `true` after ``stop()``.
    public var isStopped: Bool { stopped }

    /// The guard state to carry into the next coordinator of this account.
    public func exportState() -> RefreshGuardState { guardState }

    /// Restores guard state exported from a previous coordinator of this account.
    public func restoreState(_ state: RefreshGuardState) { guardState = state }
}
