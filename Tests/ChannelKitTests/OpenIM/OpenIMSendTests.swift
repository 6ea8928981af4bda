import Foundation
import Testing
@testable import ChannelKit
@testable import ChannelKitOpenIM
import ChannelKitTesting

@Suite("OpenIM sends, uploads and the friend guard")
struct OpenIMSendTests {
    @Test func textGoesToTheRightPeerWithAFreshClientMsgID() async throws {
        let h = try OpenIMHarness()
        let bot = try await h.connectedBot()
        h.simulator.addUser("alice")
        h.simulator.addGroup("g1", members: ["bot", "alice"])
        let a = try await bot.connection.send(.text("hi alice"), to: DeliveryTarget(peer: Peer(.direct, "alice")))
        let b = try await bot.connection.send(.text("hi group"), to: DeliveryTarget(peer: Peer(.group, "g1")))
        let c = try await bot.connection.sendText("look", to: DeliveryTarget(peer: Peer(.group, "g1")), mentioning: ["alice"])
        let sent = h.simulator.sentMessages(userID: "bot")
        #expect(sent.count == 3)
        #expect(sent.map(\.peerID) == ["alice", "g1", "g1"])
        #expect(sent.map(\.message.sessionType) == [1, 3, 3])
        #expect(sent.map(\.message.contentType) == [101, 101, 106])
        #expect(sent.map(\.text) == ["hi alice", "hi group", "@alice look"])
        #expect(sent[2].message.atUserIDList == ["alice"])
        #expect(sent.allSatisfy { $0.message.clientMsgID.count == 32 && $0.message.clientMsgID.allSatisfy(\.isHexDigit) })
        #expect(Set(sent.map(\.message.clientMsgID)).count == 3)
        #expect([a, b, c].map(\.messageID) == sent.map { $0.message.serverMsgID })
        #expect(sent.allSatisfy { $0.message.msgFrom == 100 && $0.message.senderPlatformID == 5 })
        #expect(h.simulator.misroutedCount == 0)
        // The bot's own messages are pushed back to it and dropped.
        for _ in 0..<2000 { await Task.yield() }
        #expect(bot.events.messages.all.isEmpty)
        await bot.runner.stop()
        await h.shutdown()
    }

    @Test(arguments: [(1302, "blocked"), (1303, "not a friend"), (1203, "not a member"), (1402, "muted")])
    func rejectedSendsAreTypedWithTheRawCode(code: Int, words: String) async throws {
        let h = try OpenIMHarness()
        let bot = try await h.connectedBot()
        h.simulator.addUser("alice")
        h.simulator.failNextSends(userID: "bot", code: code, message: "ServerSaid\(code)")
        let error = await channelError { try await bot.connection.send(.text("x"), to: DeliveryTarget(peer: Peer(.direct, "alice"))) }
        #expect(error?.code == .platform)
        #expect(error?.platformCode == code)
        #expect(error?.platformMessage == "ServerSaid\(code)")
        #expect(error?.account == AccountKey(.openim, AccountID("main")))
        #expect(error?.description.contains(words) == true)
        // The account keeps working.
        _ = try await bot.connection.send(.text("after"), to: DeliveryTarget(peer: Peer(.direct, "alice")))
        #expect(h.simulator.sentMessages(userID: "bot").map(\.text) == ["after"])
        await bot.runner.stop()
        await h.shutdown()
    }

    @Test func aGroupTheBotIsNotInAnswers1203() async throws {
        let h = try OpenIMHarness()
        let bot = try await h.connectedBot()
        h.simulator.addGroup("other", members: ["alice"])
        let error = await channelError { try await bot.connection.send(.text("x"), to: DeliveryTarget(peer: Peer(.group, "other"))) }
        #expect(error?.platformCode == 1203)
        await bot.runner.stop()
        await h.shutdown()
    }

