import Foundation
import Testing
@testable import ChannelKit
@testable import ChannelKitClawChat
import ChannelKitTesting

/// Rotating tokens end to end: the core RefreshCoordinator wired to ClawChat's refresh
/// endpoint, hello-fail, REST 401s, the proactive timer and the store.
@Suite("ClawChat tokens", .serialized, .timeLimit(.minutes(1)))
struct ClawChatTokenTests {
    let key = AccountKey(.clawchat, "main")

    @Test func onlyExactlyAuthenticationFailedTriggersARefresh() async throws {
        let h = try ClawChatHarness()
        let agent = h.simulator.addAccount(userID: "usr_agent")
        h.simulator.failNextHellos(userID: "usr_agent", reasons: [
            "remote auth service unavailable", "nonce mismatch", "Authentication failed", "authentication failed ", "invalid connect frame",
        ])
        let events = ClawChatEventLog()
        let connection = try h.connection("main", settings: h.settings(agent), events: events)
        let runner = ClawChatRunner(connection, clock: h.clock)
        await eventually("connected after five hello-fails") { events.states.all.contains(.connected) }
        #expect(runner.outcomes.count == 5)
        #expect(runner.outcomes.all.allSatisfy { $0.after == .some(nil) })
        #expect(h.simulator.refreshRequestCount(userID: "usr_agent") == 0)
        #expect(Set(h.simulator.connects(userID: "usr_agent").map(\.token)) == [agent.accessToken])

        // The exact reason: one refresh, then an immediate reconnect with the new token.
        h.simulator.expireAccessToken(userID: "usr_agent")
        h.simulator.dropConnections(userID: "usr_agent")
        await eventually("reconnected with a new token") {
            h.simulator.connects(userID: "usr_agent").last.map { $0.result == "hello-ok" && $0.token != agent.accessToken } ?? false
        }
        #expect(h.simulator.refreshRequestCount(userID: "usr_agent") == 1)
        let refresh = try #require(h.simulator.refreshRequests.first)
        #expect(!refresh.hadAuthorization)
        #expect(refresh.deviceID == agent.deviceID)
        #expect(refresh.refreshToken == agent.refreshToken)
        #expect(runner.outcomes.all.contains { $0.after == .some(.zero) })
        let stored = try await RefreshCoordinator.loadStoredCredentials(account: key, store: connection.context.store)
        #expect(stored?.accessToken.reveal() == h.simulator.account("usr_agent")?.accessToken)
        #expect(stored?.refreshToken.reveal() == h.simulator.account("usr_agent")?.refreshToken)
        await runner.stop()
        await h.shutdown()
    }

    @Test func fiftyConcurrentTriggersMakeOneRefreshRequest() async throws {
        let h = try ClawChatHarness()
        let agent = h.simulator.addAccount(userID: "usr_agent")
        let events = ClawChatEventLog()
        // No userId and an opaque-to-REST path: probe() goes through GET /v1/users/me.
        let connection = try h.connection("main", settings: h.settings(agent), events: events)
        let runner = ClawChatRunner(connection, clock: h.clock)
        await eventually("connected") { events.states.all.contains(.connected) }

        h.simulator.expireAccessToken(userID: "usr_agent")
        h.simulator.holdRefreshes()
        // 1: the proactive timer (exp − 2 h for a 24 h token).
        await h.clock.waitForSleepers(2)   // the session's watchdog tick and its proactive refresh
        await h.clock.advance(by: .seconds(22 * 3600))
        await eventually("proactive refresh held") { h.simulator.heldRefreshCount == 1 }
        // 2: hello-fail "authentication failed" on the reconnect.
        h.simulator.dropConnections(userID: "usr_agent")
        // 3–50: REST 401s.
        let probes = Task {
            await withTaskGroup(of: AccountProbe.self) { group in
                for _ in 0..<48 { group.addTask { await connection.probe() } }
                var all: [AccountProbe] = []
                for await probe in group { all.append(probe) }
                return all
            }
        }
        await eventually("49 joined the attempt in flight") {
            h.logs.lines.filter { $0.message.contains("refresh joined the attempt in flight") }.count >= 49
        }
        #expect(h.simulator.refreshRequests.count == 1)
        h.simulator.releaseRefreshes()
        let results = await probes.value
        #expect(results.count == 48)
        #expect(results.allSatisfy { $0.tokenOK == true && $0.identity?.id == "usr_agent" })
        await eventually("reconnected with the new token") {
            h.simulator.connects(userID: "usr_agent").last.map { $0.result == "hello-ok" && $0.token != agent.accessToken } ?? false
        }
        #expect(h.simulator.refreshRequestCount(userID: "usr_agent") == 1)
        await runner.stop()
        await h.shutdown()
    }

