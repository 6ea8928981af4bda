import Foundation
import Testing
@testable import ChannelKit
@testable import ChannelKitOpenIM
import ChannelKitTesting

@Suite("OpenIM delivery through the msg gateway")
struct OpenIMDeliveryTests {
    @Test func connectsWithTheJSONEncoderAndDeliversADirectMessage() async throws {
        let h = try OpenIMHarness()
        let bot = try await h.connectedBot()
        h.simulator.addUser("alice", nickname: "Alice")
        let sent = h.simulator.injectMessage(from: "alice", to: "bot", text: "hello bot")
        await eventually("delivered") { bot.events.messages.all.count == 1 }
        let message = try #require(bot.events.messages.all.first)
        #expect(message.text == "hello bot")
        #expect(message.origin.peer == Peer(.direct, "alice"))
        #expect(message.sender == Sender(id: "alice", name: "Alice"))
        #expect(message.origin.messageID == sent.clientMsgID)
        #expect(message.dedupKeys == [sent.clientMsgID])
        #expect(message.origin.replyContext["conversationID"] == "si_alice_bot")
        let connect = try #require(h.simulator.connects(userID: "bot").first)
        #expect(connect.sdkType == "js" && connect.isMsgResp == "true" && connect.errCode == 0 && connect.platformID == "5")
        #expect(bot.events.identity.current?.id == "bot")
        await bot.runner.stop()
        await h.shutdown()
    }

    @Test func selfSentPushesAreDroppedAndGroupsNeedAMention() async throws {
        let h = try OpenIMHarness()
        let bot = try await h.connectedBot()
        h.simulator.addUser("alice")
        h.simulator.addGroup("g1", members: ["bot", "alice"])
        // The bot's own message is pushed back to it (senderSync): dropped.
        h.simulator.injectMessage(from: "bot", to: "alice", text: "from myself")
        h.simulator.injectGroupMessage(from: "alice", groupID: "g1", text: "no mention")
        h.simulator.injectGroupMessage(from: "alice", groupID: "g1", text: "everyone", atUserIDs: ["AtAllTag"])
        h.simulator.injectGroupMessage(from: "alice", groupID: "g1", text: "hi bot", atUserIDs: ["bot"])
        await eventually("mentioned message") { bot.events.messages.all.count == 1 }
        for _ in 0..<2000 { await Task.yield() }
        let message = try #require(bot.events.messages.all.first)
        #expect(bot.events.messages.all.count == 1)
        #expect(message.text == "hi bot")
        #expect(message.mentionsBot)
        #expect(message.origin.peer == Peer(.group, "g1"))
        await bot.runner.stop()
        await h.shutdown()
    }

    @Test func withoutRequireMentionGroupsDeliverAndTheWhitelistFilters() async throws {
        let h = try OpenIMHarness()
        let bot = try await h.connectedBot(requireMention: false)
        h.simulator.addUser("alice")
        h.simulator.addGroup("g1", members: ["bot", "alice"])
        h.simulator.injectGroupMessage(from: "alice", groupID: "g1", text: "plain")
        await eventually("group message") { bot.events.messages.all.count == 1 }
        #expect(bot.events.messages.all.first?.mentionsBot == false)

        let listed = try await h.connectedBot("bot2", accountID: "second", requireMention: false, whitelist: ["carol"])
        h.simulator.addUser("carol")
        h.simulator.addGroup("g2", members: ["bot2", "alice", "carol"])
        h.simulator.injectMessage(from: "alice", to: "bot2", text: "not listed")
        h.simulator.injectGroupMessage(from: "carol", groupID: "g2", text: "listed, no mention")
        h.simulator.injectGroupMessage(from: "carol", groupID: "g2", text: "listed, mentioned", atUserIDs: ["bot2"])
        h.simulator.injectMessage(from: "carol", to: "bot2", text: "listed direct")
        await eventually("whitelisted messages") { listed.events.messages.all.count == 2 }
        for _ in 0..<2000 { await Task.yield() }
        #expect(listed.events.messages.all.map(\.text) == ["listed, mentioned", "listed direct"])
        await bot.runner.stop()
        await listed.runner.stop()
        await h.shutdown()
    }

    @Test func aDropWhileMessagesArriveLosesNoneAndDuplicatesNone() async throws {
        let h = try OpenIMHarness()
        let bot = try await h.connectedBot()
        h.simulator.addUser("alice")
        for i in 0..<3 { h.simulator.injectMessage(from: "alice", to: "bot", text: "before \(i)") }
        await eventually("first three") { bot.events.messages.all.count == 3 }
        h.simulator.dropConnections(userID: "bot")
        await eventually("socket gone") { h.simulator.liveSessionCount(userID: "bot") == 0 }
        // Stored while the bot is offline: no push reaches it.
        for i in 0..<150 { h.simulator.injectMessage(from: "alice", to: "bot", text: "offline \(i)") }
        let pullsBefore = h.simulator.pullCount
        await advance(h.clock, upTo: .seconds(30), "reconnected") { h.simulator.liveSessionCount(userID: "bot") == 1 }
        await eventually("pulled") { bot.events.messages.all.count == 153 }
        #expect(h.simulator.pullCount > pullsBefore)
        // Duplicate pushes of a delivered message are dropped by the dedup key.
        let first = h.simulator.messages(conversationID: "si_alice_bot")[0]
        h.simulator.pushDuplicate(toUser: "bot", clientMsgID: first.clientMsgID)
        await eventually("duplicate seen") { bot.events.duplicates.all.count >= 1 }
        let texts = bot.events.messages.all.map(\.text)
        #expect(texts == (0..<3).map { "before \($0)" } + (0..<150).map { "offline \($0)" })
        #expect(Set(texts).count == texts.count)
        await bot.runner.stop()
        await h.shutdown()
    }

