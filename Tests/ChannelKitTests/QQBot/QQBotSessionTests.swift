import Foundation
import Testing
@testable import ChannelKit
@testable import ChannelKitQQBot
import ChannelKitTesting

/// Gateway sessions against the simulator: resume, replay, heartbeats, token refresh.
@Suite struct QQBotSessionTests {
    @Test func resumeAfterOp7LosesAndDuplicatesNothing() async throws {
        let world = try QQBotTestWorld()
        let sim = world.simulator
        let a = await world.connectedAccount("main", appId: "6001")
        let user = sim.userOpenID(appId: "6001", user: "u")
        for i in 0..<3 { sim.injectC2CMessage(appId: "6001", userOpenID: user, text: "before \(i)") }
        #expect(await a.waitForMessages(3))
        let gate = AsyncGate()
        a.rerunGate.set(gate)
        sim.sendReconnect(appId: "6001")
        #expect(await eventually { a.runOutcomes.count == 1 })
        #expect(a.runOutcomes.first.flatMap { try? $0.get() } == .reconnect(after: .zero, reason: "server requested reconnect (op 7)"))
        // Disconnected now: these are kept by the platform and replayed on resume.
        for i in 0..<4 { sim.injectC2CMessage(appId: "6001", userOpenID: user, text: "while away \(i)") }
        gate.open()
        #expect(await a.waitForMessages(7))
        sim.injectC2CMessage(appId: "6001", userOpenID: user, text: "after")
        #expect(await a.waitForMessages(8))
        #expect(a.recorder.messages.map(\.text) == (0..<3).map { "before \($0)" } + (0..<4).map { "while away \($0)" } + ["after"])
        #expect(a.recorder.rawDeliveries.count == 8, "nothing delivered twice by the adapter")
        #expect(sim.identifyCount(appId: "6001") == 1)
        #expect(sim.resumeCount(appId: "6001") == 1)
        #expect(a.recorder.connectedCount == 2)
        await world.shutdown(a)
    }

    @Test func resumeAfter4009ReplaysWhatWasMissed() async throws {
        let world = try QQBotTestWorld()
        let sim = world.simulator
        let a = await world.connectedAccount("main", appId: "6002")
        let user = sim.userOpenID(appId: "6002", user: "u")
        sim.injectC2CMessage(appId: "6002", userOpenID: user, text: "one")
        #expect(await a.waitForMessages(1))
        let gate = AsyncGate()
        a.rerunGate.set(gate)
        sim.close(appId: "6002", code: 4009, reason: "session timed out")
        #expect(await eventually { a.runOutcomes.count == 1 })
        guard case .success(.reconnect(after: .zero, _)) = a.runOutcomes.first else {
            Issue.record("4009 must resume at once: \(a.runOutcomes)")
            return
        }
        sim.injectC2CMessage(appId: "6002", userOpenID: user, text: "two")
        sim.injectC2CMessage(appId: "6002", userOpenID: user, text: "three")
        gate.open()
        #expect(await a.waitForMessages(3))
        #expect(a.recorder.messages.map(\.text) == ["one", "two", "three"])
        #expect(a.recorder.rawDeliveries.count == 3)
        #expect(sim.resumeCount(appId: "6002") == 1 && sim.identifyCount(appId: "6002") == 1)
        await world.shutdown(a)
    }

    @Test func aDroppedConnectionResumes() async throws {
        let world = try QQBotTestWorld()
        let sim = world.simulator
        let a = await world.connectedAccount("main", appId: "6003")
        sim.dropConnections(appId: "6003")
        #expect(await eventually { sim.resumeCount(appId: "6003") == 1 })
        guard case .success(.reconnect(after: nil, _)) = a.runOutcomes.first else {
            Issue.record("a drop backs off, then resumes: \(a.runOutcomes)")
            return
        }
        let user = sim.userOpenID(appId: "6003", user: "u")
        sim.injectC2CMessage(appId: "6003", userOpenID: user, text: "after drop")
        #expect(await a.waitForMessages(1))
        await world.shutdown(a)
    }

