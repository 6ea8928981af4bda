import ChannelKit
import Foundation
import Synchronization

/// `gateway-events`: inbound messages per second through the whole gateway pipeline —
/// sink → account actor (generation check, dedup insert, session key) → the one event
/// stream → a consumer — with 100 accounts delivering concurrently.
enum GatewayEventsBench {
    static func run() async {
        say("== gateway events (sink → dedup → session key → stream → consumer) ==")
        let accounts = 100
        let perAccount = 2_000
        let total = accounts * perAccount
        let nanos = await best(of: 3) {
            let adapter = BenchAdapter()
            var configuration = ChannelGateway.Configuration(http: NoHTTP(), webSocket: NoWebSocket())
            configuration.dedup = DedupCache.Configuration(ttl: .seconds(1200), capacity: perAccount * 2)
            configuration.dedupFlushDelay = .seconds(3600)
            let gateway = ChannelGateway(adapters: [adapter], configuration: configuration)
            var settings = GatewaySettings()
            settings.channels[adapter.channel] = ChannelSettings(
                accounts: (0..<accounts).map { (AccountID("a\($0)"), BenchSettings() as any AccountSettings) },
                healthCheckInterval: nil
            )
            await gateway.apply(settings)
            let sinks = await adapter.waitForSinks(accounts)
            let consumer = Task { () -> Int in
                var messages = 0
                for await event in gateway.events {
                    if case .message = event { messages += 1; if messages == total { break } }
                }
                return messages
            }
            let start = monotonicNanos()
            await withTaskGroup(of: Void.self) { group in
                for (index, sink) in sinks.enumerated() {
                    group.addTask {
                        let account = AccountKey(adapter.channel, AccountID("a\(index)"))
                        for i in 0..<perAccount {
                            let origin = Origin(account: account, peer: Peer(.direct, "user-\(i % 50)"), messageID: "m-\(i)")
                            await sink.deliver(InboundMessage(origin: origin, sender: Sender(id: "user-\(i % 50)"), text: "hello \(i)"))
                        }
                    }
                }
            }
            let received = await consumer.value
            let elapsed = monotonicNanos() - start
            precondition(received == total, "lost events: \(received) of \(total)")
            await gateway.shutdown()
            return elapsed
        }
        report("events/s (\(accounts) accounts × \(perAccount))", format(Double(total) / (Double(nanos) / 1e9), 0))
    }
}

struct BenchSettings: AccountSettings, Equatable {
    var enabled = true
}

/// An adapter whose connections only connect and hand their sink to the bench.
final class BenchAdapter: ChannelAdapter, Sendable {
    let channel = ChannelID("bench")
    private let sinks = Mutex<[AccountKey: AccountEventSink]>([:])

    func parseAccount(_ config: ConfigObject) -> (any AccountSettings)? { BenchSettings() }

    func makeConnection(settings: any AccountSettings, context: AccountContext) throws -> any AccountConnection {
        BenchConnection(context: context, adapter: self)
    }

    func register(_ key: AccountKey, _ sink: AccountEventSink) {
        sinks.withLock { $0[key] = sink }
    }

    /// The sinks of `count` connected accounts, ordered by account index.
    func waitForSinks(_ count: Int) async -> [AccountEventSink] {
        while sinks.withLock({ $0.count }) < count { await Task.yield() }
        return sinks.withLock { all in
            (0..<count).compactMap { all[AccountKey(channel, AccountID("a\($0)"))] }
        }
    }
}

struct BenchConnection: AccountConnection {
    let context: AccountContext
    let adapter: BenchAdapter
    var textChunkLimit: Int { 2000 }

    func run() async throws -> AccountRunOutcome {
        await context.events.identity(AccountIdentity(id: "bot"))
        await context.events.state(.connected)
        adapter.register(context.account, context.events)
        let (stream, _) = AsyncStream<Never>.makeStream()
        for await _ in stream {}
        throw CancellationError()
    }

    func send(_ message: OutboundMessage, to target: DeliveryTarget) async throws -> SentMessage { SentMessage(messageID: nil) }
    func probe() async -> AccountProbe { AccountProbe() }
}

struct NoHTTP: HTTPTransport {
    func send(_ request: HTTPRequest) async throws -> HTTPResponse { throw ChannelError(.transport, "no HTTP in this bench") }
}

struct NoWebSocket: WebSocketTransport {
    func connect(_ request: WebSocketRequest) async throws -> any WebSocketConnection { throw ChannelError(.transport, "no WebSocket in this bench") }
}
