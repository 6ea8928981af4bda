import Foundation
import Testing
@testable import ChannelKit
@testable import ChannelKitClawChat
import ChannelKitTesting

/// The adapter inside the real ``ChannelGateway`` (runtime, dedup, pacing, identity)
/// against the simulator: two ClawChat accounts in one process.
@Suite("ClawChat in the gateway", .serialized, .timeLimit(.minutes(1)))
struct ClawChatGatewayTests {
    @Test func twoAccountsReceiveAndReplyOnlyThroughTheirOwnOrigin() async throws {
        let h = try ClawChatHarness()
        let a = h.simulator.addAccount(userID: "usr_bot_a")
        let b = h.simulator.addAccount(userID: "usr_bot_b")
        var configuration = ChannelGateway.Configuration(time: h.clock.timeSource, store: InMemoryStateStore(), http: h.http, webSocket: h.webSocket)
        configuration.dedupFlushDelay = .zero
        let gateway = ChannelGateway(adapters: [ClawChatAdapter(configuration: ClawChatHarness.adapterConfiguration())], configuration: configuration)
        let messages = TestRecorder<InboundMessage>()
        let consumer = Task { for await event in gateway.events { if case .message(let m) = event { messages.record(m) } } }
        let keyA = AccountKey(.clawchat, "a"), keyB = AccountKey(.clawchat, "b")
        try await gateway.add(keyA, settings: h.settings(a))
        // Account b is configured the way `channelkit run` would: from JSON.
        let parsed = ClawChatAdapter().parseAccount(ConfigObject(h.simulator.accountConfig(for: b), path: "$.channels.clawchat.accounts.b"))
        try await gateway.add(keyB, settings: try #require(parsed))
        await eventually("both connected") {
            h.simulator.liveSessionCount(userID: "usr_bot_a") == 1 && h.simulator.liveSessionCount(userID: "usr_bot_b") == 1
        }
        for _ in 0..<200_000 {
            let states = await [gateway.status(of: keyA)?.state, gateway.status(of: keyB)?.state]
            if states.allSatisfy({ $0 == .connected }) { break }
            await Task.yield()
        }
        #expect(await gateway.status(of: keyA)?.state == .connected)
        #expect(await gateway.status(of: keyB)?.state == .connected)

        let group = h.simulator.addChat(type: .group, members: ["usr_bot_a", "usr_bot_b", "usr_alice"])
        let toA = h.simulator.injectMessage(toUser: "usr_bot_a", fromUser: "usr_alice", text: "hi a")
        let inGroup = h.simulator.injectMessage(toUser: "usr_bot_a", chatID: group, fromUser: "usr_alice", text: "hi both")
        await eventually("three messages") { messages.count == 3 }   // a: direct + group, b: group
        h.simulator.replayDuplicate(toUser: "usr_bot_b", messageID: inGroup)
        for _ in 0..<500_000 where (await gateway.status(of: keyB)?.counters.duplicatesSuppressed ?? 0) < 1 { await Task.yield() }
        #expect(await gateway.status(of: keyB)?.counters.duplicatesSuppressed == 1)
        #expect(messages.count == 3)   // the duplicate was dropped by the gateway's dedup
        for message in messages.all.prefix(3) {
            _ = try await gateway.reply(to: message, .text("ack from \(message.account.account.rawValue)"))
        }
        #expect(messages.all.filter { $0.origin.messageID == inGroup }.map(\.account).sorted { $0.description < $1.description } == [keyA, keyB])
        #expect(messages.all.contains { $0.origin.messageID == toA && $0.account == keyA })
        let sentA = h.simulator.sentMessages(userID: "usr_bot_a"), sentB = h.simulator.sentMessages(userID: "usr_bot_b")
        #expect(sentA.count == 2 && sentB.count == 1)
        #expect(sentA.allSatisfy { $0.text == "ack from a" && $0.event == "message.reply" })
        #expect(sentB.map(\.chatID) == [group] && sentB.first?.replyTo == inGroup)
        #expect(Set(sentA.map(\.chatID)) == [group, h.simulator.directChat("usr_bot_a", "usr_alice")])
        #expect(h.simulator.misroutedCount == 0)
        // Each bot's group reply reaches the other bot (not itself: self-echo is dropped).
        await eventually("the bots see each other's group replies") { messages.count == 5 }
        #expect(messages.all.dropFirst(3).allSatisfy { $0.origin.peer == Peer(.group, group) && $0.sender.id != "usr_" + "bot_" + $0.account.account.rawValue })
        await gateway.shutdown()
        consumer.cancel()
        await h.shutdown()
    }

    @Test func aRevokedRefreshTokenFailsTheAccountWithReactivationRequired() async throws {
        let h = try ClawChatHarness()
        let a = h.simulator.addAccount(userID: "usr_bot_a")
        h.simulator.revokeRefreshToken(userID: "usr_bot_a")
        h.simulator.expireAccessToken(userID: "usr_bot_a")
        let configuration = ChannelGateway.Configuration(time: h.clock.timeSource, store: InMemoryStateStore(), http: h.http, webSocket: h.webSocket)
        let gateway = ChannelGateway(adapters: [ClawChatAdapter(configuration: ClawChatHarness.adapterConfiguration())], configuration: configuration)
        let key = AccountKey(.clawchat, "a")
        try await gateway.add(key, settings: h.settings(a))
        var state: AccountState?
        for _ in 0..<500_000 {
            state = await gateway.status(of: key)?.state
            if case .failed = state { break }
            await Task.yield()
        }
        guard case .failed(let reason)? = state else { Issue.record("state \(String(describing: state))"); return }
        #expect(reason.contains("re-activation required"))
        #expect(h.simulator.refreshRequests.count == 1)
        await gateway.shutdown()
        await h.shutdown()
    }
}
