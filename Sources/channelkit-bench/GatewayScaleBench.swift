import ChannelKit
import ChannelKitQQBot
import ChannelKitTesting
import CChannelKitShims
import Foundation
import Synchronization

/// `gateway-scale`: N QQ accounts (default 1,000) in one gateway process against the QQ
/// simulator (run as a child process, so the memory figure is the gateway's alone) —
/// time until every account is connected (token fetch, GET /gateway, WebSocket, Hello,
/// Identify, READY), resident memory per account, and end-to-end events/s (simulator
/// push → WebSocket → QQ decode → gateway dedup → event stream).
enum GatewayScaleBench {
    static func run(accounts: Int = 1000) async throws {
        say("== gateway scale: \(accounts) QQ accounts, simulator in a child process ==")
        raiseFileLimit(to: accounts * 3 + 256)
        let simulator = try SimulatorProcess(accounts: accounts)
        let endpoints = try await simulator.endpoints()
        var accountObjects: [String: JSONValue] = [:]
        var appIDs: [String] = []
        for index in 0..<accounts {
            let (appID, secret) = botCredentials(index)
            appIDs.append(appID)
            accountObjects["bot\(index)"] = .object([
                "appId": .string(appID), "clientSecret": .string(secret),
                "apiBaseUrl": .string(endpoints.api), "tokenUrl": .string(endpoints.token),
            ])
        }
        let settings = try GatewaySettings.parse(
            .object(["channels": .object(["qqbot": .object(["healthCheckIntervalMinutes": 0, "accounts": .object(accountObjects)])])]),
            adapters: [QQBotAdapter()], environment: ConfigEnvironment()
        )
        let before = WebSocketEchoBench.residentBytes()
        let heapBefore = ck_heap_in_use()
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
        report("resident memory per connected account (gateway side)", "\(format(Double(after - before) / Double(accounts) / 1024)) KiB")
        // Resident memory keeps the connect storm's freed pages (glibc rarely returns
        // them); the heap's in-use bytes are what the connected accounts hold.
        let heapAfter = ck_heap_in_use()
        if heapAfter > 0 {
            report("  … live heap per connected account (malloc in use)", "\(format(Double(Int(heapAfter) - Int(heapBefore)) / Double(accounts) / 1024)) KiB")
        }

        let perAccount = Int(ProcessInfo.processInfo.environment["CK_BENCH_PUSHES"] ?? "") ?? 20
        let total = accounts * perAccount
        let pushStart = monotonicNanos()
        try simulator.command("push \(perAccount)")
        while delivered.withLock({ $0 }) < total, monotonicNanos() - pushStart < 60_000_000_000 {
            try await ContinuousClock().sleep(for: .milliseconds(2))
        }
        let pushNanos = monotonicNanos() - pushStart
        let got = delivered.withLock { $0 }
        report("end-to-end events/s (simulator process → WS → decode → stream)", "\(format(Double(got) / (Double(pushNanos) / 1e9), 0)) (\(got)/\(total) delivered)")
        await gateway.shutdown()
        await consumer.value
        simulator.finish()
    }

    static func botCredentials(_ index: Int) -> (appID: String, secret: String) {
        ("30\(100_000 + index)", "bench-secret-\(index)")
    }

    /// `channelkit-bench _qq-simulator N`: serves a QQ simulator with N bots, prints its
    /// endpoints as one JSON line, then obeys stdin (`push K`: K C2C messages per bot)
    /// until EOF.
    static func serveSimulator(_ arguments: [String]) async throws {
        let accounts = Int(arguments.first ?? "") ?? 1000
        raiseFileLimit(to: accounts * 3 + 256)
        let simulator = try QQBotSimulator()
        var appIDs: [String] = []
        for index in 0..<accounts {
            let (appID, secret) = botCredentials(index)
            simulator.addBot(appId: appID, clientSecret: secret)
            appIDs.append(appID)
        }
        say(#"{"api":"\#(simulator.apiBaseURL.absoluteString)","token":"\#(simulator.tokenURL.absoluteString)"}"#)
        while let line = readLine() {
            let parts = line.split(separator: " ")
            if parts.first == "push", let count = parts.dropFirst().first.flatMap({ Int($0) }) {
                for round in 0..<count {
                    for appID in appIDs {
                        simulator.injectC2CMessage(appId: appID, userOpenID: simulator.userOpenID(appId: appID, user: "u\(round % 4)"), text: "hello \(round)")
                    }
                }
            }
        }
        await simulator.shutdown()
    }

    #if os(Linux)
    private static let resourceNoFile = Int32(RLIMIT_NOFILE.rawValue)
    #else
    private static let resourceNoFile = RLIMIT_NOFILE
    #endif

    private static func raiseFileLimit(to wanted: Int) {
        var limit = rlimit()
        guard getrlimit(resourceNoFile, &limit) == 0 else { return }
        let target = min(rlim_t(wanted), limit.rlim_max)
        if limit.rlim_cur < target {
            limit.rlim_cur = target
            _ = setrlimit(resourceNoFile, &limit)
        }
    }
}

/// The QQ simulator running as a child process of the bench (so the bench's resident
/// memory is the gateway's alone).
final class SimulatorProcess {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()

    init(accounts: Int) throws {
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            process.executableURL = URL(fileURLWithPath: exe)
        }
        process.arguments = ["_qq-simulator", "\(accounts)"]
        process.standardInput = input
        process.standardOutput = output
        try process.run()
    }

    /// Reads the endpoints line.
    func endpoints() async throws -> (api: String, token: String) {
        var buffer = Data()
        let handle = output.fileHandleForReading
        while !buffer.contains(UInt8(ascii: "\n")) {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
        }
        let line = buffer.split(separator: UInt8(ascii: "\n")).first.map { Data($0) } ?? Data()
        let json = try JSONDecoder().decode(JSONValue.self, from: line)
        guard let api = json["api"]?.stringValue, let token = json["token"]?.stringValue else {
            throw ChannelError(.malformedInput, "simulator process printed no endpoints")
        }
        return (api, token)
    }

    func command(_ line: String) throws {
        try input.fileHandleForWriting.write(contentsOf: Data((line + "\n").utf8))
    }

    func finish() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}
