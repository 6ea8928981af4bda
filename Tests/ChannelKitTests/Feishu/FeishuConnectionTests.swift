import Foundation
import Testing
@testable import ChannelKit
@testable import ChannelKitFeishu
import ChannelKitTesting

/// One Feishu account against the simulator: session set-up, acks, delivery, mention
/// rules, replies, pings and pushed ClientConfig.
@Suite struct FeishuConnectionTests {
    @Test func directMessageIsAckedDeliveredAndRepliedToInItsChat() async throws {
        let world = try FeishuTestWorld()
        let sim = world.simulator
        let (account, app) = try await world.connectedAccount("main", appId: "cli_a100")
        #expect(sim.endpointCallCount(appId: app.appId) == 1)
        #expect(await eventually("first ping") { sim.pingCount(appId: app.appId) >= 1 })
        #expect(sim.pingServices(appId: app.appId).allSatisfy { $0 == 33_554_678 }, "pings carry the URL's service_id")

        let id = sim.injectDirectMessage(appId: app.appId, user: "alice", text: "hello there")
        #expect(await account.waitForMessages(1))
        let message = try #require(account.recorder.messages.first)
        #expect(message.origin.messageID == id)
        #expect(message.origin.peer == Peer(.direct, sim.userOpenID(appId: app.appId, user: "alice")))
        #expect(message.origin.replyContext["chatId"] == sim.p2pChatID(appId: app.appId, user: "alice"))
        #expect(message.text == "hello there")
        #expect(message.sender.id == sim.userOpenID(appId: app.appId, user: "alice"))
        #expect(message.dedupKeys.count == 3 && message.dedupKeys.contains("msg:" + id))
        #expect(await eventually("ack") { sim.acks(appId: app.appId).count == 1 })
        let ack = try #require(sim.acks(appId: app.appId).first)
        #expect(ack.code == 200 && ack.bizRT != nil && ack.echoedFrame)

        let sent = try await account.connection.send(.text("pong"), to: DeliveryTarget(replyingTo: message.origin))
        let record = try #require(sim.sentMessages(appId: app.appId).first)
        #expect(record.kind == "reply" && record.target == id && record.text == "pong" && record.messageID == sent.messageID)
        #expect(record.chatID == sim.p2pChatID(appId: app.appId, user: "alice"))
        #expect(record.uuid?.isEmpty == false)
        // A proactive send to the direct peer goes by open_id to the same chat.
        _ = try await account.connection.send(.text("again"), to: DeliveryTarget(peer: message.origin.peer))
        #expect(sim.sentMessages(appId: app.appId).last?.receiveIDType == "open_id")
        #expect(sim.sentMessages(appId: app.appId).last?.chatID == record.chatID)
        #expect(sim.misroutedCount == 0)
        await world.shutdown(account)
    }

    @Test func groupMessagesNeedAMentionOfThisBotAndPlaceholdersResolve() async throws {
        let world = try FeishuTestWorld()
        let sim = world.simulator
        let (account, app) = try await world.connectedAccount("main", appId: "cli_a200")
        sim.injectGroupMessage(appId: app.appId, group: "ops", user: "bob", text: "no mention", mentionBot: false)
        let mentioned = sim.injectGroupMessage(appId: app.appId, group: "ops", user: "bob", text: "status please", mentionOthers: ["carol"])
        #expect(await account.waitForMessages(1))
        #expect(await eventually("both acked") { sim.acks(appId: app.appId).count == 2 })
        let messages = account.recorder.messages
        #expect(messages.count == 1)
        let m = try #require(messages.first)
        #expect(m.origin.messageID == mentioned)
        #expect(m.origin.peer == Peer(.group, sim.groupChatID(group: "ops")))
        #expect(m.mentionsBot)
        #expect(m.text == "@carol status please")
        _ = try await account.connection.send(.text("ok"), to: DeliveryTarget(peer: m.origin.peer))
        #expect(sim.sentMessages(appId: app.appId).last?.receiveIDType == "chat_id")
        #expect(sim.misroutedCount == 0)
        await world.shutdown(account)
    }

