import Foundation
import Synchronization
import Testing
@testable import ChannelKit
@testable import ChannelKitFeishu
import ChannelKitTesting

/// Seed 003 (openclaw #77717): the bot-info probe racing a stop (config-reload abort) and
/// a restart must never leave the live lifecycle without a recovery path. Driven through
/// the real gateway and the Feishu connection against the simulator, in virtual time,
/// across the orderings of probe completion, abort and restart.
@Suite struct FeishuIdentityRaceTests {
    /// One gateway with one Feishu account on the simulator, and its event stream.
    final class Harness: Sendable {
        let clock = TestClock()
        let sim: FeishuSimulator
        let app: FeishuSimulator.App
        let gateway: ChannelGateway
        let key = AccountKey(.feishu, "main")
        let messages = TestRecorder<InboundMessage>()
        let collector: Task<Void, Never>

        init() throws {
            sim = try FeishuSimulator(configuration: .init(time: clock.timeSource))
            app = sim.addApp(appId: "cli_race", appSecret: "race-secret")
            gateway = ChannelGateway(adapters: [FeishuAdapter(configuration: .init(random: { 0 }))],
                                     configuration: ChannelGateway.Configuration(time: clock.timeSource, dedupFlushDelay: .zero))
            let gateway = self.gateway
            let messages = self.messages
            collector = Task {
                for await event in gateway.events { if case .message(let m) = event { messages.record(m) } }
            }
        }

        var settings: FeishuAccountSettings {
            FeishuAccountSettings(appId: app.appId, appSecret: Secret(app.appSecret), baseURL: sim.baseURL)
        }

        func status() async -> AccountStatus? { await gateway.status(of: key) }

        func waitForProbes(_ count: Int) async -> Bool {
            await eventually("\(count) bot-info calls") { self.sim.botInfoCallCount(appId: self.app.appId) >= count }
        }

        func waitUntilSocket() async {
            await sim.waitUntilConnected(appId: app.appId)
        }

        /// The account ends connected with the right identity, and a group message that
        /// mentions the bot is delivered.
        func expectRecovered(_ label: String, sourceLocation: SourceLocation = #_sourceLocation) async {
            let recovered = await eventually { () async -> Bool in
                let s = await self.status()
                return s?.state == .connected && s?.identity?.id == self.app.botOpenID
            }
            let final = await status()
            #expect(recovered, "\(label): \(String(describing: final))", sourceLocation: sourceLocation)
            await waitUntilSocket()
            let id = sim.injectGroupMessage(appId: app.appId, group: "ops", user: "bob", text: "are you there")
            #expect(await eventually("the mention delivered") { self.messages.all.contains { $0.origin.messageID == id } }, sourceLocation: sourceLocation)
        }

        func expectDegraded(_ label: String, sourceLocation: SourceLocation = #_sourceLocation) async {
            let degraded = await eventually { () async -> Bool in
                if case .degraded = await self.status()?.state { return true }
                return false
            }
            #expect(degraded, "\(label): never reported healthy while the identity is unknown", sourceLocation: sourceLocation)
            let identity = await status()?.identity
            #expect(identity == nil, sourceLocation: sourceLocation)
        }

        func shutdown() async {
            await gateway.shutdown()
            collector.cancel()
            await sim.shutdown()
        }
    }

    enum Ordering: String, CaseIterable, Sendable {
        /// The probe fails before the abort; the account is stopped and started again.
        case probeFailsThenAbortThenRestart
        /// The seed: the probe is in flight at the abort and fails after it, before the
        /// restart.
        case abortThenProbeFailsThenRestart
        /// The probe is in flight at the abort and succeeds after it, before the restart.
        case abortThenProbeSucceedsThenRestart
        /// The old probe fails only after the new lifecycle started (whose own probe
        /// then succeeds).
        case abortRestartThenOldProbeFails
        /// The new lifecycle's probe fails first; the old one succeeds late (and must not
        /// be taken for the new lifecycle's); the new lifecycle recovers by retrying.
        case abortRestartNewProbeFailsOldSucceedsLate
        /// A config reload (changed settings) while the probe is in flight.
        case reloadWhileProbeInFlight
    }