    @Test func startupRefreshesFirstWhenTheTokenIsAlreadyDue() async throws {
        let h = try ClawChatHarness()
        let now = h.clock.wallNow
        let dueToken = TestJWT.make(issuedAt: now.addingTimeInterval(-86_000), expiresAt: now.addingTimeInterval(400),
                                    extra: ["sub": "usr_agent", "did": "dev-usr_agent"])
        let agent = h.simulator.addAccount(userID: "usr_agent", accessToken: dueToken)
        let events = ClawChatEventLog()
        let connection = try h.connection("main", settings: h.settings(agent), events: events)
        let runner = ClawChatRunner(connection, clock: h.clock)
        await eventually("connected") { events.states.all.contains(.connected) }
        #expect(h.simulator.refreshRequestCount(userID: "usr_agent") == 1)
        let connects = h.simulator.connects(userID: "usr_agent")
        #expect(connects.count == 1)
        #expect(connects.first?.token != dueToken)   // the very first connect already used the new token
        await runner.stop()
        await h.shutdown()
    }

    @Test func proactiveRotationPersistsThenReconnectsWithTheNewToken() async throws {
        let h = try ClawChatHarness()
        let agent = h.simulator.addAccount(userID: "usr_agent")
        let events = ClawChatEventLog()
        let store = InMemoryStateStore()
        let connection = try h.connection("main", settings: h.settings(agent), store: store, events: events)
        let runner = ClawChatRunner(connection, clock: h.clock)
        await eventually("connected") { events.states.all.contains(.connected) }
        await h.clock.waitForSleepers(2)
        await h.clock.advance(by: .seconds(22 * 3600 - 60))
        #expect(h.simulator.refreshRequestCount(userID: "usr_agent") == 0)
        await h.clock.advance(by: .seconds(60))
        await eventually("second session") { h.simulator.connects(userID: "usr_agent").filter { $0.result == "hello-ok" }.count == 2 }
        let rotated = try #require(h.simulator.account("usr_agent"))
        #expect(h.simulator.connects(userID: "usr_agent").last?.token == rotated.accessToken)
        let stored = try await RefreshCoordinator.loadStoredCredentials(account: key, store: store)
        #expect(stored?.refreshToken.reveal() == rotated.refreshToken)
        #expect(runner.outcomes.all.first?.after == .some(.zero))
        #expect(h.simulator.refreshRequestCount(userID: "usr_agent") == 1)
        await runner.stop()
        await h.shutdown()
    }

    @Test func restUnauthorizedRefreshesOnceAndRetries() async throws {
        let h = try ClawChatHarness()
        let agent = h.simulator.addAccount(userID: "usr_agent")
        let connection = try h.connection("main", settings: h.settings(agent))
        h.simulator.expireAccessToken(userID: "usr_agent")
        let probe = await connection.probe()
        #expect(probe.tokenOK == true)
        #expect(probe.identity?.id == "usr_agent")
        #expect(probe.gatewayReachable == true)
        #expect(h.simulator.refreshRequestCount(userID: "usr_agent") == 1)
        let again = await connection.probe()
        #expect(again.isOK)
        #expect(h.simulator.refreshRequestCount(userID: "usr_agent") == 1)
        await connection.shutdown()
        await h.shutdown()
    }

