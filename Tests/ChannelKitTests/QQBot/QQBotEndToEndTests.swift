import Foundation
import Testing
@testable import ChannelKit
@testable import ChannelKitQQBot
import ChannelKitTesting

/// The adapter against the simulator over real loopback sockets, in virtual time.
@Suite struct QQBotEndToEndTests {
    @Test func receivesC2CMessageAndRepliesWithSequencedMsgSeq() async throws {
        let world = try QQBotTestWorld()
        let a = await world.connectedAccount("main", appId: "1001")
        let sim = world.simulator
        let openid = sim.userOpenID(appId: "1001", user: "alice")
        let id = sim.injectC2CMessage(appId: "1001", userOpenID: openid, text: "hello",
                                      attachments: [.init(url: "//multimedia.nt.qq.com/x.png")])
        #expect(await a.waitForMessages(1))
        let message = try #require(a.recorder.messages.first)
        #expect(message.origin.messageID == id)
        #expect(message.origin.peer == Peer(.direct, openid))
        #expect(message.text == "hello")
        #expect(message.attachments.first?.url == "https://multimedia.nt.qq.com/x.png")
        #expect(a.recorder.identities.last??.id == sim.bot(appId: "1001")?.userID)

        for i in 1...3 {
            _ = try await a.connection.send(.text("reply \(i)"), to: DeliveryTarget(replyingTo: message.origin))
        }
        let sent = sim.sentMessages(appId: "1001")
        #expect(sent.map(\.msgSeq) == [1, 2, 3])
        #expect(sent.allSatisfy { $0.msgID == id && $0.targetID == openid })
        #expect(sim.misroutedReplyCount == 0)
        await world.shutdown(a)
    }
}
