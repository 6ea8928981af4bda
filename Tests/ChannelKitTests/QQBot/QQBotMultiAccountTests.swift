import Foundation
import Testing
@testable import ChannelKit
@testable import ChannelKitQQBot
import ChannelKitTesting

/// Several bots in one process: tokens, failures and errors stay with their account.
@Suite struct QQBotMultiAccountTests {
    /// Seed 000: two bots, each with its own AppID, send concurrently while one of them is
    /// forced to refresh (and another has its token expired under it). Every request must
    /// carry its own bot's token; the platform must never see a crossed token (11255).
    @Test func twoBotsUseTheirOwnTokensUnderConcurrentSendsAndForcedRefresh() async throws {
        let world = try QQBotTestWorld()
        let sim = world.simulator
        let a = await world.connectedAccount("alpha", appId: "102863192")
        let b = await world.connectedAccount("beta", appId: "102863260")
        let alice = "alice"
        let openA = sim.userOpenID(appId: "102863192", user: alice)
        let openB = sim.userOpenID(appId: "102863260", user: alice)
        #expect(openA != openB, "openids are scoped per app")
        sim.injectC2CMessage(appId: "102863192", userOpenID: openA, text: "to alpha")
        sim.injectC2CMessage(appId: "102863260", userOpenID: openB, text: "to beta")
        #expect(await a.waitForMessages(1))
        #expect(await b.waitForMessages(1))
        let originA = try #require(a.recorder.messages.first?.origin)
        let originB = try #require(b.recorder.messages.first?.origin)

        let perBot = 24
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<perBot {
                group.addTask { _ = try await a.connection.send(.text("a\(i)"), to: DeliveryTarget(peer: originA.peer)) }
                group.addTask { _ = try await b.connection.send(.text("b\(i)"), to: DeliveryTarget(peer: originB.peer)) }
                if i == perBot / 3 {
                    group.addTask { _ = try await a.connection.tokens.refresh() }
                }
                if i == perBot / 2 {
                    group.addTask { sim.expireToken(appId: "102863260") }
                }
            }
            try await group.waitForAll()
        }
        let sentA = sim.sentMessages(appId: "102863192")
        let sentB = sim.sentMessages(appId: "102863260")
        #expect(sentA.count == perBot && sentB.count == perBot)
        #expect(sentA.allSatisfy { $0.targetID == openA })
        #expect(sentB.allSatisfy { $0.targetID == openB })
        #expect(sim.misroutedReplyCount == 0)
        #expect(sim.allSends.allSatisfy { $0.errorCode != 11255 })
        let rejected = sim.allSends.filter { !$0.accepted }
        #expect(rejected.allSatisfy { $0.errorCode == 11244 && $0.appId == "102863260" }, "only B's expired token was refused: \(rejected)")
        #expect(sim.tokenFetchCount(appId: "102863192") >= 2, "the forced refresh fetched")
        #expect(sim.tokenFetchCount(appId: "102863260") >= 2, "the expired token was replaced")
        let tokensA = Set(sentA.map(\.token)), tokensB = Set(sentB.map(\.token))
        #expect(tokensA.isDisjoint(with: tokensB))
        await world.shutdown(a, b)
    }

    @Test func fatalCloseStopsOnlyThatAccount() async throws {
        let world = try QQBotTestWorld()
        let sim = world.simulator
        let a = await world.connectedAccount("alpha", appId: "2001")
        let b = await world.connectedAccount("beta", appId: "2002")
        sim.close(appId: "2001", code: 4915, reason: "banned")
        #expect(await eventually { !a.runOutcomes.isEmpty })
        guard case .success(.failed(let reason)) = a.runOutcomes.first else {
            Issue.record("expected failed, got \(a.runOutcomes)")
            return
        }
        #expect(reason.contains("4915"))
        #expect(a.recorder.errors.contains { $0.message.contains("4915") })
        let user = sim.userOpenID(appId: "2002", user: "u")
        sim.injectC2CMessage(appId: "2002", userOpenID: user, text: "still here")
        #expect(await b.waitForMessages(1))
        #expect(b.runOutcomes.isEmpty, "beta's session never ended")
        #expect(sim.identifyCount(appId: "2001") == 1, "no identify loop after a fatal close")
        await world.shutdown(a, b)
    }

    @Test func malformedFramesGiveTypedErrorsWithoutAffectingTheOtherAccount() async throws {
        let world = try QQBotTestWorld()
        let sim = world.simulator
        let a = await world.connectedAccount("alpha", appId: "3001")
        let b = await world.connectedAccount("beta", appId: "3002")
        sim.injectRawFrame(appId: "3001", text: "{not json")
        sim.injectRawFrame(appId: "3001", text: #"{"op":0,"s":99,"t":"C2C_MESSAGE_CREATE","d":{"id":"x","author":{}}}"#)
        sim.injectRawFrame(appId: "3001", text: #"{"op":0,"s":100,"t":"GROUP_AT_MESSAGE_CREATE","d":{"id":5}}"#)
        let userA = sim.userOpenID(appId: "3001", user: "u"), userB = sim.userOpenID(appId: "3002", user: "u")
        sim.injectC2CMessage(appId: "3001", userOpenID: userA, text: "after garbage")
        sim.injectC2CMessage(appId: "3002", userOpenID: userB, text: "unaffected")
        #expect(await a.waitForMessages(1))
        #expect(await b.waitForMessages(1))
        #expect(a.recorder.messages.first?.text == "after garbage")
        let errors = a.recorder.errors
        #expect(errors.count == 3)
        #expect(errors.allSatisfy { $0.code == .malformedInput && $0.account == a.key })
        #expect(b.recorder.errors.isEmpty)
        #expect(a.runOutcomes.isEmpty && b.runOutcomes.isEmpty, "no session ended")
        #expect(a.connection.session?.seq ?? 0 >= 100, "malformed dispatches still advance the seq")
        await world.shutdown(a, b)
    }

    @Test func markdownIsPerAccount() async throws {
        let world = try QQBotTestWorld()
        let sim = world.simulator
        let a = await world.connectedAccount("md", appId: "4001", markdown: true)
        let b = await world.connectedAccount("plain", appId: "4002", markdown: false)
        let ua = sim.userOpenID(appId: "4001", user: "u"), ub = sim.userOpenID(appId: "4002", user: "u")
        sim.injectC2CMessage(appId: "4001", userOpenID: ua, text: "x")
        sim.injectC2CMessage(appId: "4002", userOpenID: ub, text: "x")
        #expect(await a.waitForMessages(1))
        #expect(await b.waitForMessages(1))
        let md = OutboundMessage(text: "**bold**", format: .markdown)
        _ = try await a.connection.send(md, to: DeliveryTarget(replyingTo: try #require(a.recorder.messages.first?.origin)))
        _ = try await b.connection.send(md, to: DeliveryTarget(replyingTo: try #require(b.recorder.messages.first?.origin)))
        #expect(sim.sentMessages(appId: "4001").first?.msgType == 2)
        #expect(sim.sentMessages(appId: "4001").first?.markdown == "**bold**")
        #expect(sim.sentMessages(appId: "4002").first?.msgType == 0)
        #expect(sim.sentMessages(appId: "4002").first?.content == "**bold**")
        await world.shutdown(a, b)
    }

    @Test func aReplyToAnotherAccountsMessageIsRefusedBeforeTheWire() async throws {
        let world = try QQBotTestWorld()
        let sim = world.simulator
        let a = await world.connectedAccount("alpha", appId: "5001")
        let b = await world.connectedAccount("beta", appId: "5002")
        sim.injectC2CMessage(appId: "5001", userOpenID: sim.userOpenID(appId: "5001", user: "u"), text: "x")
        #expect(await a.waitForMessages(1))
        let origin = try #require(a.recorder.messages.first?.origin)
        await #expect(throws: ChannelError.self) { try await b.connection.send(.text("wrong"), to: DeliveryTarget(replyingTo: origin)) }
        #expect(sim.allSends.isEmpty)
        // Sending proactively to alpha's openid through beta reaches the platform, which refuses it.
        do {
            _ = try await b.connection.send(.text("crossed"), to: DeliveryTarget(peer: origin.peer))
            Issue.record("must fail")
        } catch let error as ChannelError {
            #expect(error.platformCode == 11255)
            #expect(error.code == .platform)
        }
        #expect(sim.misroutedReplyCount == 1)
        await world.shutdown(a, b)
    }
}

@Suite struct QQBotScaleTests {
    /// Fifty bots in one process, one human writing to all of them: each bot gets exactly
    /// its own message and answers it with its own token.
    @Test func fiftyBotsEachReceiveAndAnswerOnlyTheirOwnMessages() async throws {
        let world = try QQBotTestWorld()
        let sim = world.simulator
        let ids = (0..<50).map { String(300_000 + $0) }
        let accounts = ids.map { appId -> QQBotTestAccount in
            sim.addBot(appId: appId, clientSecret: "s" + appId)
            return world.account("a" + appId, appId: appId, secret: "s" + appId)
        }
        for account in accounts { account.start() }
        for appId in ids { await sim.waitUntilConnected(appId: appId) }
        #expect(sim.connectedBotCount == 50)
        var sent: [String: String] = [:]
        for appId in ids {
            sent[appId] = sim.injectC2CMessage(appId: appId, userOpenID: sim.userOpenID(appId: appId, user: "alice"), text: "hi " + appId)
        }
        for account in accounts { #expect(await account.waitForMessages(1)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for account in accounts {
                group.addTask {
                    let m = try #require(account.recorder.messages.first)
                    _ = try await account.connection.send(.text("re: " + m.text), to: DeliveryTarget(replyingTo: m.origin))
                }
            }
            try await group.waitForAll()
        }
        for (account, appId) in zip(accounts, ids) {
            #expect(account.recorder.messages.map(\.origin.messageID) == [sent[appId]])
            #expect(account.recorder.messages.first?.text == "hi " + appId)
            let replies = sim.sentMessages(appId: appId)
            #expect(replies.count == 1 && replies.first?.msgID == sent[appId] && replies.first?.content == "re: hi " + appId)
        }
        #expect(sim.misroutedReplyCount == 0)
        for account in accounts { await account.stop() }
        await sim.shutdown()
    }
}
