import ChannelKit

/// One platform in `channelkit demo`: its simulator, its accounts, its faults, and what
/// its simulator saw the bots send.
protocol DemoPlatform: Sendable {
    /// The channel.
    var channel: ChannelID { get }
    /// Account ids, in order.
    var accountIDs: [String] { get }
    /// The `channels.<channel>` object of the generated configuration.
    func channelConfig() -> JSONValue
    /// A simulated user writes to `account`; returns where the echo must land.
    func userSends(account: String, user: Int, text: String) async -> DemoExpectation?
    /// Injects a fault into `account`; returns a description, or `nil` if not supported.
    func inject(_ fault: DemoFault, account: String) async -> String?
    /// What the simulator received from `account` (accepted sends only).
    func replies(account: String) -> [DemoReply]
    /// Token refreshes the simulator served to `account` beyond its first token.
    func refreshes(account: String) -> Int
    /// Replies the simulator itself flagged as misrouted (wrong token, wrong bot, unknown peer).
    var simulatorMisrouted: Int { get }
    /// Stops the simulator.
    func shutdown() async
}

/// Where an echo must arrive: which account, which conversation.
struct DemoExpectation: Sendable, Hashable {
    let account: String
    let peerID: String
}

/// One send the simulator accepted.
struct DemoReply: Sendable, Hashable {
    let text: String
    let peerID: String
}

/// The faults the demo injects.
enum DemoFault: String, Sendable, CaseIterable {
    case tokenExpiry = "token expiry"
    case droppedSocket = "dropped socket"
    case duplicatePush = "duplicate push"
    case reconnectRequest = "server-requested reconnect"
}
