import Foundation
import Testing
@testable import ChannelKit
@testable import ChannelKitClawChat
import ChannelKitTesting

/// The session against the loopback simulator: handshake, inbound, replay, close codes.
@Suite("ClawChat session", .serialized, .timeLimit(.minutes(1)))
struct ClawChatSessionTests {
    @Test func handshakeConnectsAndDeliversInboundWithItsOrigin() async throws {
        let h = try ClawChatHarness()
        h.simulator.addAccount(userID: "usr_alice", nickname: "Alice")
        let a = try await h.connectedAgent()
        let (agent, events, connection, runner) = (a.account, a.events, a.connection, a.runner)
        #expect(events.identity.current?.id == "usr_agent")   // from the JWT sub, before the first frame

        let connect = try #require(h.simulator.connects(userID: "usr_agent").first)
        #expect(connect.result == "hello-ok")
        #expect(connect.token == agent.accessToken)
        #expect(connect.protocolVersion == 2)
        #expect(connect.capabilities["device_replay"] == true)
        #expect(connect.capabilities["multi_device"] == false)
        #expect(!connect.capabilities.keys.contains { $0.hasPrefix("reliable_delivery") })
        #expect(connect.deviceID.hasPrefix("channelkit-"))   // derived WS device id

        let chat = h.simulator.directChat("usr_agent", "usr_alice")
        let id = h.simulator.injectMessage(toUser: "usr_agent", chatID: chat, fromUser: "usr_alice", text: "hello there")
        await eventually("message") { events.messages.count == 1 }
        let message = try #require(events.messages.all.first)
        #expect(message.text == "hello there")
        #expect(message.origin.messageID == id)
        #expect(message.origin.peer == Peer(.direct, chat))
        #expect(message.origin.account == AccountKey(.clawchat, "main"))
        #expect(message.sender == Sender(id: "usr_alice", name: "Alice"))
        #expect(message.dedupKeys == [id])
        #expect(message.timestamp == h.clock.wallNow.addingTimeInterval(0).flooredToMilliseconds)

        // Reply through the origin: message.reply with the quote, acked, id msg-<ULID>.
        let sent = try await connection.send(.text("hi Alice"), to: DeliveryTarget(replyingTo: message.origin))
        let record = try #require(h.simulator.sentMessages(userID: "usr_agent").first)
        #expect(record.event == "message.reply")
        #expect(record.chatID == chat)
        #expect(record.replyTo == id)
        #expect(record.text == "hi Alice")
        #expect(sent.messageID == record.messageID)
        #expect(MessageID.isValid(record.messageID))
        #expect(record.frame.contains(#""version":"2""#))
        #expect(!record.frame.contains("streaming"))
        let frame = try JSONDecoder().decode(JSONValue.self, from: Data(record.frame.utf8))
        #expect(frame["payload"]?["message"]?["context"]?["reply"]?["reply_preview"]?["id"]?.stringValue == "usr_alice")
        #expect(frame["payload"]?["message_mode"]?.stringValue == "normal")

        // A proactive send is message.send with reply null.
        _ = try await connection.send(.text("ping"), to: DeliveryTarget(peer: Peer(.direct, chat)))
        let second = try #require(h.simulator.sentMessages(userID: "usr_agent").last)
        #expect(second.event == "message.send")
        #expect(second.frame.contains(#""reply":null"#))
        #expect(h.simulator.misroutedCount == 0)
        await runner.stop()
        await h.shutdown()
    }

    @Test func groupMessagesMapToGroupPeersAndMentions() async throws {
        let h = try ClawChatHarness()
        let a = try await h.connectedAgent()
        let (_, events, connection, runner) = (a.account, a.events, a.connection, a.runner)
        let group = h.simulator.addChat(type: .group, members: ["usr_agent", "usr_bob", "usr_carol"])
        h.simulator.injectMessage(toUser: "usr_agent", chatID: group, fromUser: "usr_bob", text: " status?", mentions: ["usr_agent"])
        h.simulator.injectMessage(toUser: "usr_agent", chatID: group, fromUser: "usr_carol", text: "just chatting")
        await eventually("two messages") { events.messages.count == 2 }
        let first = try #require(events.messages.all.first)
        #expect(first.origin.peer == Peer(.group, group))
        #expect(first.mentionsBot)
        #expect(first.text == "status?")
        #expect(events.messages.all.last?.mentionsBot == false)
        // Replying to a group message goes to the group chat, not to the sender.
        _ = try await connection.send(.text("all good"), to: DeliveryTarget(replyingTo: first.origin))
        #expect(h.simulator.sentMessages(userID: "usr_agent").first?.chatID == group)
        #expect(h.simulator.misroutedCount == 0)
        await runner.stop()
        await h.shutdown()
    }