    @Test(arguments: Ordering.allCases)
    func identityAlwaysRecovers(_ ordering: Ordering) async throws {
        let h = try Harness()
        let sim = h.sim, appId = h.app.appId
        switch ordering {
        case .probeFailsThenAbortThenRestart:
            sim.failBotInfo(appId: appId, times: 1)
            try await h.gateway.add(h.key, settings: h.settings)
            #expect(await h.waitForProbes(1))
            await h.expectDegraded("after the failed probe")
            await h.gateway.stop(h.key)
            try await h.gateway.start(h.key)
        case .abortThenProbeFailsThenRestart, .abortThenProbeSucceedsThenRestart:
            let held = sim.holdBotInfo(appId: appId)
            try await h.gateway.add(h.key, settings: h.settings)
            #expect(await held.waitForWaiters(1))
            await h.expectDegraded("while the probe is in flight")
            await h.gateway.stop(h.key)
            if ordering == .abortThenProbeFailsThenRestart { sim.failBotInfo(appId: appId, times: 1) }
            sim.releaseBotInfoHold(appId: appId)
            held.open()
            await TestClock.settle()
            try await h.gateway.start(h.key)
        case .abortRestartThenOldProbeFails:
            let old = sim.holdBotInfo(appId: appId)
            try await h.gateway.add(h.key, settings: h.settings)
            #expect(await old.waitForWaiters(1))
            let new = sim.holdBotInfo(appId: appId)
            try await h.gateway.restart(h.key)
            #expect(await new.waitForWaiters(1))
            sim.failBotInfo(appId: appId, times: 1)
            old.open()
            await TestClock.settle()
            sim.releaseBotInfoHold(appId: appId)
            new.open()
        case .abortRestartNewProbeFailsOldSucceedsLate:
            let old = sim.holdBotInfo(appId: appId)
            try await h.gateway.add(h.key, settings: h.settings)
            #expect(await old.waitForWaiters(1))
            let new = sim.holdBotInfo(appId: appId)
            try await h.gateway.restart(h.key)
            #expect(await new.waitForWaiters(1))
            sim.releaseBotInfoHold(appId: appId)
            sim.failBotInfo(appId: appId, times: 1)
            new.open()
            #expect(await h.waitForProbes(2))
            await h.expectDegraded("after the new lifecycle's probe failed")
            old.open()
            await TestClock.settle()
            await h.expectDegraded("a stale lifecycle's late answer is not the live one's")
            let calls = sim.botInfoCallCount(appId: appId)
            // The live lifecycle's own retry schedule (5 s ± 20 %) brings it back.
            await h.clock.advance(by: .seconds(7))
            #expect(await eventually("a retry") { sim.botInfoCallCount(appId: appId) > calls })
        case .reloadWhileProbeInFlight:
            let held = sim.holdBotInfo(appId: appId)
            _ = await h.gateway.apply(GatewaySettings(channels: [.feishu: ChannelSettings(accounts: [(h.key.account, h.settings)], healthCheckInterval: nil)]))
            #expect(await held.waitForWaiters(1))
            // The reload changes the account (a trailing slash on the base URL), so it restarts.
            let reloaded = FeishuAccountSettings(appId: h.app.appId, appSecret: Secret(h.app.appSecret), baseURL: URL(string: h.sim.baseURL.absoluteString + "/")!)
            sim.failBotInfo(appId: appId, times: 1)
            sim.releaseBotInfoHold(appId: appId)
            let report = await h.gateway.apply(GatewaySettings(channels: [.feishu: ChannelSettings(accounts: [(h.key.account, reloaded)], healthCheckInterval: nil)]))
            #expect(report.restarted == [h.key])
            held.open()
        }
        await h.expectRecovered(ordering.rawValue)
        await h.shutdown()
    }

    @Test func identityUnavailableForAWhileRecoversOnTheRetrySchedule() async throws {
        let h = try Harness()
        h.sim.failBotInfo(appId: h.app.appId, for: .seconds(60))
        try await h.gateway.add(h.key, settings: h.settings)
        #expect(await h.waitForProbes(1))
        await h.expectDegraded("while bot info fails")
        for _ in 0..<200 where await h.status()?.identity == nil {
            await h.clock.advance(by: .seconds(5))
            await TestClock.settle(turns: 2_000)
        }
        #expect(h.clock.now.offset >= .seconds(60), "not before the outage ended")
        await h.expectRecovered("after a 60 s bot-info outage")
        await h.shutdown()
    }

    @Test func identityRetriesOutliveDroppedSockets() async throws {
        let h = try Harness()
        let sim = h.sim, appId = h.app.appId
        sim.failBotInfo(appId: appId, times: 4)
        try await h.gateway.add(h.key, settings: h.settings)
        #expect(await h.waitForProbes(1))
        for round in 0..<4 {
            await h.waitUntilSocket()
            sim.dropConnections(appId: appId)
            await h.clock.advance(by: .seconds(40 * (round + 1)))
        }
        // Keep time moving (the retries wait 5, 10, 20, 40 s ± 20 % between real
        // loopback round trips) until the fifth probe went out.
        for _ in 0..<200 where sim.botInfoCallCount(appId: appId) < 5 {
            await h.clock.advance(by: .seconds(5))
            await TestClock.settle(turns: 2_000)
        }
        #expect(sim.botInfoCallCount(appId: appId) >= 5)
        await h.expectRecovered("after four failed probes and four dropped sockets")
        await h.shutdown()
    }
}