    @Test func picturesAndFilesAreUploadedThroughTheObjectMultipartFlow() async throws {
        let h = try OpenIMHarness(minPartSize: 1024)
        let bot = try await h.connectedBot()
        h.simulator.addUser("alice")
        let picture = Data((0..<2500).map { UInt8($0 % 251) })
        let file = Data("a small report".utf8)
        let message = OutboundMessage(text: "see attached", media: [
            OutboundMedia(kind: .image, source: .data(picture), fileName: "cat.png", mimeType: "image/png"),
            OutboundMedia(kind: .file, source: .data(file), fileName: "report.txt", mimeType: "text/plain"),
            OutboundMedia(kind: .video, source: .url("https://cdn.example.com/v.mp4"), fileName: "v.mp4", mimeType: "video/mp4"),
        ])
        _ = try await bot.connection.send(message, to: DeliveryTarget(peer: Peer(.direct, "alice")))
        #expect(h.simulator.object(named: "bot/cat.png") == [UInt8](picture))   // 3 parts of 1,024 bytes, md5-checked
        #expect(h.simulator.object(named: "bot/report.txt") == [UInt8](file))
        let sent = h.simulator.sentMessages(userID: "bot")
        #expect(sent.map(\.message.contentType) == [102, 105, 105, 101])
        let pictureElem = try JSONDecoder().decode(JSONValue.self, from: Data(sent[0].message.content))
        #expect(pictureElem["sourcePicture"]?["url"]?.stringValue == h.simulator.apiURL.absoluteString + "/object/bot/cat.png")
        #expect(pictureElem["sourcePicture"]?["size"]?.intValue == 2500)
        let fileElem = try JSONDecoder().decode(JSONValue.self, from: Data(sent[2].message.content))
        #expect(fileElem["sourceUrl"]?.stringValue == "https://cdn.example.com/v.mp4")
        #expect(fileElem["fileName"]?.stringValue == "v.mp4")
        #expect(sent[3].text == "see attached")
        // The uploaded object is downloadable.
        let url = try #require(URL(string: pictureElem["sourcePicture"]?["url"]?.stringValue ?? ""))
        let response = try await h.http.send(HTTPRequest(url: url))
        #expect([UInt8](response.body) == [UInt8](picture))
        await bot.runner.stop()
        await h.shutdown()
    }

    @Test func textOverTheFrameLimitIsSplitAndOtherFramesAreRejected() async throws {
        let h = try OpenIMHarness()
        var configuration = OpenIMAdapter.Configuration()
        configuration.textChunkLimit = 100_000
        let bot = try await h.connectedBot(configuration: configuration)
        h.simulator.addUser("alice")
        let long = String(repeating: "0123456789 ", count: 4000)   // 44,000 chars → base64 > 51,200
        _ = try await bot.connection.send(.text(long), to: DeliveryTarget(peer: Peer(.direct, "alice")))
        let sent = h.simulator.sentMessages(userID: "bot")
        #expect(sent.count >= 2)
        #expect(sent.map(\.text).joined(separator: " ").filter { !$0.isWhitespace } == long.filter { !$0.isWhitespace })
        #expect(h.simulator.oversizeCloseCount == 0)
        let error = await channelError { try await bot.connection.request(1003, [UInt8](repeating: 7, count: 60_000)) }
        #expect(error?.code == .invalidState)
        #expect(error?.platformMessage == "frame_too_large")
        await bot.runner.stop()
        await h.shutdown()
    }

    @Test func friendOperationsAreGuardedUnlessDisableFriendSdkIsFalse() async throws {
        let h = try OpenIMHarness()
        let guarded = try await h.connectedBot()
        let calls: [(String, () async throws -> Void)] = [
            ("addFriend", { try await guarded.connection.friends.addFriend("alice") }),
            ("deleteFriend", { try await guarded.connection.friends.deleteFriend("alice") }),
            ("getFriendList", { _ = try await guarded.connection.friends.getFriendList() }),
            ("addBlack", { try await guarded.connection.friends.addBlack("alice") }),
            ("removeBlack", { try await guarded.connection.friends.removeBlack("alice") }),
            ("acceptFriendApplication", { try await guarded.connection.friends.acceptFriendApplication(from: "alice") }),
        ]
        for (name, call) in calls {
            let error = await channelError { try await call() }
            #expect(error?.description.contains("OPENIM_FRIEND_API_DISABLED") == true)
            #expect(error?.description.contains("\(name)()") == true)
            #expect(error?.description.contains("account=main") == true)
        }
        #expect(h.simulator.friendCalls.isEmpty)

        let open = try await h.connectedBot("bot2", accountID: "second", disableFriendSdk: false)
        h.simulator.addUser("alice")
        try await open.connection.friends.addFriend("alice")
        #expect(try await open.connection.friends.getFriendList() == ["alice"])
        try await open.connection.friends.addBlack("carol")
        #expect(try await open.connection.friends.getBlackList() == ["carol"])
        try await open.connection.friends.removeBlack("carol")
        try await open.connection.friends.deleteFriend("alice")
        #expect(try await open.connection.friends.getFriendList() == [])
        #expect(h.simulator.friendCalls.allSatisfy { $0.userID == "bot2" })
        #expect(h.simulator.misroutedCount == 0)
        await guarded.runner.stop()
        await open.runner.stop()
        await h.shutdown()
    }
}
