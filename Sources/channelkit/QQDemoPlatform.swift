import ChannelKit
import ChannelKitTesting
import Foundation

/// The QQ Bot side of the demo: a ``QQBotSimulator`` with N bots; users write C2C
/// messages and @-mention the bots in a shared group.
final class QQDemoPlatform: DemoPlatform {
    let channel = ChannelID.qqbot
    let accountIDs: [String]
    private let simulator: QQBotSimulator
    private let bots: [String: QQBotSimulator.Bot]
    private let users = ["alice", "bob", "carol"]

    init(accounts: Int) throws {
        simulator = try QQBotSimulator()
        var bots: [String: QQBotSimulator.Bot] = [:]
        var ids: [String] = []
        for index in 1...accounts {
            let id = "qq-\(index)"
            ids.append(id)
            bots[id] = simulator.addBot(appId: "10\(200_300 + index)", clientSecret: "demo-secret-\(index)-\(UUID().uuidString.prefix(8))")
        }
        self.bots = bots
        self.accountIDs = ids
    }

    func channelConfig() -> JSONValue {
        var accounts: [String: JSONValue] = [:]
        for id in accountIDs {
            guard let bot = bots[id] else { continue }
            accounts[id] = .object([
                "appId": .string(bot.appId),
                "clientSecret": .string(bot.clientSecret),
                "apiBaseUrl": .string(simulator.apiBaseURL.absoluteString),
                "tokenUrl": .string(simulator.tokenURL.absoluteString),
            ])
        }
        return .object(["accounts": .object(accounts)])
    }

    func userSends(account: String, user: Int, text: String) async -> DemoExpectation? {
        guard let bot = bots[account] else { return nil }
        let name = users[user % users.count]
        if user == 2 {
            // Carol writes in the team group, @-mentioning the bot.
            let group = simulator.groupOpenID(appId: bot.appId, group: "team")
            simulator.injectGroupAtMessage(appId: bot.appId, groupOpenID: group, memberOpenID: simulator.memberOpenID(appId: bot.appId, group: "team", user: name), text: text)
            return DemoExpectation(account: account, peerID: group)
        }
        let openID = simulator.userOpenID(appId: bot.appId, user: name)
        simulator.injectC2CMessage(appId: bot.appId, userOpenID: openID, text: text)
        return DemoExpectation(account: account, peerID: openID)
    }

    func inject(_ fault: DemoFault, account: String) async -> String? {
        guard let bot = bots[account] else { return nil }
        switch fault {
        case .tokenExpiry:
            simulator.expireToken(appId: bot.appId)
            return "access token expired (next send gets 11244, the token is refetched for this appId only)"
        case .droppedSocket:
            simulator.dropConnections(appId: bot.appId)
            return "gateway socket dropped (1006; resume with session id and seq)"
        case .duplicatePush:
            simulator.duplicateLastPush(appId: bot.appId)
            return "last dispatch pushed again (same d.id, new seq)"
        case .reconnectRequest:
            simulator.sendReconnect(appId: bot.appId)
            return "op 7 reconnect (resume)"
        }
    }

    func replies(account: String) -> [DemoReply] {
        guard let bot = bots[account] else { return [] }
        return simulator.allSends
            .filter { $0.accepted && $0.appId == bot.appId && !$0.scene.hasSuffix("-file") }
            .map { DemoReply(text: $0.content ?? $0.markdown ?? "", peerID: $0.targetID) }
    }

    func refreshes(account: String) -> Int {
        guard let bot = bots[account] else { return 0 }
        return max(0, simulator.tokenFetchCount(appId: bot.appId) - 1)
    }

    var simulatorMisrouted: Int { simulator.misroutedReplyCount }

    func shutdown() async { await simulator.shutdown() }
}