    /// A half-open socket (no ACKs, no close) is noticed by the missed-ACK rule and resumed.
    @Test func missedHeartbeatAcksReconnectAndResume() async throws {
        let world = try QQBotTestWorld()
        let sim = world.simulator
        let a = await world.connectedAccount("main", appId: "6011")
        sim.acknowledgeHeartbeats(appId: "6011", false)
        for n in 1...2 {
            await world.clock.advance(by: .milliseconds(41_250))
            #expect(await eventually { sim.heartbeatCount(appId: "6011") == n })
        }
        sim.acknowledgeHeartbeats(appId: "6011", true)
        await world.clock.advance(by: .milliseconds(41_250))
        #expect(await eventually { sim.resumeCount(appId: "6011") == 1 })
        guard case .success(.reconnect(after: .zero, let reason)) = a.runOutcomes.first else {
            Issue.record("\(a.runOutcomes)")
            return
        }
        #expect(reason.contains("not acknowledged"))
        await world.shutdown(a)
    }

    @Test func duplicatePushesCarryTheSameDedupKey() async throws {
        let world = try QQBotTestWorld()
        let sim = world.simulator
        let a = await world.connectedAccount("main", appId: "6004")
        let user = sim.userOpenID(appId: "6004", user: "u")
        let id = sim.injectC2CMessage(appId: "6004", userOpenID: user, text: "once")
        sim.duplicateLastPush(appId: "6004")
        sim.injectC2CMessage(appId: "6004", userOpenID: user, text: "next")
        #expect(await a.waitForMessages(2))
        #expect(await eventually { a.recorder.rawDeliveries.count == 3 })
        #expect(a.recorder.rawDeliveries == [id, id, a.recorder.messages[1].origin.messageID])
        #expect(a.recorder.messages.map(\.text) == ["once", "next"], "the gateway's dedup on d.id delivers it once")
        await world.shutdown(a)
    }

    @Test func invalidSessionNotResumableIdentifiesAgain() async throws {
        let world = try QQBotTestWorld()
        let sim = world.simulator
        let a = await world.connectedAccount("main", appId: "6005")
        let before = try #require(a.connection.session)
        sim.sendInvalidSession(appId: "6005", canResume: false)
        #expect(await eventually { sim.identifyCount(appId: "6005") == 2 && a.connection.session != nil && a.connection.session != before })
        #expect(sim.resumeCount(appId: "6005") == 0)
        await world.shutdown(a)
    }

    @Test func close4004RefreshesTheTokenAndIdentifies() async throws {
        let world = try QQBotTestWorld()
        let sim = world.simulator
        let a = await world.connectedAccount("main", appId: "6006")
        let first = sim.currentToken(appId: "6006")
        sim.expireToken(appId: "6006")
        sim.close(appId: "6006", code: 4004, reason: "authentication failed")
        #expect(await eventually { sim.identifyCount(appId: "6006") == 2 && sim.isConnected(appId: "6006") })
        #expect(sim.currentToken(appId: "6006") != first)
        #expect(sim.tokenFetchCount(appId: "6006") == 2)
        await world.shutdown(a)
    }

    @Test func heartbeatsFollowTheServerIntervalInVirtualTime() async throws {
        let world = try QQBotTestWorld()
        let sim = world.simulator
        let a = await world.connectedAccount("main", appId: "6007")
        #expect(sim.heartbeatCount(appId: "6007") == 0)
        for n in 1...3 {
            await world.clock.advance(by: .milliseconds(41_250))
            #expect(await eventually { sim.heartbeatCount(appId: "6007") == n })
        }
        #expect(a.runOutcomes.isEmpty, "acknowledged heartbeats keep the session")
        let activity = try #require(a.context.events.lastActivity)
        #expect(activity >= world.clock.wallStart)
        await world.shutdown(a)
    }

    @Test func cancellationClosesTheSocketPromptly() async throws {
        let world = try QQBotTestWorld()
        let sim = world.simulator
        let a = await world.connectedAccount("main", appId: "6008")
        await a.stop()
        #expect(await eventually { !sim.isConnected(appId: "6008") })
        #expect(world.clock.sleeperCount == 0, "no heartbeat or hello timer outlives run()")
        await world.shutdown()
    }

    @Test func rejectedCredentialsFailTheAccount() async throws {
        let world = try QQBotTestWorld()
        world.simulator.addBot(appId: "6009", clientSecret: "right")
        let a = world.account("main", appId: "6009", secret: "wrong")
        a.start()
        #expect(await eventually { !a.runOutcomes.isEmpty })
        guard case .success(.failed(let reason)) = a.runOutcomes.first else {
            Issue.record("\(a.runOutcomes)")
            return
        }
        #expect(reason.contains("100016"))
        #expect(a.recorder.errors.first?.code == .unauthorized)
        await world.shutdown(a)
    }

