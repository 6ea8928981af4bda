import Foundation
import Synchronization
import ChannelKit
import ChannelKitClawChat
import ChannelKitTesting

/// ClawChat adapter figures against the loopback simulator (real sockets, system clock):
/// accounts connected per second, acked sends per second on one account, inbound
/// messages delivered per second, and the cost of 1,000 concurrent REST 401s that share
/// one token refresh.
enum ClawChatBench {
    final class Counter: Sendable {
        let value = Mutex(0)
        func increment() { value.withLock { $0 += 1 } }
        var count: Int { value.withLock { $0 } }
    }

    static func run(accounts: Int = 200) async throws {
        say("== ClawChat adapter (loopback simulator)")
        let simulator = ClawChatSimulator()
        try simulator.start()
        let http = URLSessionHTTPTransport()
        let webSocket = makeDefaultWebSocketTransport()
        let store = InMemoryStateStore()
        var configuration = ClawChatAdapter.Configuration(keepaliveInterval: nil)
        configuration.refresh.random = { 0.5 }
        let adapter = ClawChatAdapter(configuration: configuration)
        let connected = Counter(), delivered = Counter()

        var built: [ClawChatConnection] = []
        for i in 0..<accounts {
            let account = simulator.addAccount(userID: "usr_bench_\(i)")
            let identity = AccountIdentityCell()
            let sink = AccountEventSink { event in
                switch event {
                case .state(.connected): connected.increment()
                case .message: delivered.increment()
                case .identity(let id): identity.set(id)
                default: break
                }
                return true
            }
            let context = AccountContext(account: AccountKey(.clawchat, AccountID("bench-\(i)")), time: .system, logger: .disabled,
                                         store: store, http: http, webSocket: webSocket, tokenCache: TokenCache(), events: sink, identity: identity)
            let settings = ClawChatAccountSettings(baseURL: simulator.baseURL, accessToken: Secret(account.accessToken),
                                                   refreshToken: Secret(account.refreshToken), deviceID: account.deviceID)
            guard let connection = try adapter.makeConnection(settings: settings, context: context) as? ClawChatConnection else { return }
            built.append(connection)
        }
        let connections = built

        let t0 = monotonicNanos()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for connection in connections {
                group.addTask {
                    while !Task.isCancelled {
                        _ = try? await connection.run()
                        try await ContinuousClock().sleep(for: .milliseconds(50))
                    }
                }
            }
            while connected.count < accounts { try await ContinuousClock().sleep(for: .milliseconds(2)) }
            let connectSeconds = Double(monotonicNanos() - t0) / 1e9
            report("connect \(accounts) accounts (challenge → hello-ok)", "\(format(connectSeconds * 1000)) ms, \(Int(Double(accounts) / connectSeconds)) accounts/s")

            // Acked sends, one account, one after another.
            let chat = simulator.directChat("usr_bench_0", "usr_human")
            let target = DeliveryTarget(peer: Peer(.direct, chat))
            let sends = 2_000
            for _ in 0..<100 { _ = try await connections[0].send(.text("warm-up"), to: target) }
            let s0 = monotonicNanos()
            for i in 0..<sends { _ = try await connections[0].send(.text("message \(i)"), to: target) }
            let sendSeconds = Double(monotonicNanos() - s0) / 1e9
            report("acked sends, 1 account, sequential", "\(Int(Double(sends) / sendSeconds)) sends/s")

            // Concurrent acked sends across accounts.
            let perAccount = 20
            let c0 = monotonicNanos()
            try await withThrowingTaskGroup(of: Void.self) { sendGroup in
                for (i, connection) in connections.enumerated() {
                    let chat = simulator.directChat("usr_bench_\(i)", "usr_human")
                    sendGroup.addTask {
                        for n in 0..<perAccount { _ = try await connection.send(.text("m\(n)"), to: DeliveryTarget(peer: Peer(.direct, chat))) }
                    }
                }
                try await sendGroup.waitForAll()
            }
            let concurrentSeconds = Double(monotonicNanos() - c0) / 1e9
            report("acked sends, \(accounts) accounts × \(perAccount) concurrently", "\(Int(Double(accounts * perAccount) / concurrentSeconds)) sends/s")

            // Inbound: the simulator pushes, the adapter parses and delivers.
            let before = delivered.count
            let inbound = 5_000
            let i0 = monotonicNanos()
            for n in 0..<inbound {
                simulator.injectMessage(toUser: "usr_bench_\(n % accounts)", fromUser: "usr_human", text: "inbound \(n)")
            }
            while delivered.count - before < inbound { try await ContinuousClock().sleep(for: .milliseconds(1)) }
            let inboundSeconds = Double(monotonicNanos() - i0) / 1e9
            report("inbound messages delivered (\(inbound) over \(accounts) accounts)", "\(Int(Double(inbound) / inboundSeconds)) msgs/s")

            // 1,000 concurrent REST calls hit 401 and share one refresh.
            simulator.expireAccessToken(userID: "usr_bench_1")
            let r0 = monotonicNanos()
            let probes = try await withThrowingTaskGroup(of: Bool.self) { probeGroup in
                for _ in 0..<1_000 { probeGroup.addTask { (try? await connections[1].fetchOwnUser()) != nil } }
                var ok = 0
                for try await success in probeGroup where success { ok += 1 }
                return ok
            }
            let refreshSeconds = Double(monotonicNanos() - r0) / 1e9
            report("1,000 concurrent REST 401s → refresh requests", "\(simulator.refreshRequestCount(userID: "usr_bench_1")) (\(probes) succeeded, \(format(refreshSeconds * 1000)) ms)")
            group.cancelAll()
        }
        for connection in connections { await connection.shutdown() }
        http.shutdown()
        await simulator.shutdown()
    }
}