    @Test func aRotationCausedByARESTCallReconnectsTheSocketWithTheNewToken() async throws {
        let h = try ClawChatHarness()
        let agent = h.simulator.addAccount(userID: "usr_agent")
        let events = ClawChatEventLog()
        let connection = try h.connection("main", settings: h.settings(agent), events: events)
        let runner = ClawChatRunner(connection, clock: h.clock)
        await eventually("connected") { h.simulator.liveSessionCount(userID: "usr_agent") == 1 }
        h.simulator.expireAccessToken(userID: "usr_agent")
        #expect(try await connection.fetchOwnUser().id == "usr_agent")
        await eventually("reconnected with the new token") {
            h.simulator.connects(userID: "usr_agent").count == 2 && h.simulator.liveSessionCount(userID: "usr_agent") == 1
        }
        #expect(h.simulator.connects(userID: "usr_agent").last?.token == h.simulator.account("usr_agent")?.accessToken)
        #expect(runner.outcomes.all.first?.after == .some(.zero))
        #expect(h.simulator.refreshRequestCount(userID: "usr_agent") == 1)
        await runner.stop()
        await h.shutdown()
    }

    @Test func permanentFailureBlanksTheTokensStopsAndIsNeverRetriedUntilTheTokensChange() async throws {
        let h = try ClawChatHarness()
        let agent = h.simulator.addAccount(userID: "usr_agent")
        let events = ClawChatEventLog()
        let store = InMemoryStateStore()
        let settings = h.settings(agent)
        let connection = try h.connection("main", settings: settings, store: store, events: events)
        let runner = ClawChatRunner(connection, clock: h.clock)
        await eventually("connected") { events.states.all.contains(.connected) }
        h.simulator.revokeRefreshToken(userID: "usr_agent")
        h.simulator.expireAccessToken(userID: "usr_agent")
        h.simulator.dropConnections(userID: "usr_agent")
        await eventually("failed") { runner.finished }
        guard case .failed(let reason)? = runner.outcomes.all.last else { Issue.record("not failed"); return }
        #expect(reason.contains("re-activation required"))
        #expect(events.errors.all.contains { $0.code == .refreshPermanent && $0.platformCode == 10003 })
        let blank = try await RefreshCoordinator.loadStoredCredentials(account: key, store: store)
        #expect(blank?.accessToken.isEmpty == true && blank?.refreshToken.isEmpty == true)
        let record = try await store.load(ClawChatDeviceRecord.self, for: StateKey(key, "device"))
        #expect(record?.restDeviceID == agent.deviceID)   // ids are kept

        // The same connection, and a new one over the same store (a restart): no network.
        let connectsBefore = h.simulator.connects.count
        #expect(try await connection.run().isFailed)
        let restarted = try h.connection("main", settings: settings, store: store)
        #expect(try await restarted.run().isFailed)
        #expect(await channelError { try await restarted.send(.text("x"), to: DeliveryTarget(peer: Peer(.direct, "cnv_01JZ0000000000000000000000"))) }?.code == .refreshPermanent)
        #expect(h.simulator.connects.count == connectsBefore)
        #expect(h.simulator.refreshRequests.count == 1)   // the revoked token was tried once, never again
        #expect(h.simulator.refreshRequests.first?.code == 10003)

        // Re-activation: new tokens in the configuration replace the blank pair.
        let fresh = try #require(h.simulator.reactivate(userID: "usr_agent"))
        let reactivated = try h.connection("main", settings: h.settings(fresh), store: store, events: events)
        let runner2 = ClawChatRunner(reactivated, clock: h.clock)
        await eventually("connected again") { h.simulator.connects(userID: "usr_agent").last?.token == fresh.accessToken && h.simulator.liveSessionCount(userID: "usr_agent") == 1 }
        await runner.stop()
        await runner2.stop()
        await h.shutdown()
    }

