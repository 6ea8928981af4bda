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
