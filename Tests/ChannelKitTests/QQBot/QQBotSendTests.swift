import Foundation
import Testing
@testable import ChannelKit
@testable import ChannelKitQQBot
import ChannelKitTesting

/// Sends through the simulator's REST validation: scenes, platform codes, retries.
@Suite struct QQBotSendTests {
    @Test func groupReplyCountsMsgSeqAndStripsTheMention() async throws {
        let world = try QQBotTestWorld()
        let sim = world.simulator
        let a = await world.connectedAccount("main", appId: "7001")
        let group = sim.groupOpenID(appId: "7001", group: "g"), member = sim.memberOpenID(appId: "7001", group: "g", user: "u")
        let id = sim.injectGroupAtMessage(appId: "7001", groupOpenID: group, memberOpenID: member, text: "what's up")
        #expect(await a.waitForMessages(1))
        let m = try #require(a.recorder.messages.first)
        #expect(m.text == "what's up" && m.origin.peer == Peer(.group, group) && m.sender.id == member && m.mentionsBot)
        for i in 0..<2 { _ = try await a.connection.send(.text("r\(i)"), to: DeliveryTarget(replyingTo: m.origin)) }
        #expect(sim.sentMessages(appId: "7001").map(\.msgSeq) == [1, 2])
        #expect(sim.sentMessages(appId: "7001").allSatisfy { $0.scene == "group" && $0.msgID == id })
        await world.shutdown(a)
    }

    @Test func guildChannelAndGuildDMRepliesUseTheirEndpoints() async throws {
        let world = try QQBotTestWorld()
        let sim = world.simulator
        let a = await world.connectedAccount("main", appId: "7002")
        sim.injectGuildAtMessage(appId: "7002", guildID: "g1", channelID: "ch1", authorID: "u1", text: "in channel")
        sim.injectGuildDirectMessage(appId: "7002", dmGuildID: "dmg9", authorID: "u1", text: "in private")
        #expect(await a.waitForMessages(2))
        let channel = try #require(a.recorder.messages.first { $0.origin.peer.kind == .channel })
        let dm = try #require(a.recorder.messages.first { $0.origin.peer.kind == .direct })
        #expect(channel.text == "in channel", "the leading <@!bot> is stripped")
        #expect(dm.origin.peer == Peer(.direct, "u1") && dm.origin.replyContext["guildId"] == "dmg9")
        _ = try await a.connection.send(.text("hi channel"), to: DeliveryTarget(replyingTo: channel.origin))
        _ = try await a.connection.send(.text("hi dm"), to: DeliveryTarget(replyingTo: dm.origin))
        _ = try await a.connection.send(.text("proactive dm"), to: DeliveryTarget(peer: Peer(.direct, "dms:dmg9")))
        let sent = sim.sentMessages(appId: "7002")
        #expect(sent.map(\.scene) == ["guild", "guild-dm", "guild-dm"])
        #expect(sent.map(\.targetID) == ["ch1", "dmg9", "dmg9"])
        #expect(sent[0].msgID == channel.origin.messageID && sent[1].msgID == dm.origin.messageID && sent[2].msgID == nil)
        #expect(sim.misroutedReplyCount == 0)
        await world.shutdown(a)
    }

    @Test func mediaIsUploadedThenSentAsMsgType7() async throws {
        let world = try QQBotTestWorld()
        let sim = world.simulator
        let a = await world.connectedAccount("main", appId: "7003")
        sim.injectC2CMessage(appId: "7003", userOpenID: sim.userOpenID(appId: "7003", user: "u"), text: "send me a picture")
        #expect(await a.waitForMessages(1))
        let origin = try #require(a.recorder.messages.first?.origin)
        let message = OutboundMessage(text: "here", media: [OutboundMedia(kind: .image, source: .url("https://example.com/a.png")),
                                                            OutboundMedia(kind: .file, source: .data(Data("pdf".utf8)), fileName: "a.pdf")])
        let sent = try await a.connection.send(message, to: DeliveryTarget(replyingTo: origin))
        #expect(sent.messageID != nil)
        let uploads = sim.allSends.filter { $0.scene == "c2c-file" }
        #expect(uploads.count == 2 && uploads.allSatisfy(\.accepted))
        let messages = sim.sentMessages(appId: "7003")
        #expect(messages.map(\.msgType) == [7, 7])
        #expect(messages.map(\.content) == ["here", " "])
        #expect(messages.map(\.msgSeq) == [1, 2])
        #expect(Set(messages.compactMap(\.fileInfo)) == Set(uploads.compactMap(\.fileInfo)))
        await world.shutdown(a)
    }

