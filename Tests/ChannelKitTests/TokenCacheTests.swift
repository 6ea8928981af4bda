import Foundation
import Testing
@testable import ChannelKit
import ChannelKitTesting

/// A fake token endpoint: counts fetches per key, optionally holds each fetch at a gate
/// per key, and mints tokens that name their key and a sequence number.
final class FakeTokenEndpoint: Sendable {
    let fetches = TestRecorder<CredentialKey>()
    let gates = TestRecorder<(CredentialKey, AsyncGate)>()
    let failures = TestRecorder<CredentialKey>()
    let lifetime: Duration
    let holdFetches: Bool
    let failFirst: Int

    init(lifetime: Duration = .seconds(7200), holdFetches: Bool = false, failFirst: Int = 0) {
        self.lifetime = lifetime
        self.holdFetches = holdFetches
        self.failFirst = failFirst
    }

    var fetch: TokenFetcher {
        { [self] key in
            fetches.record(key)
            let n = fetches.all.filter { $0 == key }.count
            if holdFetches {
                let gate = AsyncGate()
                gates.record((key, gate))
                await gate.wait()
            }
            if fetches.count <= failFirst {
                failures.record(key)
                throw ChannelError(.unauthorized, "endpoint said no", platformCode: 11255)
            }
            return IssuedToken(value: Secret("tok-\(key.identity)-\(n)"), lifetime: lifetime)
        }
    }

    func count(_ key: CredentialKey) -> Int { fetches.all.filter { $0 == key }.count }

    /// Opens the gate of the n-th held fetch of `key` (1-based), waiting for it to exist.
    func release(_ key: CredentialKey, _ n: Int = 1) async {
        for _ in 0..<200_000 {
            let matching = gates.all.filter { $0.0 == key }
            if matching.count >= n { matching[n - 1].1.open(); return }
            await Task.yield()
        }
        Issue.record("fetch \(n) of \(key) never started")
    }
}

@Suite struct TokenCacheTests {
    let a = CredentialKey(.qqbot, "102863192")
    let b = CredentialKey(.qqbot, "102863260")

    func makeCache(_ clock: TestClock, random: Double = 0.5, logger: ChannelLogger = .disabled) -> TokenCache {
        TokenCache(configuration: .init(refreshMargin: .seconds(60), refreshJitter: .seconds(30),
                                        time: clock.timeSource, random: { random }, logger: logger))
    }

