import Foundation
import Testing
@testable import ChannelKit
import ChannelKitTesting

/// A fake `POST /v1/auth/refresh`: rotates pairs `A<n>`/`R<n>` with JWT access tokens,
/// records the refresh tokens it was sent, and can be scripted to fail or to hold.
final class FakeRefreshEndpoint: Sendable {
    let sent = TestRecorder<String>()
    let script = TestRecorder<RefreshAttemptResult?>()  // consumed in order; nil = rotate
    let gate: AsyncGate?
    let clock: TestClock
    let lifetime: TimeInterval

    init(clock: TestClock, hold: Bool = false, lifetime: TimeInterval = 24 * 3600) {
        self.clock = clock
        self.gate = hold ? AsyncGate() : nil
        self.lifetime = lifetime
    }

    /// Results for the next calls, in order (`nil` rotates normally).
    func then(_ results: RefreshAttemptResult?...) { for r in results { script.record(r) } }

    var refresher: CredentialRefresher {
        { [self] pair in
            sent.record(pair.refreshToken.reveal())
            let n = sent.count
            if let gate { await gate.wait() }
            if n <= script.count, let scripted = script.all[n - 1] { return scripted }
            return .rotated(Self.pair(n, clock: clock, lifetime: lifetime))
        }
    }

    static func pair(_ n: Int, clock: TestClock, lifetime: TimeInterval = 24 * 3600) -> CredentialPair {
        let now = clock.wallNow
        let jwt = TestJWT.make(issuedAt: now, expiresAt: now.addingTimeInterval(lifetime), extra: ["sub": "u_agent", "n": n])
        return CredentialPair(accessToken: Secret(jwt), refreshToken: Secret("R\(n)"))
    }
}

@Suite struct RefreshCoordinatorTests {
    let account = AccountKey(.clawchat, "agent-1")

    func make(_ clock: TestClock, _ endpoint: FakeRefreshEndpoint, store: InMemoryStateStore = InMemoryStateStore(),
              initial: CredentialPair? = nil, logger: ChannelLogger = .disabled) -> (RefreshCoordinator, InMemoryStateStore) {
        let pair = initial ?? FakeRefreshEndpoint.pair(0, clock: clock)
        let coordinator = RefreshCoordinator(
            account: account, credentials: pair, store: store,
            configuration: .init(time: clock.timeSource, random: { 0.5 }, logger: logger),
            refresher: endpoint.refresher)
        return (coordinator, store)
    }