    @Test func unknownIdentityFailsClosedInGroupsButDirectMessagesFlow() async throws {
        let world = try FeishuTestWorld()
        let sim = world.simulator
        let (account, app) = try await world.connectedAccount("main", appId: "cli_a300", identity: false)
        sim.injectGroupMessage(appId: app.appId, group: "ops", user: "bob", text: "hi bot")
        sim.injectDirectMessage(appId: app.appId, user: "bob", text: "dm")
        #expect(await account.waitForMessages(1))
        #expect(await eventually("both acked") { sim.acks(appId: app.appId).count == 2 })
        #expect(account.recorder.messages.map(\.text) == ["dm"])
        #expect(account.recorder.messages.first?.mentionsBot == false)
        // Once the identity arrives, the same kind of message is delivered.
        try await account.resolveIdentity()
        sim.injectGroupMessage(appId: app.appId, group: "ops", user: "bob", text: "hi again")
        #expect(await account.waitForMessages(2))
        #expect(account.recorder.messages.last?.text == "hi again" && account.recorder.messages.last?.mentionsBot == true)
        await world.shutdown(account)
    }

    @Test func requireMentionFalseDeliversEveryGroupMessage() async throws {
        let world = try FeishuTestWorld()
        let sim = world.simulator
        let (account, app) = try await world.connectedAccount("main", appId: "cli_a400", requireMention: false)
        sim.injectGroupMessage(appId: app.appId, group: "g", user: "u", text: "plain", mentionBot: false)
        #expect(await account.waitForMessages(1))
        #expect(account.recorder.messages.first?.mentionsBot == false)
        await world.shutdown(account)
    }

    @Test func pongConfigPushAppliesAtOnceAndReconnectCountOneNeverEndsReconnection() async throws {
        let world = try FeishuTestWorld()
        let sim = world.simulator
        let (account, app) = try await world.connectedAccount("main", appId: "cli_a500")
        #expect(await eventually("first ping") { sim.pingCount(appId: app.appId) == 1 })
        // A partial config: only PingInterval and ReconnectCount change.
        sim.pushClientConfig(appId: app.appId, ["PingInterval": 10, "ReconnectCount": 1])
        #expect(await eventually("config merged") { account.connection.clientConfig.pingInterval == .seconds(10) })
        let config = account.connection.clientConfig
        #expect(config.reconnectCount == 1 && config.reconnectInterval == .seconds(120) && config.reconnectNonce == .seconds(30))
        let due = world.clock.now.advanced(by: .seconds(10))
        #expect(await eventually("the ping loop sleeps the new interval") { world.clock.nextDeadline == due })
        await world.clock.advance(by: .seconds(10))
        #expect(await eventually("ping after the new interval") { sim.pingCount(appId: app.appId) == 2 })
        // Reconnect more often than ReconnectCount: every time a fresh endpoint call.
        for round in 1...3 {
            sim.dropConnections(appId: app.appId)
            #expect(await eventually("reconnect \(round)") { sim.endpointCallCount(appId: app.appId) == round + 1 && sim.isConnected(appId: app.appId) })
        }
        #expect(account.runOutcomes.allSatisfy { if case .success(.reconnect) = $0 { true } else { false } })
        await world.shutdown(account)
    }

    @Test func serverRequestedReconnectUsesANewTicket() async throws {
        let world = try FeishuTestWorld()
        let sim = world.simulator
        let (account, app) = try await world.connectedAccount("main", appId: "cli_a600")
        sim.requestReconnect(appId: app.appId)
        #expect(await eventually("reconnected") { sim.endpointCallCount(appId: app.appId) == 2 && sim.isConnected(appId: app.appId) })
        sim.injectDirectMessage(appId: app.appId, user: "u", text: "after")
        #expect(await account.waitForMessages(1))
        await world.shutdown(account)
    }
}
