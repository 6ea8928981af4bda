import ChannelKit
import ChannelKitTesting
import Testing

/// The core one-shot value: resolved once, awaited cancellably, bounded on a virtual clock.
@Suite struct OneShotTests {
    @Test func resolvesOnceAndWakesTheWaiter() async {
        let shot = OneShot<Int>()
        let waiter = Task { await shot.wait() }
        #expect(await eventually { shot.value == nil })
        #expect(shot.resolve(1))
        #expect(!shot.resolve(2))
        #expect(await waiter.value == 1)
        #expect(await shot.wait() == 1)
    }

    @Test func cancellingTheWaiterReturnsNilAndTheValueStillArrives() async {
        let shot = OneShot<String>()
        let waiter = Task { await shot.wait() }
        await Task.yield()
        waiter.cancel()
        #expect(await waiter.value == nil)
        shot.resolve("late")
        #expect(shot.value == "late")
    }

    @Test func boundedWaitTimesOutOnTheVirtualClockAndCanWaitAgain() async {
        let clock = TestClock()
        let shot = OneShot<Int>()
        let first = Task { await shot.wait(timeout: .seconds(3), time: clock.timeSource) }
        #expect(await clock.waitForSleepers(1))
        await clock.advance(by: .seconds(3))
        guard case .timedOut = await first.value else { Issue.record("expected a timeout"); return }
        let second = Task { await shot.wait(timeout: .seconds(3), time: clock.timeSource) }
        #expect(await clock.waitForSleepers(1))
        shot.resolve(7)
        guard case .value(7) = await second.value else { Issue.record("expected the value"); return }
    }

    @Test func detachedWorkRunsToItsEndEvenIfTheWaiterLeaves() async {
        let gate = AsyncGate()
        let done = TestRecorder<Int>()
        let shot = OneShot.detached { await gate.wait(); done.record(1); return 1 }
        let waiter = Task { await shot.wait() }
        #expect(await gate.waitForWaiters(1))
        waiter.cancel()
        #expect(await waiter.value == nil)
        gate.open()
        #expect(await eventually { done.count == 1 })
        #expect(shot.value == 1)
    }
}