    @Test func concurrentRefreshesShareOneAttempt() async throws {
        let clock = TestClock()
        let endpoint = FakeRefreshEndpoint(clock: clock, hold: true)
        let (coordinator, _) = make(clock, endpoint)
        let outcomes = await withTaskGroup(of: RefreshOutcome.self) { group in
            for reason in ["proactive", "rest-401", "hello-fail", "rest-403", "proactive"] {
                group.addTask { await coordinator.refresh(reason: reason) }
            }
            await endpoint.gate?.waitForWaiters(1)
            // Let the other callers arrive while the attempt is held.
            await TestClock.settle(turns: 500)
            endpoint.gate?.open()
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(endpoint.sent.all == ["R0"], "exactly one refresh request")
        let successes = outcomes.filter { if case .success = $0 { true } else { false } }
        #expect(successes.count + outcomes.filter { $0 == .skipped(.minInterval) }.count == 5)
        #expect(successes.allSatisfy {
            guard case .success(let pair) = $0 else { return false }
            return pair.refreshToken.reveal() == "R1" && pair.activatedAt == clock.wallNow
        })
        #expect(await coordinator.credentials.refreshToken.reveal() == "R1")
    }

    @Test func minimumIntervalBetweenAttempts() async throws {
        let clock = TestClock()
        let endpoint = FakeRefreshEndpoint(clock: clock)
        endpoint.then(.transient(code: 1, message: "internal"))
        let (coordinator, _) = make(clock, endpoint)
        #expect(await coordinator.refresh(reason: "a") == .transient("internal"))
        await clock.advance(by: .seconds(29))
        #expect(await coordinator.refresh(reason: "b") == .skipped(.minInterval))
        #expect(endpoint.sent.count == 1)
        await clock.advance(by: .seconds(1))
        if case .success = await coordinator.refresh(reason: "c") {} else { Issue.record("attempt after 30 s must run") }
        #expect(endpoint.sent.all == ["R0", "R0"], "the old refresh token is still the one to spend after a transient failure")
    }

    @Test func permanentRejectionLatchesUntilCredentialsChange() async throws {
        let clock = TestClock()
        let endpoint = FakeRefreshEndpoint(clock: clock)
        endpoint.then(.permanent(code: 10003, message: "invalid refresh token"))
        let (coordinator, _) = make(clock, endpoint)
        #expect(await coordinator.refresh(reason: "hello-fail") == .permanent(code: 10003, message: "invalid refresh token"))
        #expect(await coordinator.permanentFailure?.code == 10003)
        for _ in 0..<5 {
            await clock.advance(by: .seconds(3600))
            #expect(await coordinator.refresh(reason: "hello-fail") == .skipped(.rejectedLatch))
        }
        #expect(endpoint.sent.count == 1, "a rejected token is never retried")
        // New credentials (a new activation) clear the latch.
        try await coordinator.replaceCredentials(CredentialPair(accessToken: Secret("A-new"), refreshToken: Secret("R-new")))
        #expect(await coordinator.permanentFailure == nil)
        if case .success = await coordinator.refresh(reason: "rest-401") {} else { Issue.record("new credentials must be refreshable") }
        #expect(endpoint.sent.all == ["R0", "R-new"])
    }

    @Test func rotatedPairIsPersistedBeforeItIsUsed() async throws {
        let clock = TestClock()
        let endpoint = FakeRefreshEndpoint(clock: clock)
        let store = ObservingStore()
        let coordinator = RefreshCoordinator(account: account, credentials: FakeRefreshEndpoint.pair(0, clock: clock), store: store,
                                             configuration: .init(time: clock.timeSource), refresher: endpoint.refresher)
        store.coordinator.record(coordinator)
        guard case .success(let rotated) = await coordinator.refresh(reason: "proactive") else {
            Issue.record("expected success"); return
        }
        // At the moment of the save, the coordinator still used the old pair.
        #expect(store.inUseAtSave.all == ["R0"])
        #expect(try await store.load(CredentialPair.self, for: StateKey(account, "credentials"))?.refreshToken == rotated.refreshToken)
        #expect(await coordinator.credentials == rotated)
    }

    @Test func failedPersistKeepsTheOldPairAndReportsTransient() async throws {
        let clock = TestClock()
        let endpoint = FakeRefreshEndpoint(clock: clock)
        let (coordinator, store) = make(clock, endpoint)
        await store.failNextSaves(1)
        let outcome = await coordinator.refresh(reason: "proactive")
        guard case .transient(let message) = outcome else { Issue.record("expected transient, got \(outcome)"); return }
        #expect(message.contains("could not be stored"))
        #expect(await coordinator.credentials.refreshToken.reveal() == "R0", "old pair stays in use")
        #expect(await store.rawDocument(for: StateKey(account, "credentials")) == nil)
        #expect(await coordinator.permanentFailure == nil)
        // The next attempt (after the interval) tries again with the old refresh token.
        await clock.advance(by: .seconds(30))
        if case .success = await coordinator.refresh(reason: "retry") {} else { Issue.record("retry must succeed") }
        #expect(endpoint.sent.all == ["R0", "R0"])
        #expect(await coordinator.credentials.refreshToken.reveal() == "R2")
    }

    @Test func transientAndThrownErrorsKeepTheOldPair() async throws {
        struct NetworkDown: Error {}
        let clock = TestClock()
        let thrown = TestRecorder<Int>()
        let coordinator = RefreshCoordinator(
            account: account, credentials: FakeRefreshEndpoint.pair(0, clock: clock), store: InMemoryStateStore(),
            configuration: .init(time: clock.timeSource)) { _ in
                thrown.record(1)
                throw NetworkDown()
            }
        guard case .transient(let message) = await coordinator.refresh(reason: "x") else { Issue.record("expected transient"); return }
        #expect(message.contains("NetworkDown"))
        #expect(await coordinator.credentials.refreshToken.reveal() == "R0")
        #expect(thrown.count == 1)
    }

    @Test func attemptTimeoutCancelsTheRefresherAndIsTransient() async throws {
        let clock = TestClock()
        let sawCancel = TestRecorder<Bool>()
        let coordinator = RefreshCoordinator(
            account: account, credentials: FakeRefreshEndpoint.pair(0, clock: clock), store: InMemoryStateStore(),
            configuration: .init(attemptTimeout: .seconds(20), time: clock.timeSource)) { _ in
                do { try await clock.sleep(for: .seconds(3600)) } catch { sawCancel.record(true); throw error }
                return .transient(code: nil, message: "unreachable")
            }
        let outcome = Task { await coordinator.refresh(reason: "x") }
        #expect(await clock.waitForSleepers(2))
        await clock.advance(by: .seconds(20))
        guard case .transient(let message) = await outcome.value else { Issue.record("expected transient"); return }
        #expect(message.contains("timed out"))
        #expect(sawCancel.all == [true])
    }

    @Test func cancelledCallerDoesNotAbortARotation() async throws {
        let clock = TestClock()
        let endpoint = FakeRefreshEndpoint(clock: clock, hold: true)
        let (coordinator, store) = make(clock, endpoint)
        let caller = Task { await coordinator.refresh(reason: "rest-401") }
        await endpoint.gate?.waitForWaiters(1)
        caller.cancel()
        endpoint.gate?.open()
        _ = await caller.value
        #expect(await coordinator.credentials.refreshToken.reveal() == "R1")
        #expect(try await store.load(CredentialPair.self, for: StateKey(account, "credentials"))?.refreshToken.reveal() == "R1")
    }

    @Test func pairRotatedByAnotherWriterIsAdoptedWithoutSpendingTheTokenAgain() async throws {
        let clock = TestClock()
        let endpoint = FakeRefreshEndpoint(clock: clock)
        let store = InMemoryStateStore()
        // Two coordinators (two processes) start from the same stored pair.
        let (first, _) = make(clock, endpoint, store: store)
        let (second, _) = make(clock, endpoint, store: store)
        guard case .success(let rotated) = await first.refresh(reason: "proactive") else { Issue.record("expected success"); return }
        guard case .success(let adopted) = await second.refresh(reason: "hello-fail") else { Issue.record("expected adoption"); return }
        #expect(adopted == rotated)
        #expect(endpoint.sent.all == ["R0"], "R0 is single-use: spent exactly once")
        #expect(await second.credentials == rotated)
    }

    /// Seed bug class 2 (#3611): parallel refreshers racing a single-use refresh token.
    /// Two coordinators on two independent FileStateStore handles over one directory
    /// (as two processes would be) refresh at once: the token is spent exactly once and
    /// both end up on the same rotated pair.
    @Test func twoProcessesSharingAStateDirectorySpendTheRefreshTokenOnce() async throws {
        try await StoreTestSupport.withTemporaryDirectory { dir in
            let clock = TestClock()
            let endpoint = FakeRefreshEndpoint(clock: clock, hold: true)
            let start = FakeRefreshEndpoint.pair(0, clock: clock)
            try await FileStateStore(directory: dir).save(start, for: StateKey(account, "credentials"))
            let a = RefreshCoordinator(account: account, credentials: start, store: FileStateStore(directory: dir),
                                       configuration: .init(time: clock.timeSource), refresher: endpoint.refresher)
            let b = RefreshCoordinator(account: account, credentials: start, store: FileStateStore(directory: dir),
                                       configuration: .init(time: clock.timeSource), refresher: endpoint.refresher)
            let first = Task { await a.refresh(reason: "proactive") }
            await endpoint.gate?.waitForWaiters(1)          // a holds the file lock, mid-request
            let second = Task { await b.refresh(reason: "hello-fail") }
            await TestClock.settle(turns: 200)
            endpoint.gate?.open()
            guard case .success(let pairA) = await first.value, case .success(let pairB) = await second.value else {
                Issue.record("both refreshes must succeed"); return
            }
            #expect(endpoint.sent.all == ["R0"])
            #expect(pairA.refreshToken == pairB.refreshToken)
            #expect(try await FileStateStore(directory: dir).load(CredentialPair.self, for: StateKey(account, "credentials"))?.refreshToken.reveal() == "R1")
        }
    }

    @Test func guardStateSurvivesAReconnect() async throws {
        let clock = TestClock()
        let endpoint = FakeRefreshEndpoint(clock: clock)
        endpoint.then(.permanent(code: 400, message: "bad device id"))
        let (old, store) = make(clock, endpoint)
        _ = await old.refresh(reason: "hello-fail")
        let state = await old.exportState()
        #expect(state.rejectedAccessToken == FakeRefreshEndpoint.pair(0, clock: clock).accessToken)
        // The reconnect builds a new coordinator; without the restored state it would retry.
        let (fresh, _) = make(clock, endpoint, store: store)
        await fresh.restoreState(state)
        #expect(await fresh.refresh(reason: "hello-fail") == .skipped(.rejectedLatch))
        // The minimum interval is carried too.
        let (other, _) = make(clock, FakeRefreshEndpoint(clock: clock))
        await other.restoreState(RefreshGuardState(lastAttemptAt: clock.wallNow))
        #expect(await other.refresh(reason: "x") == .skipped(.minInterval))
        let encoded = try JSONEncoder().encode(state)
        #expect(try JSONDecoder().decode(RefreshGuardState.self, from: encoded) == state)
    }

    @Test func stopSkipsLaterRefreshes() async throws {
        let clock = TestClock()
        let endpoint = FakeRefreshEndpoint(clock: clock)
        let (coordinator, _) = make(clock, endpoint)
        await coordinator.stop()
        #expect(await coordinator.refresh(reason: "x") == .skipped(.stopped))
        let empty = RefreshCoordinator(account: account, credentials: CredentialPair(accessToken: Secret("a"), refreshToken: Secret("")),
                                       store: InMemoryStateStore(), configuration: .init(time: clock.timeSource), refresher: endpoint.refresher)
        #expect(await empty.refresh(reason: "x") == .skipped(.noRefreshToken))
        #expect(endpoint.sent.count == 0)
    }

    // MARK: Schedule

    @Test(arguments: [
        // (lifetime hours, expected lead minutes)
        (24.0, 120.0),   // 0.25·24 h = 6 h → clamped to 2 h
        (4.0, 60.0),     // 0.25·4 h = 1 h
        (1.0, 30.0),     // 0.25·1 h = 15 min → raised to 30 min
    ])
    func proactiveRefreshTimeFollowsTheLifetime(hours: Double, leadMinutes: Double) {
        let iat = Date(timeIntervalSince1970: 1_800_000_000)
        let exp = iat.addingTimeInterval(hours * 3600)
        let token = Secret(TestJWT.make(issuedAt: iat, expiresAt: exp))
        let schedule = RefreshSchedule()
        #expect(schedule.refreshTime(of: token, activatedAt: nil) == exp.addingTimeInterval(-leadMinutes * 60))
        #expect(schedule.refreshTime(of: token, activatedAt: nil, unitJitter: 1) == exp.addingTimeInterval(-leadMinutes * 60 + 300))
        #expect(schedule.refreshTime(of: token, activatedAt: nil, unitJitter: -1) == exp.addingTimeInterval(-leadMinutes * 60 - 300))
    }

    @Test func fallbacksWithoutExpOrIat() {
        let schedule = RefreshSchedule()
        let activated = Date(timeIntervalSince1970: 1_800_000_000)
        // No exp: activated + 24 h, lifetime 24 h → lead 2 h.
        #expect(schedule.refreshTime(of: Secret("opaque-token"), activatedAt: activated) == activated.addingTimeInterval(22 * 3600))
        #expect(schedule.refreshTime(of: Secret("opaque-token"), activatedAt: nil) == nil)
        #expect(schedule.refreshTime(of: Secret("eyJ.garbage.x"), activatedAt: nil) == nil, "malformed JWT never crashes")
        // exp without iat: lifetime assumed 24 h → lead 2 h.
        let exp = Date(timeIntervalSince1970: 1_800_003_600)
        #expect(schedule.refreshTime(of: Secret(TestJWT.make(issuedAt: nil, expiresAt: exp)), activatedAt: activated) == exp.addingTimeInterval(-7200))
    }

    @Test func nearExpiryAtStartup() async throws {
        let clock = TestClock()
        let now = clock.wallNow
        let fresh = CredentialPair(accessToken: Secret(TestJWT.make(issuedAt: now, expiresAt: now.addingTimeInterval(24 * 3600))), refreshToken: Secret("R"))
        let (c1, _) = make(clock, FakeRefreshEndpoint(clock: clock), initial: fresh)
        #expect(await c1.isNearExpiry() == false)
        await clock.advance(by: .seconds(22 * 3600))
        #expect(await c1.isNearExpiry() == true)
        let opaque = CredentialPair(accessToken: Secret("opaque"), refreshToken: Secret("R"), activatedAt: nil)
        let (c2, _) = make(clock, FakeRefreshEndpoint(clock: clock), initial: opaque)
        #expect(await c2.isNearExpiry() == false)
    }

    @Test func proactiveLoopRotatesAheadOfEachExpiryAndReportsRotations() async throws {
        let clock = TestClock()
        let endpoint = FakeRefreshEndpoint(clock: clock)
        let (coordinator, _) = make(clock, endpoint)
        let rotations = TestRecorder<String>()
        let loop = Task { await coordinator.runProactiveRefresh { rotations.record($0.refreshToken.reveal()) } }
        #expect(await clock.waitForSleepers(1))
        // 24 h token, random 0.5 → jitter 0 → refresh at 22 h.
        await clock.advance(by: .seconds(22 * 3600 - 1))
        #expect(endpoint.sent.count == 0)
        await clock.advance(by: .seconds(1))
        #expect(await waitUntil { rotations.count == 1 })
        // Re-armed from the new token: the next sleeper is 22 h away.
        #expect(await waitUntil { clock.nextDeadline == clock.now.advanced(by: .seconds(22 * 3600)) })
        await clock.advance(by: .seconds(22 * 3600))
        #expect(await waitUntil { rotations.count == 2 })
        #expect(rotations.all == ["R1", "R2"])
        loop.cancel()
        #expect(await loop.value == nil)
    }

    @Test func proactiveLoopRetriesTransientFailuresAndStopsOnPermanent() async throws {
        let clock = TestClock()
        let endpoint = FakeRefreshEndpoint(clock: clock)
        endpoint.then(.transient(code: 1, message: "internal"), .permanent(code: 10003, message: "revoked"))
        let (coordinator, _) = make(clock, endpoint)
        let loop = Task { await coordinator.runProactiveRefresh { _ in } }
        #expect(await clock.waitForSleepers(1))
        await clock.advance(by: .seconds(22 * 3600))
        #expect(await waitUntil { endpoint.sent.count == 1 })
        // The retry waits for the 30 s minimum interval (backoff 1 s < 30 s).
        #expect(await waitUntil { clock.nextDeadline == clock.now.advanced(by: .seconds(30)) })
        await clock.advance(by: .seconds(29))
        #expect(endpoint.sent.count == 1)
        await clock.advance(by: .seconds(1))
        #expect(await loop.value == .permanent(code: 10003, message: "revoked"))
        #expect(endpoint.sent.count == 2)
    }

    @Test func secretsNeverReachLogsOrDescriptions() async throws {
        let clock = TestClock()
        let logs = CapturingLogHandler()
        let endpoint = FakeRefreshEndpoint(clock: clock)
        endpoint.then(nil, .permanent(code: 10003, message: "refresh_token R1 revoked"))
        let (coordinator, _) = make(clock, endpoint, logger: logs.logger())
        let start = await coordinator.credentials
        let outcome = await coordinator.refresh(reason: "a")
        await clock.advance(by: .seconds(30))
        _ = await coordinator.refresh(reason: "b")
        let rotated = await coordinator.credentials
        for secret in [start.accessToken, start.refreshToken, rotated.accessToken] {
            #expect(logs.lines(containing: secret.reveal()).isEmpty)
            #expect(!outcome.description.contains(secret.reveal()))
            #expect(!rotated.description.contains(secret.reveal()))
        }
        #expect(logs.lines.allSatisfy { $0.metadata["channel.account"] == "clawchat:agent-1" })
        #expect(!logs.lines.isEmpty)
    }
}

/// A store that records which refresh token the coordinator used when each save ran.
final class ObservingStore: StateStore {
    let inner = InMemoryStateStore()
    let coordinator = TestRecorder<RefreshCoordinator>()
    let inUseAtSave = TestRecorder<String>()

    func load<T: Decodable & Sendable>(_ type: T.Type, for key: StateKey) async throws -> T? { try await inner.load(type, for: key) }
    func save<T: Encodable & Sendable>(_ value: T, for key: StateKey) async throws {
        if let c = coordinator.all.first { inUseAtSave.record(await c.credentials.refreshToken.reveal()) }
        try await inner.save(value, for: key)
    }
    func remove(_ key: StateKey) async throws { try await inner.remove(key) }
    func withExclusiveAccess<T: Sendable>(_ key: StateKey, _ body: @Sendable () async throws -> T) async throws -> T {
        try await inner.withExclusiveAccess(key, body)
    }
}