    @Test func probeChecksTokenIdentityAndGateway() async throws {
        let world = try QQBotTestWorld()
        let bot = world.simulator.addBot(appId: "6010", clientSecret: "s")
        let good = world.account("good", appId: "6010", secret: "s")
        let probe = await good.connection.probe()
        #expect(probe.isOK, "\(probe.problems)")
        #expect(probe.identity?.id == bot.userID)
        #expect(try await good.connection.discoverIdentity()?.name == bot.username)
        world.simulator.addBot(appId: "6011", clientSecret: "s")
        let bad = await world.account("bad", appId: "6011", secret: "nope").connection.probe()
        #expect(bad.tokenOK == false && !bad.isOK)
        #expect(bad.problems.allSatisfy { !$0.contains("nope") })
        await world.shutdown()
    }
}

/// Rules about when the seq moves and how tokens age, with the runtime's pieces in view.
@Suite struct QQBotSessionDetailTests {
    /// The bug class "seq committed before the handler": while `deliver` has not
    /// returned, a heartbeat or resume must still carry the previous seq.
    @Test func seqAdvancesOnlyAfterDeliverReturns() async throws {
        let world = try QQBotTestWorld()
        let sim = world.simulator
        sim.addBot(appId: "9001", clientSecret: "s")
        let gate = AsyncGate()
        let delivered = TestRecorder<String>()
        let sink = AccountEventSink { event in
            if case .message(let m) = event {
                await gate.wait()
                delivered.record(m.origin.messageID)
            }
            return true
        }
        let key = AccountKey(.qqbot, "main")
        let settings = QQBotAccountSettings(appId: "9001", clientSecret: Secret("s"), apiBaseURL: sim.apiBaseURL, tokenURL: sim.tokenURL)
        let context = AccountContext(account: key, time: world.clock.timeSource, logger: .disabled, store: InMemoryStateStore(),
                                     http: URLSessionHTTPTransport(), webSocket: makeDefaultWebSocketTransport(), tokenCache: world.cache, events: sink)
        let connection = QQBotConnection(settings: settings, context: context)
        let run = Task { try await connection.run() }
        await sim.waitUntilConnected(appId: "9001")
        #expect(await eventually { connection.session?.seq == 1 })
        sim.injectC2CMessage(appId: "9001", userOpenID: sim.userOpenID(appId: "9001", user: "u"), text: "slow")
        #expect(await gate.waitForWaiters(1))
        #expect(connection.session?.seq == 1, "the event is not handled yet")
        gate.open()
        #expect(await eventually { connection.session?.seq == 2 })
        #expect(delivered.count == 1)
        run.cancel()
        _ = await run.result
        await sim.shutdown()
    }

    @Test func close4008WaitsBeforeReconnecting() async throws {
        let world = try QQBotTestWorld()
        let sim = world.simulator
        let a = await world.connectedAccount("main", appId: "9002")
        a.rerunGate.set(AsyncGate())
        sim.close(appId: "9002", code: 4008, reason: "too fast")
        #expect(await eventually { !a.runOutcomes.isEmpty })
        #expect(a.runOutcomes.first.flatMap { try? $0.get() } == .reconnect(after: .seconds(60), reason: "gateway closed with 4008 (sending too fast): too fast"))
        a.rerunGate.gate?.open()
        await world.shutdown(a)
    }

    @Test func numericExpiresInIsAccepted() async throws {
        let world = try QQBotTestWorld(simulator: .init(expiresInAsString: false))
        let a = await world.connectedAccount("main", appId: "9003")
        #expect(world.simulator.isConnected(appId: "9003"))
        #expect(world.cache.status(CredentialKey(.qqbot, "9003")) == .valid(expiresAt: world.clock.wallStart.addingTimeInterval(7200)))
        await world.shutdown(a)
    }

