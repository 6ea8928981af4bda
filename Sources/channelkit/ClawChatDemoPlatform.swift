import ChannelKit
import ChannelKitTesting
import Foundation
import Synchronization

/// The ClawChat side of the demo: a ``ClawChatSimulator`` with N agent accounts; users
/// write direct messages and post in each agent's team group.
final class ClawChatDemoPlatform: DemoPlatform {
    let channel = ChannelID.clawchat
    let accountIDs: [String]
    private let simulator: ClawChatSimulator
    private let agents: [String: ClawChatSimulator.Account]
    private let groups: [String: String]
    private let users = ["usr_alice", "usr_bob", "usr_carol"]
    private let lastInbound = Mutex<[String: String]>([:])

    init(accounts: Int) throws {
        simulator = ClawChatSimulator()
        try simulator.start()
        var agents: [String: ClawChatSimulator.Account] = [:]
        var ids: [String] = []
        for index in 1...accounts {
            let id = "claw-\(index)"
            ids.append(id)
            agents[id] = simulator.addAccount(userID: "usr_agent\(index)", nickname: "Agent \(index)")
        }
        self.agents = agents
        self.accountIDs = ids
        // One team group per agent (agents in one group would hear each other's echoes).
        var groups: [String: String] = [:]
        for (id, agent) in agents { groups[id] = simulator.addChat(type: .group, members: [agent.userID] + users) }
        self.groups = groups
    }

    func channelConfig() -> JSONValue {
        var accounts: [String: JSONValue] = [:]
        for id in accountIDs {
            guard let agent = agents[id] else { continue }
            accounts[id] = .object([
                "baseUrl": .string(simulator.baseURL.absoluteString),
                "accessToken": .string(agent.accessToken),
                "refreshToken": .string(agent.refreshToken),
                "deviceId": .string(agent.deviceID),
                "userId": .string(agent.userID),
            ])
        }
        return .object(["accounts": .object(accounts)])
    }

    func userSends(account: String, user: Int, text: String) async -> DemoExpectation? {
        guard let agent = agents[account] else { return nil }
        let from = users[user % users.count]
        if user == 2, let group = groups[account] {
            // Carol posts in the agent's team group, mentioning it.
            let id = simulator.injectMessage(toUser: agent.userID, chatID: group, chatType: .group, fromUser: from, text: text, mentions: [agent.userID])
            lastInbound.withLock { $0[account] = id }
            return DemoExpectation(account: account, peerID: group)
        }
        let chat = simulator.directChat(agent.userID, from)
        let id = simulator.injectMessage(toUser: agent.userID, chatID: chat, fromUser: from, text: text)
        lastInbound.withLock { $0[account] = id }
        return DemoExpectation(account: account, peerID: chat)
    }

    func inject(_ fault: DemoFault, account: String) async -> String? {
        guard let agent = agents[account] else { return nil }
        switch fault {
        case .tokenExpiry:
            simulator.expireAccessToken(userID: agent.userID)
            simulator.dropConnections(userID: agent.userID)
            return "access token revoked and socket dropped (hello-fail \"authentication failed\" → one rotation, persisted before use)"
        case .droppedSocket:
            simulator.dropConnections(userID: agent.userID)
            return "socket dropped (1006; device replay after reconnect)"
        case .duplicatePush:
            guard let last = lastInbound.withLock({ $0[account] }) else { return nil }
            simulator.replayDuplicate(toUser: agent.userID, messageID: last)
            return "a delivered message pushed again (same message_id)"
        case .reconnectRequest:
            simulator.close(userID: agent.userID, code: 4001, reason: "session replaced")
            return "close 4001 (session taken over; reconnect after ≥ 5 s)"
        }
    }

    func replies(account: String) -> [DemoReply] {
        guard let agent = agents[account] else { return [] }
        return simulator.sentMessages(userID: agent.userID)
            .filter { !$0.wasDuplicate && ($0.event == "message.send" || $0.event == "message.reply") }
            .map { DemoReply(text: $0.text, peerID: $0.chatID) }
    }

    func refreshes(account: String) -> Int {
        guard let agent = agents[account] else { return 0 }
        return simulator.refreshRequestCount(userID: agent.userID)
    }

    var simulatorMisrouted: Int { simulator.misroutedCount }

    func shutdown() async { await simulator.shutdown() }
}
