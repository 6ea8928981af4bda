import ChannelKit
import ChannelKitQQBot
import ChannelKitTesting
import Foundation
import Synchronization

/// `gateway-scale`: N QQ accounts (default 1,000) on the QQ simulator in one process —
/// time until every account is connected (token fetch, GET /gateway, WebSocket, Hello,
/// Identify, READY), resident memory per account, and end-to-end events/s (simulator
/// push → WebSocket → QQ decode → gateway dedup → event stream).
///
/// The simulator runs in the same process, so the memory figure includes its side of
/// every connection too (an upper bound for the client).
enum GatewayScaleBench {
    static func run(accounts: Int = 1000) async throws {
        say("== gateway scale: \(accounts) QQ accounts on the simulator, one process ==")
        raiseFileLimit(to: accounts * 3 + 256)
        let simulator = try QQBotSimulator()
        var accountObjects: [String: JSONValue] = [:]
        var appIDs: [String] = []
        for index in 0..<accounts {
            let bot = simulator.addBot(appId: "30\(100_000 + index)", clientSecret: "bench-secret-\(index)")
            appIDs.append(bot.appId)
            accountObjects["bot\(index)"] = .object([
                "appId": .string(bot.appId), "clientSecret": .string(bot.clientSecret),
                "apiBaseUrl": .string(simulator.apiBaseURL.absoluteString), "tokenUrl": .string(simulator.tokenURL.absoluteString),
            ])
        }
        let settings = try GatewaySettings.parse(
            .object(["channels": .object(["qqbot": .object(["healthCheckIntervalMinutes": 0, "accounts": .object(accountObjects)])])]),
            adapters: [QQBotAdapter()], environment: ConfigEnvironment()
        )
        let before = WebSocketEchoBench.residentBytes()
        let gateway = ChannelGateway(adapters: [QQBotAdapter()])
        let connected = Mutex(Set<AccountKey>())
        let delivered = Mutex(0)
        let allConnected = AsyncGate()
        let consumer = Task {
            for await event in gateway.events {
                switch event {
                case .status(let key, .connected):
                    let count = connected.withLock { $0.insert(key); return $0.count }
                    if count == accounts { allConnected.open() }
                case .message:
                    delivered.withLock { $0 += 1 }
                default:
                    break
                }
            }
        }
        let start = monotonicNanos()
        await gateway.apply(settings)
        await allConnected.wait()
        let connectNanos = monotonicNanos() - start
        report("time until all \(accounts) accounts connected", "\(format(Double(connectNanos) / 1e9, 2)) s")
        try await ContinuousClock().sleep(for: .seconds(2))  // the benchmark measures real settling on purpose
        let after = WebSocketEchoBench.residentBytes()
        report("resident memory per account (client + simulator side)", "\(format(Double(after - before) / Double(accounts) / 1024)) KiB")

        let perAccount = 20
        let total = accounts * perAccount
        let pushStart = monotonicNanos()
        for round in 0..<perAccount {
            for appID in appIDs {
                simulator.injectC2CMessage(appId: appID, userOpenID: simulator.userOpenID(appId: appID, user: "u\(round % 4)"), text: "hello \(round)")
            }
        }
        while delivered.withLock({ $0 }) < total {
            try await ContinuousClock().sleep(for: .milliseconds(5))
            if monotonicNanos() - pushStart > 60_000_000_000 { break }
        }
        let pushNanos = monotonicNanos() - pushStart
        let got = delivered.withLock { $0 }
        report("end-to-end events/s (\(accounts) accounts × \(perAccount), simulator push → stream)", "\(format(Double(got) / (Double(pushNanos) / 1e9), 0)) (\(got)/\(total) delivered)")
        await gateway.shutdown()
        await consumer.value
        await simulator.shutdown()
    }

    private static func raiseFileLimit(to wanted: Int) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let target = min(rlim_t(wanted), limit.rlim_max)
        if limit.rlim_cur < target {
            limit.rlim_cur = target
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
    }
}
