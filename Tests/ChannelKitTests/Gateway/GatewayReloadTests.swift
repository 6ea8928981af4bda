import ChannelKit
import ChannelKitTesting
import Foundation
import Testing

@Suite("Gateway reload")
struct GatewayReloadTests {
    let clock = TestClock()
    let platform = FakePlatform()

    @Test("reload: added start, removed and disabled stop, changed restart, untouched keep their socket")
    func reloadPlan() async throws {
        let gateway = ChannelGateway(adapters: [FakeAdapter(channel: fakeA, platform: platform), FakeAdapter(channel: fakeB, platform: platform)], configuration: .test(clock))
        let keep = AccountKey(fakeA, "keep"), change = AccountKey(fakeA, "change"), remove = AccountKey(fakeB, "remove"), disable = AccountKey(fakeB, "disable")
        await gateway.apply(fakeSettings([
            fakeA: ["keep": FakeSettings(token: "k"), "change": FakeSettings(token: "c1")],
            fakeB: ["remove": FakeSettings(token: "r"), "disable": FakeSettings(token: "d")],
        ]))
        let initial = [keep, change, remove, disable]
        #expect(await eventually { initial.allSatisfy { platform.latest($0)?.active.withLock { $0 } == 1 } })
        let kept = try #require(platform.latest(keep))

        let add = AccountKey(fakeB, "add")
        let report = await gateway.apply(fakeSettings([
            fakeA: ["keep": FakeSettings(token: "k"), "change": FakeSettings(token: "c2")],
            fakeB: ["disable": FakeSettings(enabled: false, token: "d"), "add": FakeSettings(token: "a")],
        ]))
        #expect(report.unchanged == [keep])
        #expect(report.restarted == [change])
        #expect(Set(report.stopped) == [remove, disable])
        #expect(report.started == [add])

        // Untouched: same connection object, same single run, socket never closed.
        #expect(platform.latest(keep) === kept)
        #expect(kept.runs.withLock { $0 } == 1 && kept.active.withLock { $0 } == 1)
        #expect(kept.isShutDown.withLock { $0 } == false)
        // Changed: a new connection with the new secret; the old one is shut down.
        #expect(await eventually { platform.latest(change)?.settings.token == "c2" && platform.latest(change)?.active.withLock { $0 } == 1 })
        #expect(platform.connections.withLock { $0[change]?.first?.isShutDown.withLock { $0 } } == true)
        // Removed and disabled: shut down; disabled reports stopped.
        #expect(platform.latest(remove)?.isShutDown.withLock { $0 } == true)
        #expect(platform.latest(disable)?.isShutDown.withLock { $0 } == true)
        #expect(await gateway.status(of: remove) == nil)
        #expect(await gateway.status(of: disable)?.state == .stopped)
        #expect(await eventually { platform.latest(add)?.active.withLock { $0 } == 1 })

        // Enabling it again starts it.
        let again = await gateway.apply(fakeSettings([
            fakeA: ["keep": FakeSettings(token: "k"), "change": FakeSettings(token: "c2")],
            fakeB: ["disable": FakeSettings(token: "d"), "add": FakeSettings(token: "a")],
        ]))
        #expect(again.restarted == [disable])
        #expect(await eventually { platform.latest(disable)?.active.withLock { $0 } == 1 })
        await gateway.shutdown()
    }