    @Test func concurrentCallersOnOneKeyCauseExactlyOneFetch() async throws {
        let clock = TestClock()
        let cache = makeCache(clock)
        let endpoint = FakeTokenEndpoint(holdFetches: true)
        let tokens = try await withThrowingTaskGroup(of: AccessToken.self) { group in
            for _ in 0..<100 { group.addTask { try await cache.token(for: a, fetch: endpoint.fetch) } }
            await endpoint.release(a)
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(endpoint.count(a) == 1)
        #expect(tokens.count == 100)
        #expect(Set(tokens.map { $0.value.reveal() }) == ["tok-102863192-1"])
        // Cached afterwards: no more fetches.
        _ = try await cache.token(for: a, fetch: endpoint.fetch)
        #expect(endpoint.count(a) == 1)
    }

    /// The miss → register race, step by step: a caller that missed just before another
    /// caller's fetch completed must take the fresh token, not start a second fetch.
    @Test func callerThatMissedJustBeforeAFetchCompletedTakesItsToken() async throws {
        let clock = TestClock()
        let cache = makeCache(clock)
        let endpoint = FakeTokenEndpoint()
        let slot = cache.slot(for: a)
        #expect(cache.cachedToken(in: slot, now: clock.wallNow.timeIntervalSinceReferenceDate, fetch: endpoint.fetch) == nil)
        let other = try await cache.token(for: a, fetch: endpoint.fetch)   // completes meanwhile
        let late = try await cache.wait(on: slot, fetch: endpoint.fetch)  // the missed caller goes on
        #expect(late == other)
        #expect(endpoint.count(a) == 1)
        // An explicit refresh still fetches.
        _ = try await cache.wait(on: slot, fetch: endpoint.fetch, force: true)
        #expect(endpoint.count(a) == 2)
    }

    /// Stress version of the race above: many callers over many keys.
    @Test func fanInCausesExactlyOneFetchPerKey() async throws {
        for round in 0..<20 {
            let cache = makeCache(TestClock())
            let fetches = TestRecorder<CredentialKey>()
            let fetch: TokenFetcher = { key in
                fetches.record(key)
                await Task.yield()
                return IssuedToken(value: Secret("tok-\(key.identity)"), lifetime: .seconds(7200))
            }
            let keys = (0..<50).map { CredentialKey(.qqbot, "app-\($0)") }
            let callers = (0..<1000).map { i in
                let key = keys[i % keys.count]
                return Task { try await cache.token(for: key, fetch: fetch).key == key }
            }
            for caller in callers { #expect(try await caller.value) }
            #expect(fetches.count == keys.count, "round \(round): \(fetches.count) fetches for \(keys.count) keys")
        }
    }

    @Test func otherKeysNeverWaitOnAFetch() async throws {
        let clock = TestClock()
        let cache = makeCache(clock)
        let held = FakeTokenEndpoint(holdFetches: true)
        let free = FakeTokenEndpoint()
        let stuck = Task { try await cache.token(for: a, fetch: held.fetch) }
        for _ in 0..<100_000 where held.gates.count < 1 { await Task.yield() }
        #expect(held.gates.count == 1)
        let tokenB = try await cache.token(for: b, fetch: free.fetch)
        #expect(tokenB.key == b)
        #expect(tokenB.value.reveal() == "tok-102863260-1")
        #expect(cache.status(a) == .refreshing(current: nil))
        await held.release(a)
        #expect(try await stuck.value.key == a)
    }

    /// Seed 000: one global token and one fetch promise made bot A send with bot B's
    /// token. Two keys whose fetches interleave and complete out of order must each get
    /// their own token.
    @Test func tokensNeverCrossKeysWhenFetchesCompleteOutOfOrder() async throws {
        let clock = TestClock()
        let cache = makeCache(clock)
        let endpoint = FakeTokenEndpoint(holdFetches: true)
        let callersA = (0..<5).map { _ in Task { try await cache.token(for: a, fetch: endpoint.fetch) } }
        let callersB = (0..<5).map { _ in Task { try await cache.token(for: b, fetch: endpoint.fetch) } }
        // Both fetches are in flight; B's finishes first.
        await endpoint.release(b)
        for t in callersB { #expect(try await t.value.value.reveal() == "tok-102863260-1") }
        await endpoint.release(a)
        for t in callersA {
            let token = try await t.value
            #expect(token.value.reveal() == "tok-102863192-1")
            #expect(token.key == a)
        }
        #expect(try await cache.token(for: a, fetch: endpoint.fetch).value.reveal() == "tok-102863192-1")
        #expect(try await cache.token(for: b, fetch: endpoint.fetch).value.reveal() == "tok-102863260-1")
        #expect(endpoint.fetches.count == 2)
    }

    @Test func failureIsNotSticky() async throws {
        let clock = TestClock()
        let cache = makeCache(clock)
        let endpoint = FakeTokenEndpoint(failFirst: 1)
        await #expect(throws: ChannelError.self) { try await cache.token(for: a, fetch: endpoint.fetch) }
        #expect(cache.status(a) == .none)
        let token = try await cache.token(for: a, fetch: endpoint.fetch)
        #expect(token.value.reveal() == "tok-102863192-2")
        #expect(endpoint.count(a) == 2)
    }

    @Test func fetchErrorsKeepTheirPlatformCodeOrAreWrapped() async throws {
        let cache = makeCache(TestClock())
        do {
            _ = try await cache.token(for: a, fetch: FakeTokenEndpoint(failFirst: 1).fetch)
            Issue.record("expected a failure")
        } catch let error as ChannelError {
            #expect(error.code == .unauthorized)
            #expect(error.platformCode == 11255)
        }
        struct Boom: Error {}
        do {
            _ = try await cache.token(for: b) { _ in throw Boom() }
            Issue.record("expected a failure")
        } catch let error as ChannelError {
            #expect(error.code == .tokenFetchFailed)
            #expect(error.location == b.description)
        }
    }

    @Test func cancellingOneCallerDoesNotCancelTheSharedFetch() async throws {
        let clock = TestClock()
        let cache = makeCache(clock)
        let sawCancellation = TestRecorder<Bool>()
        let gate = AsyncGate()
        let fetch: TokenFetcher = { key in
            await gate.wait()
            sawCancellation.record(Task.isCancelled)
            return IssuedToken(value: Secret("shared"), lifetime: .seconds(7200))
        }
        let first = Task { try await cache.token(for: a, fetch: fetch) }
        let second = Task { try await cache.token(for: a, fetch: fetch) }
        await gate.waitForWaiters(1)
        first.cancel()
        // The cancelled caller returns promptly, while the fetch is still held.
        await #expect(throws: CancellationError.self) { try await first.value }
        #expect(!gate.isOpen)
        gate.open()
        #expect(try await second.value.value.reveal() == "shared")
        #expect(sawCancellation.all == [false])
        #expect(cache.status(a) == .valid(expiresAt: clock.wallStart.addingTimeInterval(7200)))
    }

    @Test func allCallersCancelledStillCachesTheResult() async throws {
        let clock = TestClock()
        let cache = makeCache(clock)
        let endpoint = FakeTokenEndpoint(holdFetches: true)
        let caller = Task { try await cache.token(for: a, fetch: endpoint.fetch) }
        await endpoint.release(a, 0 + 1) // make sure the fetch started; gate opens after the cancel below
        caller.cancel()
        _ = try? await caller.value
        for _ in 0..<1000 where cache.status(a) != .valid(expiresAt: clock.wallStart.addingTimeInterval(7200)) { await Task.yield() }
        #expect(cache.status(a) == .valid(expiresAt: clock.wallStart.addingTimeInterval(7200)))
        _ = try await cache.token(for: a, fetch: endpoint.fetch)
        #expect(endpoint.count(a) == 1)
    }

    @Test func refreshesAheadOfExpiryWithMarginAndJitter() async throws {
        let clock = TestClock()
        // lead = 60 s margin + 0.5 × 30 s jitter = 75 s → refresh at 7125 s.
        let cache = makeCache(clock, random: 0.5)
        let endpoint = FakeTokenEndpoint()
        let source = cache.source(for: a, fetch: endpoint.fetch)
        #expect(try await source.token().value.reveal() == "tok-102863192-1")
        await clock.advance(by: .seconds(7124))
        #expect(try await source.token().value.reveal() == "tok-102863192-1")
        #expect(endpoint.count(a) == 1)
        await clock.advance(by: .seconds(1))
        // Inside the refresh window: the current token is served while one fetch runs.
        #expect(try await source.token().value.reveal() == "tok-102863192-1")
        for _ in 0..<1000 where endpoint.count(a) < 2 || cache.status(a) != .valid(expiresAt: clock.wallNow.addingTimeInterval(7200)) { await Task.yield() }
        #expect(endpoint.count(a) == 2)
        #expect(try await source.token().value.reveal() == "tok-102863192-2")
    }

    @Test func differentJitterSpreadsRefreshTimes() async throws {
        for (random, refreshAt) in [(0.0, 7140.0), (0.999, 7110.03)] {
            let clock = TestClock()
            let cache = makeCache(clock, random: random)
            let endpoint = FakeTokenEndpoint()
            _ = try await cache.token(for: a, fetch: endpoint.fetch)
            await clock.advance(by: .seconds(refreshAt - 0.1))
            _ = try await cache.token(for: a, fetch: endpoint.fetch)
            #expect(endpoint.count(a) == 1, "random \(random): no refresh before \(refreshAt)")
            await clock.advance(by: .seconds(0.2))
            _ = try await cache.token(for: a, fetch: endpoint.fetch)
            for _ in 0..<1000 where endpoint.count(a) < 2 { await Task.yield() }
            #expect(endpoint.count(a) == 2, "random \(random): refresh after \(refreshAt)")
        }
    }

    @Test func shortLivedTokensRefreshAtHalfLife() async throws {
        let clock = TestClock()
        let cache = makeCache(clock)
        let endpoint = FakeTokenEndpoint(lifetime: .seconds(50))
        _ = try await cache.token(for: a, fetch: endpoint.fetch)
        await clock.advance(by: .seconds(24))
        _ = try await cache.token(for: a, fetch: endpoint.fetch)
        #expect(endpoint.count(a) == 1, "a 50 s token is not refreshed on every call")
    }

    @Test func expiredTokenMakesCallersWaitForAFreshOne() async throws {
        let clock = TestClock()
        let cache = makeCache(clock)
        let endpoint = FakeTokenEndpoint(holdFetches: true)
        let first = Task { try await cache.token(for: a, fetch: endpoint.fetch) }
        await endpoint.release(a, 1)
        _ = try await first.value
        await clock.advance(by: .seconds(7200))
        #expect(cache.status(a) == .expired(expiresAt: clock.wallStart.addingTimeInterval(7200)))
        let second = Task { try await cache.token(for: a, fetch: endpoint.fetch) }
        await endpoint.release(a, 2)
        #expect(try await second.value.value.reveal() == "tok-102863192-2")
    }

    @Test func invalidateDropsOnlyTheRejectedToken() async throws {
        let clock = TestClock()
        let cache = makeCache(clock)
        let endpoint = FakeTokenEndpoint()
        let first = try await cache.token(for: a, fetch: endpoint.fetch)
        cache.invalidate(a, ifValue: Secret("some-older-token"))
        #expect(try await cache.token(for: a, fetch: endpoint.fetch) == first)
        cache.invalidate(a, ifValue: first.value)
        #expect(cache.status(a) == .none)
        #expect(try await cache.token(for: a, fetch: endpoint.fetch).value.reveal() == "tok-102863192-2")
        cache.invalidate(a)
        #expect(cache.status(a) == .none)
    }

    @Test func statusReportsEveryState() async throws {
        let clock = TestClock()
        let cache = makeCache(clock)
        #expect(cache.status(a) == .none)
        let endpoint = FakeTokenEndpoint(holdFetches: true)
        let t = Task { try await cache.token(for: a, fetch: endpoint.fetch) }
        await endpoint.release(a, 1)
        _ = try await t.value
        let expiry = clock.wallStart.addingTimeInterval(7200)
        #expect(cache.status(a) == .valid(expiresAt: expiry))
        let refreshing = Task { try await cache.refresh(a, fetch: endpoint.fetch) }
        for _ in 0..<10_000 where endpoint.gates.count < 2 { await Task.yield() }
        #expect(cache.status(a) == .refreshing(current: expiry))
        await endpoint.release(a, 2)
        _ = try await refreshing.value
        await clock.advance(by: .seconds(8000))
        #expect(cache.status(a) == .expired(expiresAt: expiry))
    }

    @Test func clearOneKeyOrAll() async throws {
        let cache = makeCache(TestClock())
        let endpoint = FakeTokenEndpoint()
        _ = try await cache.token(for: a, fetch: endpoint.fetch)
        _ = try await cache.token(for: b, fetch: endpoint.fetch)
        cache.clear(a)
        #expect(cache.status(a) == .none)
        if case .valid = cache.status(b) {} else { Issue.record("b must survive clear(a)") }
        cache.clear()
        #expect(cache.status(b) == .none)
    }

    @Test func clearDuringAFetchAnswersWaitersButDoesNotCache() async throws {
        let cache = makeCache(TestClock())
        let endpoint = FakeTokenEndpoint(holdFetches: true)
        let waiter = Task { try await cache.token(for: a, fetch: endpoint.fetch) }
        for _ in 0..<10_000 where endpoint.gates.count < 1 { await Task.yield() }
        cache.clear(a)
        await endpoint.release(a, 1)
        #expect(try await waiter.value.key == a)
        #expect(cache.status(a) == .none)
    }

    @Test func keepWarmRefreshesAheadOfEachExpiryAndStopsWithTheAccount() async throws {
        let clock = TestClock()
        let cache = makeCache(clock)
        let endpoint = FakeTokenEndpoint()
        let account = Task { await cache.keepWarm(a, fetch: endpoint.fetch) }
        #expect(await clock.waitForSleepers(1))
        #expect(endpoint.count(a) == 1)
        for round in 2...4 {
            await clock.advance(by: .seconds(7125))
            #expect(await clock.waitForSleepers(1))
            #expect(endpoint.count(a) == round)
            #expect(try await cache.token(for: a, fetch: endpoint.fetch).value.reveal() == "tok-102863192-\(round)")
        }
        account.cancel()
        await account.value
        #expect(clock.sleeperCount == 0)
        await clock.advance(by: .seconds(100_000))
        #expect(endpoint.count(a) == 4, "no refresh after the account stopped")
    }

    @Test func keepWarmRetriesFailuresWithGrowingDelay() async throws {
        let clock = TestClock()
        let cache = makeCache(clock)
        let endpoint = FakeTokenEndpoint(failFirst: 3)
        let account = Task { await cache.keepWarm(a, fetch: endpoint.fetch) }
        #expect(await clock.waitForSleepers(1))
        #expect(endpoint.count(a) == 1)
        await clock.advance(by: .seconds(1))   // retry 1 after 1 s
        #expect(await clock.waitForSleepers(1))
        #expect(endpoint.count(a) == 2)
        await clock.advance(by: .seconds(1.5)) // retry 2 is due after 2 s, not yet
        #expect(endpoint.count(a) == 2)
        await clock.advance(by: .seconds(0.5))
        #expect(await clock.waitForSleepers(1))
        #expect(endpoint.count(a) == 3)
        await clock.advance(by: .seconds(4))
        #expect(await clock.waitForSleepers(1))
        #expect(endpoint.count(a) == 4)
        if case .valid = cache.status(a) {} else { Issue.record("token must be valid after the retries") }
        account.cancel()
        await account.value
    }

    @Test func shutdownCancelsRunningFetches() async throws {
        let clock = TestClock()
        let cache = makeCache(clock)
        let started = AsyncGate()
        let waiter = Task {
            try await cache.token(for: a) { _ in
                started.open()
                try await clock.sleep(for: .seconds(3600)) // virtual; ended by cancellation
                return IssuedToken(value: Secret("never"), lifetime: .seconds(1))
            }
        }
        await started.wait()
        await cache.shutdown()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(cache.status(a) == .none)
    }

    @Test func tokenValuesNeverReachLogLines() async throws {
        let logs = CapturingLogHandler()
        let clock = TestClock()
        let cache = makeCache(clock, logger: logs.logger())
        let endpoint = FakeTokenEndpoint(failFirst: 1)
        _ = try? await cache.token(for: a, fetch: endpoint.fetch)
        let token = try await cache.token(for: a, fetch: endpoint.fetch)
        cache.invalidate(a)
        #expect(!logs.lines.isEmpty)
        #expect(logs.lines(containing: token.value.reveal()).isEmpty)
        #expect(!token.description.contains(token.value.reveal()))
        #expect(logs.lines.allSatisfy { $0.metadata["credential.key"] == a.description })
    }
}
