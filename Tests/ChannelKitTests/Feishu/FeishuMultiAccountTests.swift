import Foundation
import Testing
@testable import ChannelKit
@testable import ChannelKitFeishu
import ChannelKitTesting

/// Two Feishu apps in one process: tokens, identities, garbage and failures stay with
/// their account; acks keep up under load.
@Suite struct FeishuMultiAccountTests {
    @Test func twoAppsNeverShareTokensOrIdentitiesUnderConcurrentSendsAndExpiry() async throws {
        let world = try FeishuTestWorld()
        let sim = world.simulator
        let (a, appA) = try await world.connectedAccount("alpha", appId: "cli_alpha")
        let (b, appB) = try await world.connectedAccount("beta", appId: "cli_beta")
        #expect(a.context.identity.current?.id == appA.botOpenID && b.context.identity.current?.id == appB.botOpenID)
        #expect(appA.botOpenID != appB.botOpenID)
        sim.injectDirectMessage(appId: appA.appId, user: "alice", text: "to alpha")
        sim.injectDirectMessage(appId: appB.appId, user: "alice", text: "to beta")
        sim.injectGroupMessage(appId: appA.appId, group: "shared", user: "alice", text: "alpha in the shared group")
        sim.injectGroupMessage(appId: appB.appId, group: "shared", user: "alice", text: "beta in the shared group")
        #expect(await a.waitForMessages(2))
        #expect(await b.waitForMessages(2))
        #expect(a.recorder.messages[0].origin.peer != b.recorder.messages[0].origin.peer, "open_ids are app-scoped")
        #expect(a.recorder.messages[1].origin.peer == b.recorder.messages[1].origin.peer, "both bots are in one group chat")

        let per = 16
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<per {
                for (account, message) in [(a, a.recorder.messages[i % 2]), (b, b.recorder.messages[i % 2])] {
                    group.addTask { _ = try await account.connection.send(.text("\(account.key.account) \(i)"), to: DeliveryTarget(replyingTo: message.origin)) }
                }
                if i == per / 3 { group.addTask { _ = try await a.connection.tokens.refresh() } }
                if i == per / 2 { group.addTask { sim.expireToken(appId: appB.appId) } }
            }
            try await group.waitForAll()
        }
        let sentA = sim.sentMessages(appId: appA.appId), sentB = sim.sentMessages(appId: appB.appId)
        #expect(sentA.count == per && sentB.count == per)
        #expect(sentA.allSatisfy { $0.text?.hasPrefix("alpha ") == true })
        #expect(sentB.allSatisfy { $0.text?.hasPrefix("beta ") == true })
        #expect(Set(sentA.map(\.token)).isDisjoint(with: Set(sentB.map(\.token))))
        #expect(sim.misroutedCount == 0)
        let rejected = sim.allSends.filter { !$0.accepted }
        #expect(rejected.allSatisfy { $0.errorCode == 99_991_663 }, "only an expired token was refused: \(rejected)")
        #expect(sim.tokenFetchCount(appId: appA.appId) >= 2 && sim.tokenFetchCount(appId: appB.appId) >= 2)
        await world.shutdown(a, b)
    }

    @Test func malformedProtobufAndJSONOnOneAccountNeverAffectTheOther() async throws {
        let world = try FeishuTestWorld()
        let sim = world.simulator
        let (a, appA) = try await world.connectedAccount("alpha", appId: "cli_bad")
        let (b, appB) = try await world.connectedAccount("beta", appId: "cli_good")
        sim.injectRawFrame(appId: appA.appId, bytes: [0xFF, 0xFF, 0xFF])
        sim.injectRawFrame(appId: appA.appId, bytes: [0x08, 0x01])   // required fields missing
        let raw = sim.injectRawEventPayload(appId: appA.appId, payload: Array(#"{"header":{"event_type":"im.message.receive_v1"},"event":{"message":"#.utf8))
        sim.injectDirectMessage(appId: appB.appId, user: "u", text: "fine")
        sim.injectDirectMessage(appId: appA.appId, user: "u", text: "alpha still fine")
        #expect(await b.waitForMessages(1))
        #expect(await a.waitForMessages(1))
        #expect(a.recorder.messages.first?.text == "alpha still fine")
        #expect(await eventually("three typed errors") { a.recorder.errors.count >= 3 })
        #expect(a.recorder.errors.allSatisfy { $0.code == .malformedInput && $0.location != nil })
        #expect(b.recorder.errors.isEmpty)
        // The malformed event is acked with code 500 (never redelivered forever).
        #expect(await eventually("ack of the bad event") { sim.acks(appId: appA.appId).contains { $0.eventID == raw && $0.code == 500 } })
        #expect(a.runOutcomes.isEmpty && b.runOutcomes.isEmpty, "no session ended")
        await world.shutdown(a, b)
    }

    @Test func everyEventIsAckedWithinTheDeadlineUnderLoadAndNothingIsRedelivered() async throws {
        let world = try FeishuTestWorld()
        let sim = world.simulator
        let (a, appA) = try await world.connectedAccount("alpha", appId: "cli_load")
        sim.setFragmentation(appId: appA.appId, parts: 2, reversed: true)
        let count = 300
        for i in 0..<count { sim.injectDirectMessage(appId: appA.appId, user: "u\(i % 7)", text: "message \(i)") }
        #expect(await eventually("all acked") { sim.acks(appId: appA.appId).count == count })
        #expect(await a.waitForMessages(count))
        // Virtual time did not move, so every ack came well inside the 3 s deadline;
        // advancing past it must not redeliver anything.
        #expect(sim.acks(appId: appA.appId).allSatisfy { $0.latency < .seconds(3) && $0.code == 200 && $0.echoedFrame })
        await world.clock.advance(by: .seconds(10))
        await TestClock.settle()
        #expect(sim.redeliveryCount(appId: appA.appId) == 0)
        #expect(sim.unackedCount(appId: appA.appId) == 0)
        #expect(Set(a.recorder.messages.map(\.text)).count == count)
        await world.shutdown(a)
    }

    @Test func unackedEventsAreRedeliveredAndDeduplicated() async throws {
        let world = try FeishuTestWorld()
        let sim = world.simulator
        let (a, appA) = try await world.connectedAccount("alpha", appId: "cli_dup")
        sim.injectDirectMessage(appId: appA.appId, user: "u", text: "once")
        #expect(await a.waitForMessages(1))
        sim.duplicateLastEvent(appId: appA.appId)
        sim.redeliverLastWithNewMessageID(appId: appA.appId)
        #expect(await eventually("three acks") { sim.acks(appId: appA.appId).count == 3 })
        #expect(await eventually("three raw deliveries") { a.recorder.rawDeliveries.count == 3 })
        #expect(a.recorder.messages.count == 1, "event id, message id and content keys suppress both redeliveries")
        await world.shutdown(a)
    }
}