    @Test func aRefreshWhosePersistenceFailsKeepsTheOldPairInUseAndOnDisk() async throws {
        var simulatorConfiguration = ClawChatSimulator.Configuration(handshakeTimeout: nil)
        simulatorConfiguration.refreshReplayGrace = (count: 2, window: .seconds(90))
        let h = try ClawChatHarness(simulator: simulatorConfiguration)
        let agent = h.simulator.addAccount(userID: "usr_agent")
        let events = ClawChatEventLog()
        let store = InMemoryStateStore()
        let connection = try h.connection("main", settings: h.settings(agent), store: store, events: events)
        // Bootstrap (the seed save) before the failure is armed.
        _ = try await connection.discoverIdentity()
        await store.failNextSaves(1)
        h.simulator.expireAccessToken(userID: "usr_agent")
        let runner = ClawChatRunner(connection, clock: h.clock, maximumRuns: 1_000_000)
        await eventually("first refresh attempted") { runner.outcomes.count >= 1 }
        #expect(h.simulator.refreshRequestCount(userID: "usr_agent") == 1)
        let boot = try await connection.bootstrap()
        #expect(await boot.coordinator.credentials.refreshToken.reveal() == agent.refreshToken)   // old pair in use
        let onDisk = try await RefreshCoordinator.loadStoredCredentials(account: key, store: store)
        #expect(onDisk?.refreshToken.reveal() == agent.refreshToken)                         // old pair on disk
        #expect(h.logs.lines.contains { $0.message.contains("could not be stored") })
        // Reconnects inside the minimum interval do not refresh again.
        await eventually("several reconnects") { runner.outcomes.count >= 3 }
        #expect(h.simulator.refreshRequestCount(userID: "usr_agent") == 1)
        // After it, the old refresh token is replayed within the server's grace and works.
        await h.clock.advance(by: .seconds(30))
        await eventually("connected") { events.states.all.contains(.connected) }
        #expect(h.simulator.refreshRequestCount(userID: "usr_agent") == 2)
        let stored = try await RefreshCoordinator.loadStoredCredentials(account: key, store: store)
        #expect(stored?.refreshToken.reveal() == h.simulator.account("usr_agent")?.refreshToken)
        await runner.stop()
        await h.shutdown()
    }

    @Test func aProcessKilledBetweenPersistAndSwapRestartsWithTheNewPair() async throws {
        let h = try ClawChatHarness()
        let agent = h.simulator.addAccount(userID: "usr_agent")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ChannelKit-ClawChat-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = FileStateStore(directory: directory)
        // "Process 1": its store persists the rotated pair, then the process dies before
        // the swap (modelled by the save reporting failure after writing).
        let dying = DiesAfterPersistingStore(files, dieOnSaveNumber: 2)   // 1 = seed, 2 = rotated pair
        let first = try h.connection("main", settings: h.settings(agent), store: dying)
        h.simulator.expireAccessToken(userID: "usr_agent")
        #expect(await first.probe().tokenOK != true)
        #expect(h.simulator.refreshRequestCount(userID: "usr_agent") == 1)
        let firstBoot = try await first.bootstrap()
        #expect(await firstBoot.coordinator.credentials.refreshToken.reveal() == agent.refreshToken)   // never swapped
        await first.shutdown()

        // "Process 2" over the same directory: the stored (rotated) pair is used; the
        // spent refresh token is never sent again.
        let events = ClawChatEventLog()
        let second = try h.connection("main", settings: h.settings(agent), store: FileStateStore(directory: directory), events: events)
        let runner = ClawChatRunner(second, clock: h.clock)
        await eventually("connected") { events.states.all.contains(.connected) }
        let rotated = try #require(h.simulator.account("usr_agent"))
        #expect(h.simulator.connects(userID: "usr_agent").first?.token == rotated.accessToken)
        #expect(h.simulator.refreshRequestCount(userID: "usr_agent") == 1)
        await runner.stop()
        await h.shutdown()
    }

    @Test func aReconnectStormDoesNotBecomeARefreshStorm() async throws {
        let h = try ClawChatHarness()
        let agent = h.simulator.addAccount(userID: "usr_agent")
        let store = InMemoryStateStore()
        h.simulator.expireAccessToken(userID: "usr_agent")
        h.simulator.scriptRefreshes(userID: "usr_agent", [.code(1, "internal"), .http(status: 503, body: "busy")])
        let connection = try h.connection("main", settings: h.settings(agent), store: store)
        let runner = ClawChatRunner(connection, clock: h.clock, maximumRuns: 40)
        // Every reconnect hits hello-fail "authentication failed"; within 30 s only one refresh.
        await eventually("forty reconnects") { runner.outcomes.count == 40 }
        #expect(h.simulator.connects(userID: "usr_agent").count == 40)
        #expect(h.simulator.refreshRequestCount(userID: "usr_agent") == 1)
        await runner.stop()

        // The guard survives a new connection for the account (a reload): still one.
        await connection.shutdown()
        let reloaded = try h.connection("main", settings: h.settings(agent), store: store)
        #expect(try await reloaded.run().after == .some(nil))
        #expect(h.simulator.refreshRequestCount(userID: "usr_agent") == 1)
        // After the minimum interval the next attempt goes out (and is transient again).
        await h.clock.advance(by: .seconds(30))
        #expect(try await reloaded.run().after == .some(nil))
        #expect(h.simulator.refreshRequestCount(userID: "usr_agent") == 2)
        // Then it works, and the account connects with the rotated token.
        await h.clock.advance(by: .seconds(30))
        #expect(try await reloaded.run().after == .some(.zero))
        #expect(h.simulator.refreshRequestCount(userID: "usr_agent") == 3)
        await reloaded.shutdown()
        await h.shutdown()
    }