    @Test func platformCodesBecomeTypedErrors() async throws {
        let world = try QQBotTestWorld()
        let sim = world.simulator
        let a = await world.connectedAccount("main", appId: "7004")
        let user = sim.userOpenID(appId: "7004", user: "u")
        sim.injectC2CMessage(appId: "7004", userOpenID: user, text: "x")
        #expect(await a.waitForMessages(1))
        let origin = try #require(a.recorder.messages.first?.origin)
        let reply = DeliveryTarget(replyingTo: origin)

        sim.failNextSend(appId: "7004", status: 429, code: 22009, message: "rate limited", retryAfterSeconds: 3)
        await #expect(throws: ChannelError.self) { try await a.connection.send(.text("x"), to: reply) }
        do {
            sim.failNextSend(appId: "7004", status: 429, code: 22009, retryAfterSeconds: 3)
            _ = try await a.connection.send(.text("x"), to: reply)
        } catch let error as ChannelError {
            #expect(error.code == .rateLimited && error.retryAfter == .seconds(3) && error.platformCode == 22009)
            #expect(error.account == a.key)
        }
        do {
            sim.failNextSend(appId: "7004", status: 400, code: 304046, message: "too many")
            _ = try await a.connection.send(.text("x"), to: reply)
        } catch let error as ChannelError {
            #expect(error.code == .rateLimited && error.retryAfter == nil)
        }
        // A second connection of the same account that lost its counter repeats msg_seq 1.
        sim.injectC2CMessage(appId: "7004", userOpenID: user, text: "y")
        #expect(await a.waitForMessages(2))
        let second = DeliveryTarget(replyingTo: try #require(a.recorder.messages.last?.origin))
        let restarted = QQBotConnection(settings: a.settings, context: a.context)
        _ = try await a.connection.send(.text("first"), to: second)
        do {
            _ = try await restarted.send(.text("again"), to: second)
            Issue.record("a repeated msg_seq must be refused")
        } catch let error as ChannelError {
            #expect(error.code == .platform && error.platformCode == 40054005)
        }
        // Past the 60-minute C2C window.
        await world.clock.advance(by: .seconds(3601))
        do {
            _ = try await a.connection.send(.text("late"), to: reply)
            Issue.record("the window has passed")
        } catch let error as ChannelError {
            #expect(error.platformCode == 304027 && error.code == .platform)
        }
        await #expect(throws: ChannelError.self) { try await a.connection.send(.text(""), to: reply) }
        await world.shutdown(a)
    }

    @Test func anExpiredTokenIsDroppedAndTheSendRetriedOnce() async throws {
        let world = try QQBotTestWorld()
        let sim = world.simulator
        let a = await world.connectedAccount("main", appId: "7005")
        let user = sim.userOpenID(appId: "7005", user: "u")
        sim.injectC2CMessage(appId: "7005", userOpenID: user, text: "x")
        #expect(await a.waitForMessages(1))
        let old = sim.currentToken(appId: "7005")
        sim.expireToken(appId: "7005")
        _ = try await a.connection.send(.text("after expiry"), to: DeliveryTarget(peer: Peer(.direct, user)))
        let all = sim.allSends
        #expect(all.map(\.errorCode) == [11244, nil])
        #expect(all.first?.token == old && all.last?.token == sim.currentToken(appId: "7005") && all.last?.token != old)
        #expect(sim.tokenFetchCount(appId: "7005") == 2)
        await world.shutdown(a)
    }

    @Test func malformedRESTBodiesGiveTypedErrors() async throws {
        let clock = TestClock()
        let server = try LoopbackHTTPServer()
        server.route(.post, "/token") { _ in .json(raw: #"{"access_token":"t-1","expires_in":"7200"}"#) }
        server.route(.post, "/bad-token") { _ in .text("<html>gateway timeout</html>", status: 200) }
        server.route(.post, "/token-bad-expiry") { _ in .json(raw: #"{"access_token":"t-2","expires_in":{"x":1}}"#) }
        server.route(.get, "/gateway") { _ in .json(raw: #"{"url":5}"#) }
        server.route(.post, prefix: "/v2/users/") { _ in .text("<html>502</html>", status: 502) }
        func connection(_ token: String) -> QQBotConnection {
            let settings = QQBotAccountSettings(appId: "8001", clientSecret: Secret("s"), apiBaseURL: server.baseURL, tokenURL: server.url(token))
            let context = AccountContext(account: AccountKey(.qqbot, AccountID(token)), time: clock.timeSource, logger: .disabled,
                                         store: InMemoryStateStore(), http: URLSessionHTTPTransport(), webSocket: makeDefaultWebSocketTransport(),
                                         tokenCache: TokenCache(configuration: .init(time: clock.timeSource)), events: .discarding)
            return QQBotConnection(settings: settings, context: context)
        }
        do {
            _ = try await connection("/token").run()
            Issue.record("a bad /gateway reply must fail the run")
        } catch let error as ChannelError {
            #expect(error.code == .malformedInput && error.location == "$.url")
        }
        do {
            _ = try await connection("/bad-token").run()
            Issue.record("an HTML token reply must fail")
        } catch let error as ChannelError {
            #expect(error.code == .malformedInput || error.code == .tokenFetchFailed)
        }
        do {
            _ = try await connection("/token-bad-expiry").run()
            Issue.record("an unreadable expires_in must fail")
        } catch let error as ChannelError {
            #expect(error.code == .malformedInput && error.location == "$.expires_in")
        }
        do {
            _ = try await connection("/token").send(.text("x"), to: DeliveryTarget(peer: Peer(.direct, "U")))
            Issue.record("a 502 must fail")
        } catch let error as ChannelError {
            #expect(error.code == .platform && error.httpStatus == 502 && error.platformCode == nil)
        }
        await server.shutdown()
    }

    @Test func tokensAndSecretsNeverReachLogsOrErrors() async throws {
        let world = try QQBotTestWorld()
        let sim = world.simulator
        let logs = CapturingLogHandler()
        let a = await world.connectedAccount("main", appId: "7006", logger: logs.logger(level: .trace))
        let user = sim.userOpenID(appId: "7006", user: "u")
        sim.injectC2CMessage(appId: "7006", userOpenID: user, text: "x")
        #expect(await a.waitForMessages(1))
        sim.injectRawFrame(appId: "7006", text: "{broken")
        sim.expireToken(appId: "7006")
        _ = try await a.connection.send(.text("retry"), to: DeliveryTarget(peer: Peer(.direct, user)))
        var errors: [ChannelError] = []
        sim.failNextSend(appId: "7006", status: 401, code: 11244)
        sim.failNextSend(appId: "7006", status: 401, code: 11243)
        do { _ = try await a.connection.send(.text("fails"), to: DeliveryTarget(peer: Peer(.direct, user))) } catch let e as ChannelError { errors.append(e) }
        sim.close(appId: "7006", code: 4004)
        #expect(await eventually { sim.identifyCount(appId: "7006") == 2 })
        #expect(await eventually { logs.lines.contains { $0.message.contains("session ended") } })
        let secrets = Set(sim.allSends.map(\.token)).union([a.settings.clientSecret.reveal()]).union([sim.currentToken(appId: "7006") ?? ""])
        #expect(secrets.count >= 3)
        for secret in secrets where !secret.isEmpty {
            #expect(logs.lines(containing: secret).isEmpty, "a log line carries a secret")
            for e in errors + a.recorder.errors { #expect(!e.description.contains(secret)) }
            #expect(!String(describing: a.settings).contains(secret))
        }
        #expect(!errors.isEmpty)
        await world.shutdown(a)
    }
}
