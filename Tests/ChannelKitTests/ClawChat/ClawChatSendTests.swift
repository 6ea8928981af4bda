import Foundation
import Testing
@testable import ChannelKit
@testable import ChannelKitClawChat
import ChannelKitTesting

/// Outbound: acks, typed errors, blocked chats, byte-identical resends, media.
@Suite("ClawChat sends", .serialized, .timeLimit(.minutes(1)))
struct ClawChatSendTests {
    /// A connected agent plus a direct chat with Alice.
    func connected(_ h: ClawChatHarness, configuration: ClawChatAdapter.Configuration = ClawChatHarness.adapterConfiguration())
        async throws -> (ClawChatConnection, ClawChatRunner, ClawChatEventLog, String) {
        h.simulator.addAccount(userID: "usr_alice")
        let a = try await h.connectedAgent(configuration: configuration)
        let (_, events, connection, runner) = (a.account, a.events, a.connection, a.runner)
        return (connection, runner, events, h.simulator.directChat("usr_agent", "usr_alice"))
    }

    @Test func ackWithAnotherMessageIDIsAnError() async throws {
        let h = try ClawChatHarness()
        let (connection, runner, _, chat) = try await connected(h)
        h.simulator.corruptNextAcks(userID: "usr_agent")
        let error = await channelError { try await connection.send(.text("hi"), to: DeliveryTarget(peer: Peer(.direct, chat))) }
        #expect(error?.code == .protocolViolation)
        #expect(error?.message.contains("mismatch") == true)
        // The next send is matched normally.
        let ok = try await connection.send(.text("again"), to: DeliveryTarget(peer: Peer(.direct, chat)))
        #expect(ok.messageID == h.simulator.sentMessages(userID: "usr_agent").last?.messageID)
        await runner.stop()
        await h.shutdown()
    }

    @Test func messageErrorIsTerminalTypedAndFallsBackToTheLegacyMessageField() async throws {
        let h = try ClawChatHarness()
        let (connection, runner, _, chat) = try await connected(h)
        h.simulator.failNextSends(userID: "usr_agent", code: "capability_missing", reason: "needs streaming")
        let error = try #require(await channelError { try await connection.send(.text("hi"), to: DeliveryTarget(peer: Peer(.direct, chat))) })
        #expect(error.code == .platform)
        #expect(error.clawChatErrorCode == "capability_missing")
        #expect(error.platformMessage == "capability_missing: needs streaming")
        #expect(error.account == AccountKey(.clawchat, "main"))
        await h.clock.advance(by: .seconds(60))   // never auto-retried, even after the ack timeout
        #expect(h.simulator.uplinkFrames(userID: "usr_agent").filter { $0.contains("message.send") }.count == 1)

        h.simulator.useLegacyErrorField(userID: "usr_agent")
        h.simulator.failNextSends(userID: "usr_agent", code: "some_new_code", reason: "legacy wording")
        let legacy = await channelError { try await connection.send(.text("hi"), to: DeliveryTarget(peer: Peer(.direct, chat))) }
        #expect(legacy?.clawChatErrorCode == "some_new_code")
        #expect(legacy?.platformMessage == "some_new_code: legacy wording")
        h.simulator.failNextSends(userID: "usr_agent", code: "rate_limited", reason: "slow down")
        #expect(await channelError { try await connection.send(.text("hi"), to: DeliveryTarget(peer: Peer(.direct, chat))) }?.code == .rateLimited)
        await runner.stop()
        await h.shutdown()
    }