    @Test func selfEchoIsDroppedAndOtherModesAreSkipped() async throws {
        let h = try ClawChatHarness()
        let a = try await h.connectedAgent()
        let (_, events, connection, runner) = (a.account, a.events, a.connection, a.runner)
        let chat = h.simulator.directChat("usr_agent", "usr_alice")
        _ = try await connection.send(.text("my own words"), to: DeliveryTarget(peer: Peer(.direct, chat)))
        #expect(h.simulator.inboxCount(userID: "usr_agent") == 1)   // the server echoed it back to us
        h.simulator.injectMessage(toUser: "usr_agent", chatID: chat, fromUser: "usr_alice", text: "thinking…", messageMode: "thinking")
        h.simulator.injectMessage(toUser: "usr_agent", chatID: chat, fromUser: "usr_alice", text: "empty mode is normal", messageMode: "")
        await eventually("the normal message") { events.messages.count == 1 }
        #expect(events.messages.all.map(\.text) == ["empty mode is normal"])
        await runner.stop()
        await h.shutdown()
    }

    @Test func unknownOwnIDDropsMessagesFailClosedAndLeavesThemUnacked() async throws {
        let h = try ClawChatHarness()
        // An opaque (non-JWT) token: no sub; /v1/users/me is the only way to learn the id.
        let agent = h.simulator.addAccount(userID: "usr_agent", accessToken: "opaque-access-token-1")
        let events = ClawChatEventLog(appliesIdentity: false)
        let connection = try h.connection("main", settings: h.settings(agent), events: events)
        let chat = h.simulator.directChat("usr_agent", "usr_alice")
        let id = h.simulator.injectMessage(toUser: "usr_agent", chatID: chat, fromUser: "usr_alice", text: "while unknown")
        let runner = ClawChatRunner(connection, clock: h.clock)
        await eventually("connected") { events.states.all.contains(.connected) }
        await eventually("fail-closed error") { !events.errors.all.isEmpty }
        #expect(events.messages.count == 0)
        #expect(h.logs.lines.contains { $0.level == .error && $0.message.contains("fail-closed") })
        #expect(events.identities.all.first??.id == "usr_agent")   // discovered over REST…
        // …and once the runtime applies it, the unacked message is replayed and delivered.
        events.identity.set(AccountIdentity(id: "usr_agent"))
        h.simulator.dropConnections(userID: "usr_agent")
        await eventually("replayed message") { events.messages.count == 1 }
        #expect(events.messages.all.first?.origin.messageID == id)
        await runner.stop()
        await h.shutdown()
    }

