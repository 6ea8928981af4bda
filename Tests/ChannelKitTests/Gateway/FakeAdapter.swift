import ChannelKit
import ChannelKitTesting
import Foundation
import Synchronization

/// Settings of the scripted test platform.
struct FakeSettings: AccountSettings, Equatable {
    var enabled = true
    var token: String
    var textLimit = 100
}

/// A scripted platform for gateway tests: every connection it makes is recorded, runs
/// until the test ends it, and records what it sends.
final class FakePlatform: Sendable {
    struct Sent: Sendable {
        let account: AccountKey
        let token: String
        let target: DeliveryTarget
        let text: String
    }

    let connections = Mutex<[AccountKey: [FakeConnection]]>([:])
    let sent = TestRecorder<Sent>()
    /// Whether new runs report `.connected` at once.
    let autoConnect = Mutex(true)
    /// Identity discovery per account: default `nil` (identity comes from the connection).
    let identityProbe = Mutex<(@Sendable (AccountKey, Int) async throws -> AccountIdentity?)?>(nil)
    /// Identity reported by the connection when it connects, per account.
    let connectionIdentity = Mutex<[AccountKey: AccountIdentity]>([:])
    /// Sends that answer `.rateLimited` before succeeding, per peer id.
    let rateLimitsBeforeSuccess = Mutex<[String: Int]>([:])

    func latest(_ key: AccountKey) -> FakeConnection? {
        connections.withLock { $0[key]?.last }
    }

    func count(_ key: AccountKey) -> Int {
        connections.withLock { $0[key]?.count ?? 0 }
    }
}

struct FakeAdapter: ChannelAdapter {
    let channel: ChannelID
    let platform: FakePlatform

    func parseAccount(_ config: ConfigObject) -> (any AccountSettings)? {
        let token = config.secret("token", required: true)
        let enabled = config.bool("enabled") ?? true
        let limit = config.int("textLimit", in: 16...10_000) ?? 100
        config.rejectUnknownKeys()
        guard let token else { return nil }
        return FakeSettings(enabled: enabled, token: token.reveal(), textLimit: limit)
    }

    func makeConnection(settings: any AccountSettings, context: AccountContext) throws -> any AccountConnection {
        guard let settings = settings as? FakeSettings else {
            throw ChannelError(.invalidConfiguration, "not fake settings")
        }
        let index = platform.count(context.account)
        let connection = FakeConnection(settings: settings, context: context, platform: platform, index: index)
        platform.connections.withLock { $0[context.account, default: []].append(connection) }
        return connection
    }
}

final class FakeConnection: AccountConnection, Sendable {
    let settings: FakeSettings
    let context: AccountContext
    let platform: FakePlatform
    /// Which connection of its account this is (0 = first).
    let index: Int
    let runs = Mutex(0)
    let isShutDown = Mutex(false)
    private let endings: AsyncStream<AccountRunOutcome>
    private let ender: AsyncStream<AccountRunOutcome>.Continuation
    /// Runs that are currently inside `run()`.
    let active = Mutex(0)

    init(settings: FakeSettings, context: AccountContext, platform: FakePlatform, index: Int) {
        self.settings = settings
        self.context = context
        self.platform = platform
        self.index = index
        (endings, ender) = AsyncStream.makeStream()
    }

    var textChunkLimit: Int { settings.textLimit }

    func run() async throws -> AccountRunOutcome {
        runs.withLock { $0 += 1 }
        active.withLock { $0 += 1 }
        defer { active.withLock { $0 -= 1 } }
        if platform.autoConnect.withLock({ $0 }) {
            if let identity = platform.connectionIdentity.withLock({ $0[context.account] }) {
                await context.events.identity(identity)
            }
            await context.events.state(.connected)
        }
        for await outcome in endings {
            return outcome
        }
        throw CancellationError()
    }

    /// Ends the current (or next) run with `outcome`.
    func end(_ outcome: AccountRunOutcome) {
        ender.yield(outcome)
    }

    func discoverIdentity() async throws -> AccountIdentity? {
        guard let probe = platform.identityProbe.withLock({ $0 }) else { return nil }
        return try await probe(context.account, index)
    }

    func send(_ message: OutboundMessage, to target: DeliveryTarget) async throws -> SentMessage {
        let limited = platform.rateLimitsBeforeSuccess.withLock { limits -> Bool in
            guard let left = limits[target.peer.id], left > 0 else { return false }
            limits[target.peer.id] = left - 1
            return true
        }
        if limited {
            var error = ChannelError(.rateLimited, "slow down", account: context.account, platformCode: 22009)
            error.retryAfter = .seconds(2)
            throw error
        }
        platform.sent.record(.init(account: context.account, token: settings.token, target: target, text: message.text))
        return SentMessage(messageID: "sent-\(platform.sent.count)")
    }

    func probe() async -> AccountProbe {
        AccountProbe(tokenOK: true, identity: platform.connectionIdentity.withLock { $0[context.account] }, gatewayReachable: true)
    }

    func shutdown() async {
        isShutDown.withLock { $0 = true }
    }

    /// Delivers an inbound message from `peer` through this connection's sink.
    @discardableResult
    func inject(_ text: String, from peer: Peer, id: String, sender: String? = nil) async -> Bool {
        let origin = Origin(account: context.account, peer: peer, messageID: id)
        return await context.events.deliver(InboundMessage(origin: origin, sender: Sender(id: sender ?? peer.id), text: text))
    }
}

extension ChannelGateway.Configuration {
    /// A test configuration on a virtual clock with an in-memory store.
    static func test(_ clock: TestClock, store: any StateStore = InMemoryStateStore(), logger: ChannelLogger = .disabled) -> Self {
        ChannelGateway.Configuration(
            time: clock.timeSource,
            logger: logger,
            store: store,
            http: UnusedHTTPTransport(),
            webSocket: UnusedWebSocketTransport(),
            dedupFlushDelay: .zero
        )
    }
}

struct UnusedHTTPTransport: HTTPTransport {
    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        throw ChannelError(.transport, "no HTTP in this test")
    }
}

struct UnusedWebSocketTransport: WebSocketTransport {
    func connect(_ request: WebSocketRequest) async throws -> any WebSocketConnection {
        throw ChannelError(.transport, "no WebSocket in this test")
    }
}

let fakeA = ChannelID("fakea")
let fakeB = ChannelID("fakeb")

/// Settings with `accounts` on each of the given channels.
func fakeSettings(_ channels: [ChannelID: [String: FakeSettings]], dmScope: DMScope = .perAccountChannelPeer) -> GatewaySettings {
    var settings = GatewaySettings(dmScope: dmScope)
    for (channel, accounts) in channels {
        settings.channels[channel] = ChannelSettings(
            accounts: accounts.sorted { $0.key < $1.key }.map { (AccountID($0.key), $0.value as any AccountSettings) },
            healthCheckInterval: nil
        )
    }
    return settings
}
