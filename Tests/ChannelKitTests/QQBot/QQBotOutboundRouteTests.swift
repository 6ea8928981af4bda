import Foundation
import Testing
@testable import ChannelKit
@testable import ChannelKitQQBot

@Suite struct QQBotOutboundRouteTests {
    static let account = AccountKey(.qqbot, "main")

    func origin(_ peer: Peer, scene: QQBotScene, guild: String? = nil, account: AccountKey = account) -> Origin {
        var context = ["scene": scene.rawValue]
        if let guild { context["guildId"] = guild }
        return Origin(account: account, peer: peer, messageID: "MSG1", replyContext: context)
    }

    @Test func repliesGoToTheSceneEndpointWithMsgID() throws {
        let c2c = try QQBotOutboundRoute(target: DeliveryTarget(replyingTo: origin(Peer(.direct, "U1"), scene: .c2c)), account: Self.account)
        #expect(c2c.messagesPath == "/v2/users/U1/messages" && c2c.replyToMessageID == "MSG1" && c2c.isV2)
        let group = try QQBotOutboundRoute(target: DeliveryTarget(replyingTo: origin(Peer(.group, "G1"), scene: .group)), account: Self.account)
        #expect(group.messagesPath == "/v2/groups/G1/messages" && group.filesPath == "/v2/groups/G1/files")
        let channel = try QQBotOutboundRoute(target: DeliveryTarget(replyingTo: origin(Peer(.channel, "C1"), scene: .guild, guild: "g")), account: Self.account)
        #expect(channel.messagesPath == "/channels/C1/messages" && !channel.isV2)
    }

    @Test func guildDMReplyGoesToTheDMGuildNotTheUser() throws {
        let route = try QQBotOutboundRoute(target: DeliveryTarget(replyingTo: origin(Peer(.direct, "user42"), scene: .guildDM, guild: "dmguild7")),
                                           account: Self.account)
        #expect(route.messagesPath == "/dms/dmguild7/messages")
        #expect(route.replyToMessageID == "MSG1")
        #expect(throws: ChannelError.self) {
            try QQBotOutboundRoute(target: DeliveryTarget(replyingTo: origin(Peer(.direct, "user42"), scene: .guildDM)), account: Self.account)
        }
    }

    @Test func proactiveSendsAreAddressedByPeer() throws {
        #expect(try QQBotOutboundRoute(target: DeliveryTarget(peer: Peer(.direct, "U1")), account: Self.account).messagesPath == "/v2/users/U1/messages")
        #expect(try QQBotOutboundRoute(target: DeliveryTarget(peer: Peer(.direct, "dms:777")), account: Self.account).messagesPath == "/dms/777/messages")
        #expect(try QQBotOutboundRoute(target: DeliveryTarget(peer: Peer(.channel, "C9")), account: Self.account).messagesPath == "/channels/C9/messages")
        let proactive = try QQBotOutboundRoute(target: DeliveryTarget(peer: Peer(.group, "G9")), account: Self.account)
        #expect(proactive.replyToMessageID == nil)
    }

    @Test func aReplyCannotLeaveThroughAnotherAccount() {
        let foreign = origin(Peer(.direct, "U1"), scene: .c2c, account: AccountKey(.qqbot, "other"))
        #expect(throws: ChannelError.self) { try QQBotOutboundRoute(target: DeliveryTarget(replyingTo: foreign), account: Self.account) }
    }

    @Test func pathSegmentsCannotEscape() throws {
        let route = try QQBotOutboundRoute(target: DeliveryTarget(peer: Peer(.direct, "../../gateway?x")), account: Self.account)
        #expect(route.messagesPath == "/v2/users/..%2F..%2Fgateway%3Fx/messages")
    }

    @Test func msgSeqCountsPerMessageIDAndIsNeverReused() {
        var sequencer = QQBotReplySequencer()
        let now = Date(timeIntervalSince1970: 0)
        #expect((0..<4).map { _ in sequencer.next(for: "A", now: now) } == [1, 2, 3, 4])
        #expect(sequencer.next(for: "B", now: now) == 1)
        #expect(sequencer.next(for: "A", now: now) == 5)
    }

    @Test func oldMessageIDsArePrunedPastRetention() {
        var sequencer = QQBotReplySequencer()
        sequencer.pruneThreshold = 2
        let t0 = Date(timeIntervalSince1970: 0)
        _ = sequencer.next(for: "A", now: t0)
        _ = sequencer.next(for: "B", now: t0)
        _ = sequencer.next(for: "C", now: t0)
        _ = sequencer.next(for: "D", now: t0.addingTimeInterval(3 * 3600))
        #expect(sequencer.count == 1)
    }
}