    @Test func replayAfterReconnectIsDeduplicatedSortedAndEndsWithReplayDone() async throws {
        let h = try ClawChatHarness()
        let agent = h.simulator.addAccount(userID: "usr_agent")
        let events = ClawChatEventLog()
        let connection = try h.connection("main", settings: h.settings(agent), events: events)
        let chat = h.simulator.directChat("usr_agent", "usr_alice")
        // Offline inbox: three messages in the same millisecond (ULID order ≠ arrival order).
        let ids = (0..<3).map { h.simulator.injectMessage(toUser: "usr_agent", chatID: chat, fromUser: "usr_alice", text: "m\($0)") }
        let runner = ClawChatRunner(connection, clock: h.clock)
        await eventually("replay") { events.messages.count == 3 }
        #expect(events.messages.all.map(\.origin.messageID) == ids.sorted())
        await eventually("replay.done") { events.platformEvents.all.contains { $0.type == "replay.done" && $0.isKnown } }
        // Every dseq was acked, so a reconnect replays nothing…
        await eventually("three dseq acks") { h.simulator.uplinkFrames(userID: "usr_agent").filter { $0.contains(#""event":"ack""#) }.count == 3 }
        #expect(h.simulator.uplinkFrames(userID: "usr_agent").filter { $0.contains(#""event":"ack""#) }.allSatisfy { $0.contains(#""ack_epoch":1"#) })
        h.simulator.dropConnections(userID: "usr_agent")
        await eventually("second session") { h.simulator.connects(userID: "usr_agent").count == 2 && events.states.all.filter { $0 == .connected }.count == 2 }
        // …and a duplicate delivery of the same message_id is dropped by the dedup key.
        await eventually("live again") { h.simulator.liveSessionCount(userID: "usr_agent") == 1 }
        h.simulator.replayDuplicate(toUser: "usr_agent", messageID: ids[0])
        await eventually("duplicate seen") { events.duplicates.count == 1 }
        #expect(events.messages.count == 3)
        await runner.stop()
        await h.shutdown()
    }

    @Test func unknownEventsAreSurfacedAndMalformedFramesAreTypedErrors() async throws {
        let h = try ClawChatHarness()
        let a = try await h.connectedAgent()
        let (_, events, _, runner) = (a.account, a.events, a.connection, a.runner)
        for raw in ["not json", "[1,2]", "{}", #"{"event":5}"#, #"{"version":"2","event":"message.send"}"#,
                    #"{"version":"2","event":"message.send","chat_id":"cnv_x","sender":{"id":"usr_alice"},"payload":{"message_id":"m1"}}"#,
                    #"{"version":"2","event":"message.send","chat_id":"cnv_x","sender":{},"payload":{"message_id":"m2","message":{}}}"#] {
            h.simulator.injectRawFrame(toUser: "usr_agent", raw)
        }
        h.simulator.injectRawFrame(toUser: "usr_agent", #"{"version":"2","event":"galaxy.brain","dseq":41,"payload":{"x":1}}"#)
        h.simulator.injectRawFrame(toUser: "usr_agent", #"{"version":"2","event":"chat.metadata.invalidated","payload":{"scope":["title"],"version":3}}"#)
        await eventually("platform events") { events.platformEvents.count >= 3 }
        #expect(events.errors.all.filter { $0.code == .malformedInput }.count == 7)
        let unknown = try #require(events.platformEvents.all.first { $0.type == "galaxy.brain" })
        #expect(!unknown.isKnown)
        #expect(unknown.payload["payload"]?["x"]?.intValue == 1)
        #expect(events.platformEvents.all.contains { $0.type == "chat.metadata.invalidated" && $0.isKnown })
        await eventually("dseq ack") { h.simulator.uplinkFrames(userID: "usr_agent").contains { $0.contains(#""dseq":41"#) } }
        // Still alive: a real message gets through.
        h.simulator.injectMessage(toUser: "usr_agent", fromUser: "usr_alice", text: "still here?")
        await eventually("message") { events.messages.count == 1 }
        #expect(runner.outcomes.count == 0)
        await runner.stop()
        await h.shutdown()
    }

    @Test func closeCodesFollowTheProtocolAndNeverRefresh() async throws {
        let h = try ClawChatHarness()
        let agent = h.simulator.addAccount(userID: "usr_agent")
        let events = ClawChatEventLog()
        let connection = try h.connection("main", settings: h.settings(agent), events: events)
        let runner = ClawChatRunner(connection, clock: h.clock)
        await eventually("connected") { h.simulator.liveSessionCount(userID: "usr_agent") == 1 }
        h.simulator.close(userID: "usr_agent", code: 4001, reason: "session replaced")
        await eventually("4001 outcome") { runner.outcomes.count == 1 }
        #expect(runner.outcomes.all.first?.after == .some(.seconds(5)))
        await h.clock.waitForSleepers(1)   // the runner's wait
        await h.clock.advance(by: .seconds(4))
        #expect(h.simulator.connects(userID: "usr_agent").count == 1)
        await h.clock.advance(by: .seconds(1))
        await eventually("reconnected") { h.simulator.connects(userID: "usr_agent").count == 2 && h.simulator.liveSessionCount(userID: "usr_agent") == 1 }
        h.simulator.close(userID: "usr_agent", code: 4002, reason: #"{"retry_after_ms":120000}"#)
        await eventually("4002 outcome") { runner.outcomes.count == 2 }
        #expect(runner.outcomes.all.dropFirst().first?.after == .some(.seconds(120)))
        await h.clock.waitForSleepers(1)
        await h.clock.advance(by: .seconds(120))
        await eventually("reconnected") { h.simulator.connects(userID: "usr_agent").count == 3 && h.simulator.liveSessionCount(userID: "usr_agent") == 1 }
        h.simulator.dropConnections(userID: "usr_agent")
        await eventually("1006 outcome") { runner.outcomes.count == 3 }
        #expect(runner.outcomes.all.dropFirst(2).first?.after == .some(nil))
        await eventually("reconnected") { h.simulator.connects(userID: "usr_agent").count == 4 }
        #expect(h.simulator.refreshRequestCount(userID: "usr_agent") == 0)
        #expect(Set(h.simulator.connects(userID: "usr_agent").map(\.token)) == [agent.accessToken])
        await runner.stop()
        await h.shutdown()
    }

    @Test func keepaliveAnswersAndServerPingsKeepTheSocketAlive() async throws {
        let h = try ClawChatHarness()
        let agent = h.simulator.addAccount(userID: "usr_agent")
        let events = ClawChatEventLog()
        let connection = try h.connection("main", settings: h.settings(agent), events: events,
                                          configuration: ClawChatHarness.adapterConfiguration(keepalive: .seconds(30)))
        let runner = ClawChatRunner(connection, clock: h.clock)
        await eventually("connected") { events.states.all.contains(.connected) }
        h.simulator.ping(userID: "usr_agent")   // RFC 6455 ping: answered by the transport
        await h.clock.waitForSleepers(2)   // watchdog tick and proactive refresh
        await h.clock.advance(by: .seconds(30))
        await eventually("json ping") { h.simulator.uplinkFrames(userID: "usr_agent").contains { $0.contains(#""event":"ping""#) } }
        let pingedAt = h.clock.wallNow
        await eventually("pong recorded as activity") { (events.sink.lastActivity ?? .distantPast) >= pingedAt }
        #expect(runner.outcomes.count == 0)
        await runner.stop()
        await h.shutdown()
    }

    @Test func aSilentSocketIsReplacedAfterTwoKeepaliveIntervals() async throws {
        let h = try ClawChatHarness(simulator: ClawChatSimulator.Configuration(handshakeTimeout: nil, answersJSONPing: false))
        let agent = h.simulator.addAccount(userID: "usr_agent")
        let connection = try h.connection("main", settings: h.settings(agent),
                                          configuration: ClawChatHarness.adapterConfiguration(keepalive: .seconds(30)))
        let runner = ClawChatRunner(connection, clock: h.clock)
        await eventually("connected") { h.simulator.liveSessionCount(userID: "usr_agent") == 1 }
        let start = h.clock.now
        await advance(h.clock, step: .seconds(10), upTo: .seconds(90), "stale socket closed") { runner.outcomes.count == 1 }
        #expect(start.duration(to: h.clock.now) >= .seconds(61))
        guard case .reconnect(_, let reason)? = runner.outcomes.all.first else { Issue.record("no outcome"); return }
        #expect(reason.contains("silent"))
        #expect(h.simulator.uplinkFrames(userID: "usr_agent").filter { $0.contains(#""event":"ping""#) }.count == 2)
        await runner.stop()
        await h.shutdown()
    }

    @Test func withoutReplayDoneTheReplayIsDeliveredAfterTheHandshakeTimeout() async throws {
        let h = try ClawChatHarness(simulator: ClawChatSimulator.Configuration(handshakeTimeout: nil, sendsReplayDone: false))
        let agent = h.simulator.addAccount(userID: "usr_agent")
        let events = ClawChatEventLog()
        let connection = try h.connection("main", settings: h.settings(agent), events: events)
        let ids = (0..<2).map { h.simulator.injectMessage(toUser: "usr_agent", fromUser: "usr_alice", text: "offline \($0)") }
        let runner = ClawChatRunner(connection, clock: h.clock)
        await eventually("connected") { events.states.all.contains(.connected) }
        #expect(events.messages.count == 0)   // buffered until replay.done…
        await advance(h.clock, upTo: .seconds(12), "replay flushed") { events.messages.count == 2 }   // …or the deadline
        #expect(events.messages.all.map(\.origin.messageID) == ids.sorted())
        await runner.stop()
        await h.shutdown()
    }

    @Test func cancellationClosesTheSocketPromptly() async throws {
        let h = try ClawChatHarness()
        let agent = h.simulator.addAccount(userID: "usr_agent")
        let events = ClawChatEventLog()
        let connection = try h.connection("main", settings: h.settings(agent), events: events,
                                          configuration: ClawChatHarness.adapterConfiguration(keepalive: .seconds(30)))
        let runner = ClawChatRunner(connection, clock: h.clock)
        await eventually("connected") { h.simulator.liveSessionCount(userID: "usr_agent") == 1 }
        await runner.stop()
        #expect(runner.outcomes.count == 0)
        await eventually("socket closed") { h.simulator.liveSessionCount(userID: "usr_agent") == 0 }
        await connection.shutdown()
        let error = await channelError { try await connection.send(.text("late"), to: DeliveryTarget(peer: Peer(.direct, "cnv_01JZ0000000000000000000000"))) }
        #expect(error?.code == .stopped)
        await h.shutdown()
    }
}

extension Date {
    var flooredToMilliseconds: Date { Date(timeIntervalSince1970: (timeIntervalSince1970 * 1000).rounded() / 1000) }
}
