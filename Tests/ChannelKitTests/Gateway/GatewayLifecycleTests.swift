import ChannelKit
import ChannelKitTesting
import Foundation
import Synchronization
import Testing

@Suite("Gateway lifecycle")
struct GatewayLifecycleTests {
    let clock = TestClock()
    let platform = FakePlatform()
    let a1 = AccountKey(fakeA, "one")
    let a2 = AccountKey(fakeA, "two")

    func gateway(store: any StateStore = InMemoryStateStore(), configure: (inout ChannelGateway.Configuration) -> Void = { _ in }) -> ChannelGateway {
        var configuration = ChannelGateway.Configuration.test(clock, store: store)
        configure(&configuration)
        return ChannelGateway(adapters: [FakeAdapter(channel: fakeA, platform: platform), FakeAdapter(channel: fakeB, platform: platform)], configuration: configuration)
    }

    @Test("concurrent starts of one account boot it once")
    func idempotentStart() async throws {
        let gateway = gateway()
        try await gateway.add(a1, settings: FakeSettings(token: "t1"))
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<20 { group.addTask { try? await gateway.start(self.a1) } }
        }
        #expect(await eventually { platform.latest(a1)?.runs.withLock { $0 } == 1 })
        await TestClock.settle()
        #expect(platform.count(a1) == 1)
        #expect(platform.latest(a1)?.runs.withLock { $0 } == 1)
        await gateway.shutdown()
    }

    @Test("connected without a known identity is degraded, then connected when it arrives")
    func degradedUntilIdentity() async throws {
        let gateway = gateway()
        try await gateway.add(a1, settings: FakeSettings(token: "t1"))
        #expect(await eventually { await gateway.status(of: a1)?.state == .degraded(reason: "identity unknown") })
        await platform.latest(a1)?.context.events.identity(AccountIdentity(id: "bot-1"))
        #expect(await eventually { await gateway.status(of: a1)?.state == .connected })
        #expect(await gateway.status(of: a1)?.identity == AccountIdentity(id: "bot-1"))
        await gateway.shutdown()
    }

    @Test("a dropped session reconnects with backoff, forever, and the backoff resets after a connect")
    func reconnectsWithoutDeadEnd() async throws {
        platform.autoConnect.withLock { $0 = false }
        let gateway = gateway()
        try await gateway.add(a1, settings: FakeSettings(token: "t1"))
        #expect(await eventually { platform.latest(a1)?.active.withLock { $0 } == 1 })
        let connection = try #require(platform.latest(a1))
        // 30 failed sessions in a row: never a terminal state.
        for attempt in 1...30 {
            connection.end(.reconnect(after: nil, reason: "drop \(attempt)"))
            #expect(await eventually { await gateway.status(of: a1)?.state == .reconnecting(attempt: attempt) })
            #expect(await clock.waitForSleepers(1))
            await clock.advance(by: .seconds(400))  // beyond the 5 min cap
            #expect(await eventually { connection.runs.withLock { $0 } == attempt + 1 })
        }
        // A session that connected resets the attempt counter.
        await connection.context.events.state(.connected)
        connection.end(.reconnect(after: nil, reason: "after connect"))
        #expect(await eventually { await gateway.status(of: a1)?.state == .reconnecting(attempt: 1) })
        #expect(await clock.waitForSleepers(1))
        let deadline = try #require(clock.nextDeadline)
        #expect(clock.now.duration(to: deadline) <= .milliseconds(1200))  // 1 s ± 20 %
        #expect(await gateway.status(of: a1)?.reconnectCount == 31)
        await gateway.shutdown()
    }

    @Test("a platform-imposed wait is honoured exactly")
    func platformWait() async throws {
        platform.autoConnect.withLock { $0 = false }
        let gateway = gateway()
        try await gateway.add(a1, settings: FakeSettings(token: "t1"))
        #expect(await eventually { platform.latest(a1)?.active.withLock { $0 } == 1 })
        let connection = try #require(platform.latest(a1))
        connection.end(.reconnect(after: .seconds(60), reason: "4008"))
        #expect(await clock.waitForSleepers(1))
        await clock.advance(by: .seconds(59))
        await TestClock.settle()
        #expect(connection.runs.withLock { $0 } == 1)
        await clock.advance(by: .seconds(1))
        #expect(await eventually { connection.runs.withLock { $0 } == 2 })
        await gateway.shutdown()
    }

    @Test("'reconnect now' from sessions that never connected still backs off (no storm)")
    func immediateReconnectWithoutConnectBacksOff() async throws {
        platform.autoConnect.withLock { $0 = false }
        let gateway = gateway()
        try await gateway.add(a1, settings: FakeSettings(token: "t1"))
        #expect(await eventually { platform.latest(a1)?.active.withLock { $0 } == 1 })
        let connection = try #require(platform.latest(a1))
        for attempt in 1...4 {
            connection.end(.reconnect(after: .zero, reason: "op 7 before READY"))
            #expect(await clock.waitForSleepers(1))
            let wait = clock.now.duration(to: try #require(clock.nextDeadline))
            #expect(wait >= .milliseconds(Int64(800 * (1 << (attempt - 1)))))
            await clock.advance(by: wait)
            #expect(await eventually { connection.runs.withLock { $0 } == attempt + 1 })
        }
        await gateway.shutdown()
    }

    @Test("the health monitor does not cut short a platform-imposed wait")
    func healthRespectsPlatformWait() async throws {
        platform.autoConnect.withLock { $0 = false }
        let gateway = gateway()
        try await gateway.add(a1, settings: FakeSettings(token: "t1"))
        #expect(await eventually { platform.latest(a1)?.active.withLock { $0 } == 1 })
        let connection = try #require(platform.latest(a1))
        connection.end(.reconnect(after: .seconds(300), reason: "4002 retry_after_ms=300000"))
        #expect(await clock.waitForSleepers(1))
        await clock.advance(by: .seconds(200))
        #expect(await gateway.checkHealth(of: fakeA, interval: .seconds(60)).isEmpty)
        #expect(connection.runs.withLock { $0 } == 1)
        await clock.advance(by: .seconds(100))
        #expect(await eventually { connection.runs.withLock { $0 } == 2 })
        await gateway.shutdown()
    }

    @Test("a fatal outcome fails only that account; it is not restarted")
    func fatalStopsOnlyThatAccount() async throws {
        let gateway = gateway()
        try await gateway.add(a1, settings: FakeSettings(token: "t1"))
        try await gateway.add(a2, settings: FakeSettings(token: "t2"))
        #expect(await eventually { platform.latest(a1)?.active.withLock { $0 } == 1 && platform.latest(a2)?.active.withLock { $0 } == 1 })
        platform.latest(a1)?.end(.failed(reason: "bot banned (4915)"))
        #expect(await eventually { await gateway.status(of: a1)?.state == .failed(reason: "bot banned (4915)") })
        #expect(await eventually { platform.latest(a1)?.isShutDown.withLock { $0 } == true })
        await clock.advance(by: .seconds(3600))
        await TestClock.settle()
        #expect(platform.latest(a1)?.runs.withLock { $0 } == 1)
        #expect(await gateway.status(of: a2)?.state.isUp == true)
        // Monitor never restarts a failed account …
        #expect(await gateway.checkHealth(of: fakeA, interval: .seconds(60))[a1] == nil)
        // … but an explicit start does.
        try await gateway.start(a1)
        #expect(await eventually { platform.count(a1) == 2 })
        await gateway.shutdown()
    }

    @Test("stop during backoff, during connect and during a blocked operation all end promptly")
    func stopIsPrompt() async throws {
        // During backoff.
        platform.autoConnect.withLock { $0 = false }
        let gateway = gateway()
        try await gateway.add(a1, settings: FakeSettings(token: "t1"))
        #expect(await eventually { platform.latest(a1)?.active.withLock { $0 } == 1 })
        platform.latest(a1)?.end(.reconnect(after: .seconds(3600), reason: "wait"))
        #expect(await clock.waitForSleepers(1))
        await gateway.stop(a1)
        #expect(await gateway.status(of: a1)?.state == .stopped)
        #expect(clock.sleeperCount == 0)
        #expect(platform.latest(a1)?.isShutDown.withLock { $0 } == true)

        // During connect (the run is blocked before connecting).
        try await gateway.start(a1)
        #expect(await eventually { platform.latest(a1)?.active.withLock { $0 } == 1 })
        await gateway.stop(a1)
        #expect(platform.latest(a1)?.active.withLock { $0 } == 0)
        #expect(await gateway.status(of: a1)?.state == .stopped)

        // During a blocked identity probe (stands in for a refresh in flight).
        let gate = AsyncGate()
        platform.identityProbe.withLock { $0 = { _, _ in await gate.wait(); return AccountIdentity(id: "late") } }
        try await gateway.start(a1)
        #expect(await gate.waitForWaiters(1))
        await gateway.stop(a1)
        #expect(await gateway.status(of: a1)?.state == .stopped)
        gate.open()
        await TestClock.settle()
        #expect(await gateway.status(of: a1)?.identity == nil)  // the stale probe cannot touch it
        await gateway.shutdown()
    }

    @Test("identity probe finishing after its lifecycle was stopped leaves the new lifecycle a recovery path (seed 003)")
    func identityRecoveryAfterAbort() async throws {
        let firstProbe = AsyncGate()
        let attempts = Mutex<[Int: Int]>([:])
        platform.identityProbe.withLock {
            $0 = { _, index in
                let n = attempts.withLock { $0[index, default: 0] += 1; return $0[index]! }
                if index == 0 {
                    await firstProbe.wait()   // ignores cancellation, completes late
                    throw ChannelError(.transport, "probe aborted")
                }
                if n < 3 { throw ChannelError(.transport, "bot info unavailable") }
                return AccountIdentity(id: "ou_bot")
            }
        }
        let gateway = gateway()
        try await gateway.add(a1, settings: FakeSettings(token: "t1"))
        #expect(await firstProbe.waitForWaiters(1))
        // Reload-style restart while the first probe hangs.
        try await gateway.restart(a1)
        #expect(await eventually { platform.count(a1) == 2 })
        firstProbe.open()  // the old probe finishes now, after its lifecycle ended
        #expect(await eventually { await gateway.status(of: a1)?.state == .degraded(reason: "identity unknown") })
        // The new lifecycle keeps retrying on its own schedule until the identity arrives.
        #expect(await clock.waitForSleepers(1))
        await clock.advance(by: .seconds(300))  // retries at +5 s and +15 s; the third attempt succeeds
        #expect(await eventually { await gateway.status(of: a1)?.state == .connected })
        #expect(await gateway.status(of: a1)?.identity?.id == "ou_bot")
        await gateway.shutdown()
    }

    @Test("events from a stale generation are dropped")
    func staleGenerationDropped() async throws {
        let gateway = gateway()
        try await gateway.add(a1, settings: FakeSettings(token: "t1"))
        #expect(await eventually { platform.latest(a1)?.active.withLock { $0 } == 1 })
        let old = try #require(platform.latest(a1))
        try await gateway.restart(a1)
        #expect(await eventually { platform.count(a1) == 2 })
        #expect(await old.inject("late", from: Peer(.direct, "u1"), id: "m-late") == false)
        await old.context.events.state(.failed(reason: "stale"))
        #expect(await gateway.status(of: a1)?.state.isUp == true)
        await gateway.shutdown()
    }

    @Test("shutdown stops every account and finishes the event stream")
    func shutdownFinishesStream() async throws {
        let gateway = gateway()
        try await gateway.add(a1, settings: FakeSettings(token: "t1"))
        try await gateway.add(AccountKey(fakeB, "x"), settings: FakeSettings(token: "t3"))
        let collector = Task { var n = 0; for await _ in gateway.events { n += 1 }; return n }
        #expect(await eventually { platform.latest(a1)?.active.withLock { $0 } == 1 })
        await gateway.shutdown()
        let count = await collector.value
        #expect(count > 0)
        #expect(platform.latest(a1)?.isShutDown.withLock { $0 } == true)
        #expect(platform.latest(AccountKey(fakeB, "x"))?.isShutDown.withLock { $0 } == true)
        await #expect(throws: ChannelError.self) { try await gateway.add(a2, settings: FakeSettings(token: "t")) }
    }

    @Test("withChannelGateway shuts down when the body throws")
    func scopedLifetime() async throws {
        struct Boom: Error {}
        let adapters: [any ChannelAdapter] = [FakeAdapter(channel: fakeA, platform: platform)]
        await #expect(throws: Boom.self) {
            try await withChannelGateway(adapters: adapters, configuration: .test(clock)) { gateway in
                try await gateway.add(a1, settings: FakeSettings(token: "t1"))
                #expect(await eventually { platform.latest(a1)?.active.withLock { $0 } == 1 })
                throw Boom()
            }
        }
        #expect(platform.latest(a1)?.isShutDown.withLock { $0 } == true)
    }
}