    @Test("the health monitor restarts stale and disconnected accounts, never one stopped on purpose")
    func healthMonitor() async throws {
        let gateway = ChannelGateway(adapters: [FakeAdapter(channel: fakeA, platform: platform)], configuration: .test(clock))
        var settings = fakeSettings([fakeA: ["live": FakeSettings(token: "l"), "quiet": FakeSettings(token: "q"), "off": FakeSettings(token: "o")]])
        settings.channels[fakeA]?.healthCheckInterval = .seconds(5 * 60)
        let live = AccountKey(fakeA, "live"), quiet = AccountKey(fakeA, "quiet"), off = AccountKey(fakeA, "off")
        await gateway.apply(settings)
        #expect(await eventually { [live, quiet, off].allSatisfy { platform.latest($0)?.active.withLock { $0 } == 1 } })
        await gateway.stop(off)

        // 35 minutes: "live" keeps acking heartbeats, "quiet" says nothing.
        for _ in 0..<7 {
            platform.latest(live)?.context.events.activity(at: clock.wallNow)
            await clock.advance(by: .seconds(5 * 60))
        }
        #expect(await eventually { platform.count(quiet) == 2 })
        #expect(platform.count(live) == 1)
        #expect(platform.count(off) == 1)
        #expect(await gateway.status(of: off)?.state == .stopped)
        await gateway.shutdown()
    }
}

@Suite("Health policy")
struct HealthPolicyTests {
    let policy = HealthPolicy()
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let interval = Duration.seconds(300)

    func snapshot(_ state: AccountState, running: Bool = true, purpose: Bool = false, changed: Double = 0, activity: Double? = nil, restarted: Double? = nil) -> HealthPolicy.Snapshot {
        HealthPolicy.Snapshot(state: state, isRunning: running, stoppedOnPurpose: purpose, startedAt: t0, stateChangedAt: t0.addingTimeInterval(changed), lastActivity: activity.map { t0.addingTimeInterval($0) }, lastHealthRestart: restarted.map { t0.addingTimeInterval($0) })
    }

    @Test func stoppedOnPurposeIsLeftAlone() {
        #expect(policy.restartReason(for: snapshot(.stopped, running: false, purpose: true), now: t0 + 9999, interval: interval) == nil)
    }
    @Test func failedIsLeftAlone() {
        #expect(policy.restartReason(for: snapshot(.failed(reason: "banned"), running: false), now: t0 + 9999, interval: interval) == nil)
    }
    @Test func lifecycleThatEndedIsRestarted() {
        #expect(policy.restartReason(for: snapshot(.reconnecting(attempt: 3), running: false), now: t0 + 10, interval: interval) == "stopped")
    }
    @Test func startupGrace() {
        #expect(policy.restartReason(for: snapshot(.starting), now: t0 + 59, interval: interval) == nil)
    }
    @Test func disconnectedBeyondConnectGrace() {
        #expect(policy.restartReason(for: snapshot(.reconnecting(attempt: 4), changed: 0), now: t0 + 119, interval: interval) == nil)
        #expect(policy.restartReason(for: snapshot(.reconnecting(attempt: 4), changed: 0), now: t0 + 121, interval: interval) == "disconnected")
    }
    @Test func staleSocketEvenIfConnected() {
        #expect(policy.restartReason(for: snapshot(.connected, activity: 100), now: t0 + 100 + 1799, interval: interval) == nil)
        #expect(policy.restartReason(for: snapshot(.connected, activity: 100), now: t0 + 100 + 1800, interval: interval) == "stale-socket")
        // Never any event at all counts from the last state change.
        #expect(policy.restartReason(for: snapshot(.degraded(reason: "identity unknown")), now: t0 + 1800, interval: interval) == "stale-socket")
    }
    @Test func platformImposedWaitIsNotCutShort() {
        var waiting = snapshot(.reconnecting(attempt: 1), changed: 0)
        waiting.platformWaitUntil = t0 + 300
        #expect(policy.restartReason(for: waiting, now: t0 + 200, interval: interval) == nil)
        #expect(policy.restartReason(for: waiting, now: t0 + 300, interval: interval) == "disconnected")
    }

    @Test func cooldownAfterARestart() {
        #expect(policy.restartReason(for: snapshot(.reconnecting(attempt: 1), restarted: 0), now: t0 + 599, interval: interval) == nil)
        #expect(policy.restartReason(for: snapshot(.reconnecting(attempt: 1), restarted: 0), now: t0 + 600, interval: interval) == "disconnected")
    }
}