    @Test func notMemberAndChatNotFoundBlockSendsToThatChatFor600Seconds() async throws {
        let h = try ClawChatHarness()
        let (connection, runner, events, chat) = try await connected(h)
        let foreign = h.simulator.addChat(type: .group, members: ["usr_bob", "usr_carol"])
        let first = await channelError { try await connection.send(.text("hi"), to: DeliveryTarget(peer: Peer(.group, foreign))) }
        #expect(first?.clawChatErrorCode == "not_member")
        let uplinks = h.simulator.uplinkFrames(userID: "usr_agent").count
        let blocked = await channelError { try await connection.send(.text("again"), to: DeliveryTarget(peer: Peer(.group, foreign))) }
        #expect(blocked?.clawChatErrorCode == "not_member")
        #expect(blocked?.message.contains("blocked") == true)
        #expect(h.simulator.uplinkFrames(userID: "usr_agent").count == uplinks)   // refused locally
        _ = try await connection.send(.text("other chats still work"), to: DeliveryTarget(peer: Peer(.direct, chat)))
        await h.clock.advance(by: .seconds(599))
        #expect(await channelError { try await connection.send(.text("x"), to: DeliveryTarget(peer: Peer(.group, foreign))) }?.message.contains("blocked") == true)
        await h.clock.advance(by: .seconds(1))
        let afterBlock = await channelError { try await connection.send(.text("x"), to: DeliveryTarget(peer: Peer(.group, foreign))) }
        #expect(afterBlock?.message.contains("blocked") == false)   // went to the server again
        #expect(h.simulator.misroutedCount == 2)                    // the two attempts the server saw

        // chat_not_found blocks too; a normal frame from that chat lifts the block early.
        let missing = "cnv_01JZZZZZZZZZZZZZZZZZZZZZZZ"
        #expect(await channelError { try await connection.send(.text("x"), to: DeliveryTarget(peer: Peer(.direct, missing))) }?.clawChatErrorCode == "chat_not_found")
        #expect(await channelError { try await connection.send(.text("x"), to: DeliveryTarget(peer: Peer(.direct, missing))) }?.message.contains("blocked") == true)
        h.simulator.injectMessage(toUser: "usr_agent", chatID: missing, fromUser: "usr_alice", text: "now it exists")
        await eventually("inbound") { events.messages.count == 1 }
        _ = try await connection.send(.text("thanks"), to: DeliveryTarget(peer: Peer(.direct, missing)))
        await runner.stop()
        await h.shutdown()
    }

    @Test func anUnackedSendIsResentByteIdenticalAfterAReconnect() async throws {
        let h = try ClawChatHarness()
        let (connection, runner, _, chat) = try await connected(h)
        h.simulator.dropNextAcks(userID: "usr_agent")
        let send = Task { try await connection.send(.text("important"), to: DeliveryTarget(peer: Peer(.direct, chat))) }
        await eventually("first transmission") { h.simulator.sentMessages(userID: "usr_agent").count == 1 }
        h.simulator.dropConnections(userID: "usr_agent")
        let sent = try await send.value
        let records = h.simulator.sentMessages(userID: "usr_agent")
        #expect(records.count == 2)
        #expect(records[0].frame == records[1].frame)
        #expect(records[1].wasDuplicate)
        #expect(sent.messageID == records[0].messageID)
        #expect(h.simulator.inboxCount(userID: "usr_alice") == 1)   // merged by UNIQUE(recipient, message_id)
        await runner.stop()
        await h.shutdown()
    }

    @Test func anAckTimeoutResendsTheSameFrameAndGivesUpAfterThreeTransmissions() async throws {
        let h = try ClawChatHarness()
        let (connection, runner, _, chat) = try await connected(h)
        h.simulator.dropNextAcks(userID: "usr_agent", count: 3)
        let outcome = TestRecorder<ChannelError?>()
        Task { outcome.record(await channelError { try await connection.send(.text("hello?"), to: DeliveryTarget(peer: Peer(.direct, chat))) }) }
        await eventually("first") { h.simulator.sentMessages(userID: "usr_agent").count == 1 }
        let start = h.clock.now
        await advance(h.clock, upTo: .seconds(20), "second transmission") { h.simulator.sentMessages(userID: "usr_agent").count == 2 }
        #expect(start.duration(to: h.clock.now) >= .seconds(15))
        await advance(h.clock, upTo: .seconds(20), "third transmission") { h.simulator.sentMessages(userID: "usr_agent").count == 3 }
        await advance(h.clock, upTo: .seconds(20), "timeout") { outcome.count == 1 }
        #expect(start.duration(to: h.clock.now) >= .seconds(45))
        #expect(outcome.all.first??.code == .timeout)
        #expect(h.simulator.sentMessages(userID: "usr_agent").count == 3)
        let frames = Set(h.simulator.sentMessages(userID: "usr_agent").map(\.frame))
        #expect(frames.count == 1)
        await runner.stop()
        await h.shutdown()
    }

