import ChannelKit
import ChannelKitTesting
import Foundation
import Synchronization

/// The OpenIM side of the demo: two ``OpenIMSimulator`` servers, the accounts spread over
/// them; users write direct messages and @-mention the bot in its team group. Token
/// faults are recovered through `tokenRefresh` mode `http` against each server's
/// `/test/refresh` (the endpoint comes from a per-account state file).
final class OpenIMDemoPlatform: DemoPlatform {
    let channel = ChannelID.openim
    let accountIDs: [String]
    private let servers: [OpenIMSimulator]
    private let bots: [String: (server: Int, account: OpenIMSimulator.Account)]
    private let users = ["alice", "bob", "carol"]
    private let stateFile: URL
    private let lastInbound = Mutex<[String: String]>([:])

    init(accounts: Int) throws {
        servers = try (0..<2).map { _ in
            let sim = OpenIMSimulator()
            try sim.start()
            return sim
        }
        var bots: [String: (Int, OpenIMSimulator.Account)] = [:]
        var ids: [String] = []
        var state: [String: JSONValue] = [:]
        for index in 1...accounts {
            let id = "openim-\(index)"
            let server = (index - 1) % servers.count
            let sim = servers[server]
            let bot = sim.addAccount(userID: "bot\(index)", nickname: "Bot \(index)")
            for user in users where sim.account(user) == nil { sim.addUser(user) }
            sim.addGroup("team-\(index)", members: [bot.userID] + users)
            bots[id] = (server, bot)
            ids.append(id)
            state[id] = ["refresh_url": .string(sim.apiURL.absoluteString), "user": .string(bot.userID)]
        }
        self.bots = bots
        self.accountIDs = ids
        stateFile = FileManager.default.temporaryDirectory.appendingPathComponent("channelkit-demo-openim-\(UUID().uuidString).json")
        try Data(JSONValue.object(state).jsonText.utf8).write(to: stateFile)
    }

    func channelConfig() -> JSONValue {
        var accounts: [String: JSONValue] = [:]
        for id in accountIDs {
            guard let (server, bot) = bots[id] else { continue }
            accounts[id] = servers[server].accountConfig(for: bot)
        }
        return .object([
            "accounts": .object(accounts),
            "tokenRefresh": ["mode": "http", "http": [
                "stateFile": .string(stateFile.path), "endpoint": "{state.refresh_url}/test/refresh", "method": "POST",
                "headers": ["content-type": "application/json"], "body": ["userID": "{state.user}"], "responseTokenPath": ["token", "data.token"],
            ]],
        ])
    }

    func userSends(account: String, user: Int, text: String) async -> DemoExpectation? {
        guard let (server, bot) = bots[account] else { return nil }
        let sim = servers[server]
        let from = users[user % users.count]
        let sent: OpenIMSimulatorMessage
        let peer: String
        if user % users.count == 2 {
            peer = "team-\(account.split(separator: "-").last ?? "")"
            sent = sim.injectGroupMessage(from: from, groupID: peer, text: text, atUserIDs: [bot.userID])
        } else {
            peer = from
            sent = sim.injectMessage(from: from, to: bot.userID, text: text)
        }
        lastInbound.withLock { $0[account] = sent.clientMsgID }
        return DemoExpectation(account: account, peerID: peer)
    }

    func inject(_ fault: DemoFault, account: String) async -> String? {
        guard let (server, bot) = bots[account] else { return nil }
        let sim = servers[server]
        switch fault {
        case .tokenExpiry:
            sim.expireTokens(userID: bot.userID, drop: true)
            return "token expired and socket dropped (connect answers 1501 → tokenRefresh http → new token; the gap is pulled)"
        case .droppedSocket:
            sim.dropConnections(userID: bot.userID)
            return "socket dropped (1006; 1001/1002 pull what arrived meanwhile)"
        case .duplicatePush:
            guard let last = lastInbound.withLock({ $0[account] }) else { return nil }
            sim.pushDuplicate(toUser: bot.userID, clientMsgID: last)
            return "a delivered message pushed again (same clientMsgID)"
        case .reconnectRequest:
            sim.kick(userID: bot.userID)
            return "kicked by a second login (2002 → 1506; tokenRefresh http → new token)"
        }
    }

    func replies(account: String) -> [DemoReply] {
        guard let (server, bot) = bots[account] else { return [] }
        return servers[server].sentMessages(userID: bot.userID).map { DemoReply(text: $0.text, peerID: $0.peerID) }
    }

    func refreshes(account: String) -> Int {
        guard let (server, bot) = bots[account] else { return 0 }
        return servers[server].refreshCount(userID: bot.userID)
    }

    var simulatorMisrouted: Int { servers.reduce(0) { $0 + $1.misroutedCount } }

    func shutdown() async {
        for sim in servers { await sim.shutdown() }
        try? FileManager.default.removeItem(at: stateFile)
    }
}