    @Test func twoAccountsNeverExchangeTokensOrDeviceIDs() async throws {
        let h = try ClawChatHarness()
        let a = h.simulator.addAccount(userID: "usr_a")
        let b = h.simulator.addAccount(userID: "usr_b")
        let store = InMemoryStateStore()   // one store for both, as in one gateway
        let eventsA = ClawChatEventLog(), eventsB = ClawChatEventLog()
        let connA = try h.connection("alpha", settings: h.settings(a), store: store, events: eventsA)
        let connB = try h.connection("beta", settings: h.settings(b), store: store, events: eventsB)
        let runA = ClawChatRunner(connA, clock: h.clock), runB = ClawChatRunner(connB, clock: h.clock)
        await eventually("both connected") { eventsA.states.all.contains(.connected) && eventsB.states.all.contains(.connected) }
        // Rotate both, concurrently, twice.
        for _ in 0..<2 {
            h.simulator.expireAccessToken(userID: "usr_a")
            h.simulator.expireAccessToken(userID: "usr_b")
            h.simulator.dropConnections(userID: "usr_a")
            h.simulator.dropConnections(userID: "usr_b")
            let targetA = h.simulator.refreshRequestCount(userID: "usr_a") + 1, targetB = h.simulator.refreshRequestCount(userID: "usr_b") + 1
            await eventually("both rotated") {
                h.simulator.refreshRequestCount(userID: "usr_a") == targetA && h.simulator.refreshRequestCount(userID: "usr_b") == targetB
                    && h.simulator.liveSessionCount(userID: "usr_a") == 1 && h.simulator.liveSessionCount(userID: "usr_b") == 1
            }
            await h.clock.advance(by: .seconds(31))
        }
        let chatA = h.simulator.directChat("usr_a", "usr_alice"), chatB = h.simulator.directChat("usr_b", "usr_bob")
        _ = try await connA.send(.text("from a"), to: DeliveryTarget(peer: Peer(.direct, chatA)))
        _ = try await connB.send(.text("from b"), to: DeliveryTarget(peer: Peer(.direct, chatB)))

        let connects = h.simulator.connects
        #expect(connects.allSatisfy { $0.result == "hello-ok" || $0.result == "authentication failed" })
        let devicesA = Set(connects.filter { $0.userID == "usr_a" }.map(\.deviceID))
        let devicesB = Set(connects.filter { $0.userID == "usr_b" }.map(\.deviceID))
        #expect(devicesA.count == 1 && devicesB.count == 1 && devicesA.isDisjoint(with: devicesB))
        for refresh in h.simulator.refreshRequests {
            #expect(refresh.deviceID == (refresh.userID == "usr_a" ? a.deviceID : b.deviceID))
            #expect(refresh.code == 0)
        }
        #expect(h.simulator.sentMessages(userID: "usr_a").map(\.chatID) == [chatA])
        #expect(h.simulator.sentMessages(userID: "usr_b").map(\.chatID) == [chatB])
        #expect(h.simulator.misroutedCount == 0)
        let storedA = try await RefreshCoordinator.loadStoredCredentials(account: AccountKey(.clawchat, "alpha"), store: store)
        let storedB = try await RefreshCoordinator.loadStoredCredentials(account: AccountKey(.clawchat, "beta"), store: store)
        #expect(storedA?.refreshToken.reveal() == h.simulator.account("usr_a")?.refreshToken)
        #expect(storedB?.refreshToken.reveal() == h.simulator.account("usr_b")?.refreshToken)
        await runA.stop()
        await runB.stop()
        await h.shutdown()
    }

