import ChannelKit
import ChannelKitTesting
import Foundation

/// The Feishu/Lark side of the demo: a ``FeishuSimulator`` with N apps; users write p2p
/// messages and @-mention the bots in a shared group. The simulator asks for quick
/// reconnects (`ReconnectNonce` 1 s) so a dropped socket recovers inside the demo.
final class FeishuDemoPlatform: DemoPlatform {
    let channel = ChannelID.feishu
    let accountIDs: [String]
    private let simulator: FeishuSimulator
    private let apps: [String: FeishuSimulator.App]
    private let users = ["alice", "bob", "carol"]

    init(accounts: Int) throws {
        simulator = try FeishuSimulator(configuration: .init(
            clientConfig: ["ReconnectCount": -1, "ReconnectInterval": 120, "ReconnectNonce": 1, "PingInterval": 30]))
        var apps: [String: FeishuSimulator.App] = [:]
        var ids: [String] = []
        for index in 1...accounts {
            let id = "feishu-\(index)"
            ids.append(id)
            apps[id] = simulator.addApp(appId: "cli_demo\(String(format: "%04d", index))", appSecret: "demo-secret-\(index)-\(UUID().uuidString.prefix(8))",
                                        name: "Demo bot \(index)")
        }
        self.apps = apps
        self.accountIDs = ids
    }

    func channelConfig() -> JSONValue {
        var accounts: [String: JSONValue] = [:]
        for id in accountIDs {
            guard let app = apps[id] else { continue }
            accounts[id] = simulator.accountConfig(for: app)
        }
        return .object(["accounts": .object(accounts)])
    }

    func userSends(account: String, user: Int, text: String) async -> DemoExpectation? {
        guard let app = apps[account] else { return nil }
        let name = users[user % users.count]
        if user == 2 {
            // Carol writes in the team group, @-mentioning the bot.
            simulator.injectGroupMessage(appId: app.appId, group: "team", user: name, text: text)
            return DemoExpectation(account: account, peerID: simulator.groupChatID(group: "team"))
        }
        simulator.injectDirectMessage(appId: app.appId, user: name, text: text)
        return DemoExpectation(account: account, peerID: simulator.p2pChatID(appId: app.appId, user: name))
    }

    func inject(_ fault: DemoFault, account: String) async -> String? {
        guard let app = apps[account] else { return nil }
        switch fault {
        case .tokenExpiry:
            simulator.expireToken(appId: app.appId)
            return "tenant token expired (next send gets 99991663; the token is refetched for this appId and the send retried once)"
        case .droppedSocket:
            simulator.dropConnections(appId: app.appId)
            return "long connection dropped (fresh endpoint call, new ticket; unacked events pushed again)"
        case .duplicatePush:
            simulator.duplicateLastEvent(appId: app.appId)
            simulator.redeliverLastWithNewMessageID(appId: app.appId)
            return "last event pushed again, and once more under a new message_id"
        case .reconnectRequest:
            simulator.requestReconnect(appId: app.appId)
            return "server closed the long connection (reconnect with a new ticket)"
        }
    }

    func replies(account: String) -> [DemoReply] {
        guard let app = apps[account] else { return [] }
        return simulator.sentMessages(appId: app.appId).map { DemoReply(text: $0.text ?? "", peerID: $0.chatID ?? "") }
    }

    func refreshes(account: String) -> Int {
        guard let app = apps[account] else { return 0 }
        return max(0, simulator.tokenFetchCount(appId: app.appId) - 1)
    }

    var simulatorMisrouted: Int { simulator.misroutedCount }

    func shutdown() async { await simulator.shutdown() }
}