    @Test func sendsWaitForTheSocketAndTheQueueIsBounded() async throws {
        let h = try ClawChatHarness()
        let agent = h.simulator.addAccount(userID: "usr_agent")
        let chat = h.simulator.directChat("usr_agent", "usr_alice")
        var configuration = ClawChatHarness.adapterConfiguration()
        configuration.maximumQueuedSends = 2
        let connection = try h.connection("main", settings: h.settings(agent), configuration: configuration)
        let first = Task { try await connection.send(.text("one"), to: DeliveryTarget(peer: Peer(.direct, chat))) }
        let second = Task { try await connection.send(.text("two"), to: DeliveryTarget(peer: Peer(.direct, chat))) }
        for _ in 0..<1_000_000 where await connection.pendingCount < 2 { await Task.yield() }
        #expect(await connection.pendingCount == 2)
        let full = await channelError { try await connection.send(.text("three"), to: DeliveryTarget(peer: Peer(.direct, chat))) }
        #expect(full?.code == .rateLimited)
        #expect(full?.retryAfter == .seconds(15))
        let runner = ClawChatRunner(connection, clock: h.clock)
        _ = try await first.value
        _ = try await second.value
        #expect(Set(h.simulator.sentMessages(userID: "usr_agent").map(\.text)) == ["one", "two"])
        await runner.stop()
        await h.shutdown()
    }

    @Test func aFrameTheServerClosesWith1009ForIsNotResent() async throws {
        var simulatorConfiguration = ClawChatSimulator.Configuration(handshakeTimeout: nil)
        simulatorConfiguration.maximumFrameSize = 4096
        let h = try ClawChatHarness(simulator: simulatorConfiguration)
        let (connection, runner, _, chat) = try await connected(h)
        let error = await channelError { try await connection.send(.text(String(repeating: "x", count: 6000)), to: DeliveryTarget(peer: Peer(.direct, chat))) }
        #expect(error?.platformCode == 1009)
        await eventually("reconnected") { h.simulator.connects(userID: "usr_agent").count == 2 && h.simulator.liveSessionCount(userID: "usr_agent") == 1 }
        _ = try await connection.send(.text("small"), to: DeliveryTarget(peer: Peer(.direct, chat)))
        #expect(h.simulator.sentMessages(userID: "usr_agent").map(\.text) == ["small"])
        #expect(await connection.pendingCount == 0)
        await runner.stop()
        await h.shutdown()
    }

    @Test func localChecksRejectBadTargetsBeforeTheWire() async throws {
        let h = try ClawChatHarness()
        let (connection, runner, _, chat) = try await connected(h)
        #expect(await channelError { try await connection.send(.text("x"), to: DeliveryTarget(peer: Peer(.direct, "usr_alice"))) }?.code == .invalidState)
        #expect(await channelError { try await connection.send(.text("x"), to: DeliveryTarget(peer: Peer(.direct, ""))) }?.code == .invalidState)
        #expect(await channelError { try await connection.send(.text(""), to: DeliveryTarget(peer: Peer(.direct, chat))) }?.code == .invalidState)
        let foreignOrigin = Origin(account: AccountKey(.clawchat, "other"), peer: Peer(.direct, chat), messageID: "msg-01JZ0000000000000000000000")
        #expect(await channelError { try await connection.send(.text("x"), to: DeliveryTarget(replyingTo: foreignOrigin)) }?.code == .invalidState)
        #expect(h.simulator.uplinkFrames(userID: "usr_agent").isEmpty)
        await runner.stop()
        await h.shutdown()
    }

    @Test func mediaIsUploadedAsMultipartAndSentAsAFragment() async throws {
        let h = try ClawChatHarness()
        let (connection, runner, _, chat) = try await connected(h)
        h.simulator.expireAccessToken(userID: "usr_agent")   // the upload's 401 refreshes and retries once
        let png = Data([0x89, 0x50, 0x4E, 0x47] + Array(repeating: 7, count: 300))
        let message = OutboundMessage(text: "a picture", media: [OutboundMedia(kind: .image, source: .data(png), fileName: "cat.png", mimeType: "image/png")])
        _ = try await connection.send(message, to: DeliveryTarget(peer: Peer(.direct, chat)))
        let upload = try #require(h.simulator.uploads.first)
        #expect(upload.fileName == "cat.png" && upload.mimeType == "image/png" && upload.size == png.count)
        #expect(h.simulator.refreshRequestCount(userID: "usr_agent") == 1)
        let record = try #require(h.simulator.sentMessages(userID: "usr_agent").first)
        #expect(record.fragmentKinds == ["text", "image"])
        #expect(record.frame.contains(upload.url))
        let empty = OutboundMessage(text: "", media: [OutboundMedia(kind: .file, source: .data(Data()))])
        #expect(await channelError { try await connection.send(empty, to: DeliveryTarget(peer: Peer(.direct, chat))) }?.platformCode == 40002)
        await runner.stop()
        await h.shutdown()
    }
}

extension ClawChatConnection {
    /// Sends waiting for an ack (tests).
    var pendingCount: Int { pending.count }
}