    @Test func aTokenOfAnotherUserIsRefused() async throws {
        let h = try ClawChatHarness()
        let b = h.simulator.addAccount(userID: "usr_b")
        // Account configured as usr_a but given usr_b's token.
        let connection = try h.connection("alpha", settings: h.settings(b, userID: "usr_a"))
        let outcome = try await connection.run()
        guard case .failed(let reason) = outcome else { Issue.record("expected failed, got \(outcome)"); return }
        #expect(reason.contains("another user"))
        #expect(h.simulator.connects.isEmpty)
        await h.shutdown()
    }

    @Test func tokensNeverAppearInLogsErrorsOrOutcomes() async throws {
        let h = try ClawChatHarness()
        let a = try await h.connectedAgent()
        let (agent, events, connection, runner) = (a.account, a.events, a.connection, a.runner)
        // Rotate through hello-fail and a REST 401, send, hit errors, then fail permanently.
        h.simulator.expireAccessToken(userID: "usr_agent")
        h.simulator.dropConnections(userID: "usr_agent")
        await eventually("rotated") { h.simulator.refreshRequestCount(userID: "usr_agent") == 1 && h.simulator.liveSessionCount(userID: "usr_agent") == 1 }
        await h.clock.advance(by: .seconds(31))
        h.simulator.expireAccessToken(userID: "usr_agent")
        _ = await connection.probe()
        let chat = h.simulator.directChat("usr_agent", "usr_alice")
        _ = try await connection.send(.text("hello"), to: DeliveryTarget(peer: Peer(.direct, chat)))
        h.simulator.failNextSends(userID: "usr_agent", code: "bad_request", reason: "nope")
        _ = await channelError { try await connection.send(.text("x"), to: DeliveryTarget(peer: Peer(.direct, chat))) }
        await h.clock.advance(by: .seconds(31))
        h.simulator.revokeRefreshToken(userID: "usr_agent")
        h.simulator.expireAccessToken(userID: "usr_agent")
        h.simulator.dropConnections(userID: "usr_agent")
        await eventually("failed") { runner.finished }

        var secrets = Set(h.simulator.refreshRequests.map(\.refreshToken))
        secrets.formUnion(h.simulator.connects.map(\.token))
        secrets.insert(agent.accessToken)
        if let current = h.simulator.account("usr_agent") { secrets.formUnion([current.accessToken, current.refreshToken]) }
        #expect(secrets.count >= 6)
        let boot = try await connection.bootstrap()
        let pairText = "\(await boot.coordinator.credentials)"
        let texts = h.logs.lines.map(\.description) + events.errors.all.map(\.description)
            + runner.outcomes.all.map { "\($0)" } + ["\(h.settings(agent))", pairText]
        #expect(h.logs.lines.count > 20)
        for secret in secrets where !secret.isEmpty {
            let leaks = texts.filter { $0.contains(secret) }
            #expect(leaks.isEmpty, "a token leaked into: \(leaks.first.map(Redactor.redact) ?? "")")
        }
        await runner.stop()
        await h.shutdown()
    }
}

/// A store that writes the `n`-th credentials save and then throws, like a process
/// killed right after the rotated pair reached the disk and before it was swapped in.
final class DiesAfterPersistingStore: StateStore {
    private let base: any StateStore
    private let dieOn: Int
    private let saves = TestRecorder<String>()

    init(_ base: any StateStore, dieOnSaveNumber: Int) {
        self.base = base
        self.dieOn = dieOnSaveNumber
    }

    func load<T: Decodable & Sendable>(_ type: T.Type, for key: StateKey) async throws -> T? { try await base.load(type, for: key) }
    func save<T: Encodable & Sendable>(_ value: T, for key: StateKey) async throws {
        try await base.save(value, for: key)
        guard key.name == "credentials" else { return }
        saves.record(key.name)
        if saves.count == dieOn { throw ChannelError(.storeIO, "killed after persisting") }
    }
    func remove(_ key: StateKey) async throws { try await base.remove(key) }
    func withExclusiveAccess<T: Sendable>(_ key: StateKey, _ body: @Sendable () async throws -> T) async throws -> T {
        try await base.withExclusiveAccess(key, body)
    }
}