    @Test func aPushThatSkipsSeqsPullsTheGap() async throws {
        let h = try OpenIMHarness()
        let bot = try await h.connectedBot()
        h.simulator.addUser("alice")
        h.simulator.injectMessage(from: "alice", to: "bot", text: "one")
        await eventually("one") { bot.events.messages.all.count == 1 }
        h.simulator.losePushes(toUser: "bot", count: 2)
        h.simulator.injectMessage(from: "alice", to: "bot", text: "two")
        h.simulator.injectMessage(from: "alice", to: "bot", text: "three")
        let pulls = h.simulator.pullCount
        h.simulator.injectMessage(from: "alice", to: "bot", text: "four")
        await eventually("gap pulled") { bot.events.messages.all.count == 4 }
        #expect(h.simulator.pullCount > pulls)
        #expect(Set(bot.events.messages.all.map(\.text)) == ["one", "two", "three", "four"])
        #expect(bot.events.duplicates.all.isEmpty || bot.events.duplicates.all.allSatisfy { $0.text == "four" })
        await bot.runner.stop()
        await h.shutdown()
    }

    @Test func aLostSyncReplyIsRetriedSoTheGapIsStillPulled() async throws {
        let h = try OpenIMHarness()
        let bot = try await h.connectedBot()
        h.simulator.addUser("alice")
        h.simulator.dropConnections(userID: "bot")
        await eventually("socket gone") { h.simulator.liveSessionCount(userID: "bot") == 0 }
        h.simulator.injectMessage(from: "alice", to: "bot", text: "while down")
        h.simulator.dropNextReplies(userID: "bot", reqIdentifier: 1001)
        h.simulator.dropNextReplies(userID: "bot", reqIdentifier: 1002)
        await advance(h.clock, upTo: .seconds(60), "pulled after retries") { bot.events.messages.all.count == 1 }
        #expect(bot.events.messages.all.first?.text == "while down")
        #expect(h.simulator.maxSeqRequestCount >= 3 && h.simulator.pullCount >= 2)
        #expect(bot.events.errors.all.contains { $0.code == .timeout })
        await bot.runner.stop()
        await h.shutdown()
    }

    @Test func compressionGzipCarriesPushesPullsAndSends() async throws {
        let h = try OpenIMHarness()
        var configuration = OpenIMAdapter.Configuration()
        configuration.gzip = true
        let bot = try await h.connectedBot(configuration: configuration)
        #expect(h.simulator.connects(userID: "bot").first?.errCode == 0)
        h.simulator.addUser("alice")
        h.simulator.injectMessage(from: "alice", to: "bot", text: "zipped push")
        await eventually("push") { bot.events.messages.all.count == 1 }
        h.simulator.dropConnections(userID: "bot")
        await eventually("down") { h.simulator.liveSessionCount(userID: "bot") == 0 }
        h.simulator.injectMessage(from: "alice", to: "bot", text: "zipped pull")
        await advance(h.clock, upTo: .seconds(30), "pulled") { bot.events.messages.all.count == 2 }
        _ = try await bot.connection.send(.text("zipped send"), to: DeliveryTarget(peer: Peer(.direct, "alice")))
        #expect(bot.events.messages.all.map(\.text) == ["zipped push", "zipped pull"])
        #expect(h.simulator.sentMessages(userID: "bot").map(\.text) == ["zipped send"])
        #expect(bot.events.errors.all.isEmpty)
        await bot.runner.stop()
        await h.shutdown()
    }

    @Test func aRestartedConnectionPullsWhatArrivedWhileItWasDown() async throws {
        let h = try OpenIMHarness()
        let store = InMemoryStateStore()
        let bot = try await h.connectedBot(store: store)
        h.simulator.addUser("alice")
        h.simulator.injectMessage(from: "alice", to: "bot", text: "seen")
        await eventually("seen") { bot.events.messages.all.count == 1 }
        await bot.runner.stop()
        await bot.connection.shutdown()
        await eventually("down") { h.simulator.liveSessionCount(userID: "bot") == 0 }
        h.simulator.injectMessage(from: "alice", to: "bot", text: "while down 1")
        h.simulator.injectMessage(from: "alice", to: "bot", text: "while down 2")
        let again = try await h.connectedBot(store: store)
        await eventually("recovered") { again.events.messages.all.count == 2 }
        #expect(again.events.messages.all.map(\.text) == ["while down 1", "while down 2"])
        await again.runner.stop()
        await h.shutdown()
    }

    @Test func aFreshAccountStartsFromTheServersMaxSeqs() async throws {
        let h = try OpenIMHarness()
        h.simulator.addAccount(userID: "bot")
        h.simulator.addUser("alice")
        h.simulator.injectMessage(from: "alice", to: "bot", text: "old history")
        let bot = try await h.connectedBot()
        h.simulator.injectMessage(from: "alice", to: "bot", text: "new")
        await eventually("new") { bot.events.messages.all.count == 1 }
        #expect(bot.events.messages.all.map(\.text) == ["new"])
        await bot.runner.stop()
        await h.shutdown()
    }
}