    /// Refresh ahead of expiry: near the end of its life the token is replaced (inside the
    /// platform's 60 s rotation window) and the old one is never sent after it expired.
    @Test func tokenIsRefreshedAheadOfExpiry() async throws {
        let world = try QQBotTestWorld()
        let sim = world.simulator
        sim.addBot(appId: "9004", clientSecret: "s")
        let a = world.account("main", appId: "9004", secret: "s")
        let user = sim.userOpenID(appId: "9004", user: "u")
        sim.injectC2CMessage(appId: "9004", userOpenID: user, text: "x")   // makes the user a peer of the bot
        let target = DeliveryTarget(peer: Peer(.direct, user))
        _ = try await a.connection.send(.text("early"), to: target)
        let first = sim.currentToken(appId: "9004")
        let key = CredentialKey(.qqbot, "9004")
        // 7130 s: inside the cache's refresh lead (60 s + jitter); the platform still has
        // 70 s left, so it answers the same token; 7170 s: inside its 60 s rotation window,
        // so a new one; 7230 s: the old token has expired and must not be used.
        for step in [7130, 40, 60] {
            await world.clock.advance(by: .seconds(step))
            _ = try await a.connection.send(.text("at +\(step)"), to: target)
            #expect(await eventually { if case .refreshing = world.cache.status(key) { false } else { true } })
        }
        let sends = sim.allSends
        #expect(sends.filter { !$0.accepted }.isEmpty, "\(sends.filter { !$0.accepted })")
        #expect(sim.currentToken(appId: "9004") != first, "a new token was minted before the old one expired")
        #expect(sends.last?.token == sim.currentToken(appId: "9004"))
        #expect(sim.tokenFetchCount(appId: "9004") == 3)
        await world.shutdown()
    }
}

@Suite struct QQBotConnectionGuardTests {
    @Test func simulatorTimestampsAreBeijingTimeAndDecodeToTheVirtualClock() async throws {
        // 23:59:58 in Beijing (15:59:58 UTC), then just past midnight: a 3 s step, not a
        // 16 h jump of the virtual clock under a live session (which fired hundreds of
        // heartbeats at once, and once raced their acks into a reconnect).
        let world = try QQBotTestWorld(wallStart: Date(timeIntervalSince1970: 1_767_225_600 + 16 * 3600 - 2))
        let a = await world.connectedAccount("main", appId: "9104")
        for step in [0, 3] {
            await world.clock.advance(by: .seconds(step))
            let expected = world.clock.wallNow
            world.simulator.injectC2CMessage(appId: "9104", userOpenID: world.simulator.userOpenID(appId: "9104", user: "t"), text: "t\(step)")
            #expect(await a.waitForMessages(a.recorder.messages.count + 1))
            let stamp = try #require(a.recorder.messages.last?.timestamp)
            #expect(abs(stamp.timeIntervalSince(expected)) < 1, "\(stamp) vs \(expected)")
        }
        await world.shutdown(a)
    }

    @Test func runCannotOverlapItself() async throws {
        let world = try QQBotTestWorld()
        let a = await world.connectedAccount("main", appId: "9101")
        await #expect(throws: ChannelError.self) { try await a.connection.run() }
        #expect(a.runOutcomes.isEmpty, "the running session is untouched")
        await world.shutdown(a)
    }

    @Test func simulatorAccountConfigParses() async throws {
        let world = try QQBotTestWorld()
        let bot = world.simulator.addBot(appId: "9102", clientSecret: "s")
        let config = ConfigObject(world.simulator.accountConfig(for: bot), path: "$.channels.qqbot.accounts.sim")
        let settings = try #require(QQBotAdapter().parseAccount(config) as? QQBotAccountSettings)
        #expect(config.issues.isEmpty)
        #expect(settings.apiBaseURL == world.simulator.apiBaseURL && settings.tokenURL == world.simulator.tokenURL)
        await world.shutdown()
    }

    @Test func intentsTheBotMayNotUseStopTheAccount() async throws {
        let world = try QQBotTestWorld()
        world.simulator.addBot(appId: "9103", clientSecret: "s", permittedIntents: 1 << 25)
        let a = world.account("main", appId: "9103", secret: "s")
        a.start()
        #expect(await eventually { !a.runOutcomes.isEmpty })
        guard case .success(.failed(let reason)) = a.runOutcomes.first else {
            Issue.record("\(a.runOutcomes)")
            return
        }
        #expect(reason.contains("4014"))
        await world.shutdown(a)
    }
}
