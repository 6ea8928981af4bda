import ChannelKit
import Foundation
import Synchronization

/// `channelkit demo [--duration SECONDS] [--accounts N]`: the built-in simulators on
/// loopback, N accounts on each platform, a gateway that echoes every message, simulated
/// users writing to every account, injected faults (token expiry, dropped sockets, a
/// duplicate push, a server-requested reconnect). Prints live progress, then a summary
/// per account. Exit 0 when every message was answered exactly once through the account
/// and conversation it came from; 1 otherwise.
enum DemoCommand {
    static let usage = "channelkit demo [--duration SECONDS] [--accounts N] [--verbose]"

    static func main(_ arguments: [String]) async -> Int32 {
        let duration: Int
        let accounts: Int
        let verbose: Bool
        do {
            let options = try CommandOptions(arguments, valued: ["duration", "accounts"], flags: ["verbose"])
            duration = try number(options, "duration", default: 12, range: 2...3600)
            accounts = try number(options, "accounts", default: 2, range: 1...100)
            verbose = options.flags.contains("verbose")
        } catch {
            LineWriter.standardError.line("error: \(error)\nusage: \(usage)")
            return 64
        }
        do {
            return try await DemoRun(duration: duration, accounts: accounts, verbose: verbose).run()
        } catch {
            LineWriter.standardError.line("demo failed: \(error)")
            return 1
        }
    }

    private static func number(_ options: CommandOptions, _ name: String, default value: Int, range: ClosedRange<Int>) throws(UsageError) -> Int {
        guard let text = options.values[name] else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw UsageError("--\(name) must be a whole number in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }
}

/// One run of the demo.
struct DemoRun {
    let duration: Int
    let accounts: Int
    let verbose: Bool
    private let out = LineWriter.standardOutput

    init(duration: Int, accounts: Int, verbose: Bool) {
        self.duration = duration
        self.accounts = accounts
        self.verbose = verbose
    }

    func run() async throws -> Int32 {
        let stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("channelkit-demo-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: stateDirectory) }

        out.line("ChannelKit demo: \(accounts) account(s) on each simulated platform, \(duration) s of traffic")
        let platforms = try await DemoPlatforms.make(accounts: accounts)
        defer { }
        var channels: [String: JSONValue] = [:]
        for platform in platforms { channels[platform.channel.rawValue] = platform.channelConfig() }
        let config: JSONValue = .object([
            "channels": .object(channels),
            "session": ["dmScope": "per-account-channel-peer"],
            "state": .object(["directory": .string(stateDirectory.path)]),
        ])
        let settings = try GatewaySettings.parse(config, adapters: AvailableAdapters.all, environment: .process())

        let logger = ChannelLogger(handler: StandardErrorLogHandler(), level: verbose ? .info : .error)
        let gateway = ChannelGateway(
            adapters: AvailableAdapters.all,
            configuration: .init(logger: logger, store: FileStateStore(directory: stateDirectory))
        )
        let tally = DemoTally()
        let responder = Task {
            await withTaskGroup(of: Void.self) { replies in
                for await event in gateway.events {
                    switch event {
                    case .message(let message):
                        tally.delivered(message)
                        replies.addTask {
                            do {
                                try await gateway.reply(to: message, .text("echo: \(message.text)"))
                            } catch {
                                tally.replyFailed("\(message.account): \(error)")
                            }
                        }
                    case .status(let account, let state):
                        if verbose { LineWriter.standardError.line("status \(account): \(state)") }
                    default:
                        break
                    }
                }
            }
        }

        await gateway.apply(settings)
        let allKeys = platforms.flatMap { p in p.accountIDs.map { AccountKey(p.channel, AccountID($0)) } }
        guard await waitUntil(seconds: 20, { await allConnected(gateway, allKeys) }) else {
            out.line("not every account connected within 20 s:")
            for status in await gateway.statuses() { out.line("  \(status.account): \(status.state)") }
            await shutdown(gateway, responder, platforms)
            return 1
        }
        out.line("all \(allKeys.count) accounts connected; sending traffic")

        // Traffic: every 250 ms each account hears from one of three users; faults at
        // fixed points of the run.
        let ticks = duration * 4
        // A fault fires at its tick, or as soon after as its account is connected (a
        // fault on an account that is still recovering from the previous one would not
        // show what it is meant to show).
        let second = accounts > 1 ? 1 : 0
        let schedule: [(tick: Int, fault: DemoFault, account: Int)] = [
            (ticks / 4, .tokenExpiry, 0),
            (ticks * 2 / 5, .droppedSocket, second),
            (ticks * 3 / 5, .duplicatePush, 0),
            (ticks * 3 / 4, .reconnectRequest, second),
        ]
        var pendingFaults = schedule.flatMap { planned in
            platforms.map { platform in
                PlannedFault(tick: planned.tick, fault: planned.fault, platform: platform, account: platform.accountIDs[planned.account])
            }
        }
        var sequence = 0
        let started = ContinuousClock.now
        for tick in 0..<ticks {
            for platform in platforms {
                for account in platform.accountIDs {
                    sequence += 1
                    let user = sequence % 3
                    let text = "msg \(sequence) from user \(user)"
                    if let expectation = await platform.userSends(account: account, user: user, text: text) {
                        tally.expect("echo: \(text)", expectation, channel: platform.channel)
                    }
                }
            }
            var stillPending: [PlannedFault] = []
            for pending in pendingFaults {
                let key = AccountKey(pending.platform.channel, AccountID(pending.account))
                guard pending.tick <= tick, await gateway.status(of: key)?.state == .connected else {
                    stillPending.append(pending)
                    continue
                }
                if let description = await pending.platform.inject(pending.fault, account: pending.account) {
                    out.line("  ⚡ \(key): \(description)")
                    tally.injected(pending.fault, key)
                }
            }
            pendingFaults = stillPending
            if tick % 4 == 3 {
                out.line(progressLine(seconds: (tick + 1) / 4, tally: tally, platforms: platforms))
            }
            // The demo runs in real time on purpose: it is a live show of real sockets.
            try? await ContinuousClock().sleep(until: started + .milliseconds(250 * (tick + 1)))
        }

        for pending in pendingFaults {
            out.line("  (not injected: \(pending.fault.rawValue) on \(pending.platform.channel):\(pending.account), which was not connected again in time)")
        }

        // Let the last replies land.
        _ = await waitUntil(seconds: 20) {
            let answered = platforms.allSatisfy { p in p.accountIDs.allSatisfy { a in tally.expectedCount(p.channel, a) <= p.replies(account: a).count } }
            let up = await allConnected(gateway, allKeys)
            return answered && up
        }
        let statuses = await gateway.statuses()
        let summary = DemoSummary.make(platforms: platforms, statuses: statuses, tally: tally)
        await shutdown(gateway, responder, platforms)
        for line in summary.lines { out.line(line) }
        return summary.ok ? 0 : 1
    }

    private func progressLine(seconds: Int, tally: DemoTally, platforms: [any DemoPlatform]) -> String {
        let parts = platforms.map { p in
            let received = p.accountIDs.map { tally.deliveredCount(p.channel, $0) }.reduce(0, +)
            let replied = p.accountIDs.map { p.replies(account: $0).count }.reduce(0, +)
            return "\(p.channel): \(received) in / \(replied) echoed"
        }
        return "[\(String(format: "%3d", seconds)) s] " + parts.joined(separator: " · ")
    }

    private func allConnected(_ gateway: ChannelGateway, _ keys: [AccountKey]) async -> Bool {
        for key in keys {
            guard await gateway.status(of: key)?.state == .connected else { return false }
        }
        return true
    }

    private func waitUntil(seconds: Int, _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await ContinuousClock().sleep(for: .milliseconds(50))
        }
        return await condition()
    }

    private func shutdown(_ gateway: ChannelGateway, _ responder: Task<Void, Never>, _ platforms: [any DemoPlatform]) async {
        await gateway.shutdown()
        await responder.value
        for platform in platforms { await platform.shutdown() }
    }
}

/// A fault waiting for its tick and for its account to be connected.
struct PlannedFault {
    let tick: Int
    let fault: DemoFault
    let platform: any DemoPlatform
    let account: String
}

/// What the demo expected and what the gateway delivered, thread-safe.
final class DemoTally: Sendable {
    private struct State {
        var expected: [String: (channel: ChannelID, expectation: DemoExpectation)] = [:]
        var expectedCount: [AccountKey: Int] = [:]
        var delivered: [AccountKey: Int] = [:]
        var deliveredIDs: [AccountKey: Set<String>] = [:]
        var deliveredTwice: [String] = []
        var replyFailures: [String] = []
        var faults: [AccountKey: [DemoFault]] = [:]
    }
    private let state = Mutex(State())

    func expect(_ echo: String, _ expectation: DemoExpectation, channel: ChannelID) {
        state.withLock {
            $0.expected[echo] = (channel, expectation)
            $0.expectedCount[AccountKey(channel, AccountID(expectation.account)), default: 0] += 1
        }
    }

    func delivered(_ message: InboundMessage) {
        state.withLock { s in
            s.delivered[message.account, default: 0] += 1
            if !s.deliveredIDs[message.account, default: []].insert(message.origin.messageID).inserted {
                s.deliveredTwice.append("\(message.account) \(message.origin.messageID)")
            }
        }
    }

    func replyFailed(_ description: String) { state.withLock { $0.replyFailures.append(Redactor.redact(description)) } }
    func injected(_ fault: DemoFault, _ key: AccountKey) { state.withLock { $0.faults[key, default: []].append(fault) } }

    func expectedCount(_ channel: ChannelID, _ account: String) -> Int {
        state.withLock { $0.expectedCount[AccountKey(channel, AccountID(account))] ?? 0 }
    }
    func deliveredCount(_ channel: ChannelID, _ account: String) -> Int {
        state.withLock { $0.delivered[AccountKey(channel, AccountID(account))] ?? 0 }
    }
    func expectation(for echo: String) -> (channel: ChannelID, expectation: DemoExpectation)? {
        state.withLock { $0.expected[echo] }
    }
    var deliveredTwice: [String] { state.withLock { $0.deliveredTwice } }
    var replyFailures: [String] { state.withLock { $0.replyFailures } }
    func faults(_ key: AccountKey) -> [DemoFault] { state.withLock { $0.faults[key] ?? [] } }
}

/// The per-account table and the verdict.
struct DemoSummary {
    var lines: [String] = []
    var ok = true

    static func make(platforms: [any DemoPlatform], statuses: [AccountStatus], tally: DemoTally) -> DemoSummary {
        var summary = DemoSummary()
        var problems: [String] = []
        let header = ["account", "state", "received", "replied", "refreshes", "reconnects", "dups suppressed", "misrouted"]
        var rows: [[String]] = [header]
        var totalMisrouted = 0
        for platform in platforms {
            for account in platform.accountIDs {
                let key = AccountKey(platform.channel, AccountID(account))
                let status = statuses.first { $0.account == key }
                let replies = platform.replies(account: account)
                var misrouted = 0
                var seen: [String: Int] = [:]
                for reply in replies {
                    seen[reply.text, default: 0] += 1
                    guard let expected = tally.expectation(for: reply.text),
                          expected.channel == platform.channel,
                          expected.expectation == DemoExpectation(account: account, peerID: reply.peerID) else {
                        misrouted += 1
                        continue
                    }
                }
                totalMisrouted += misrouted
                let expected = tally.expectedCount(platform.channel, account)
                let answered = seen.count
                let repeated = seen.values.filter { $0 > 1 }.count
                if answered - misrouted < expected { problems.append("\(key): \(expected - (answered - misrouted)) message(s) not answered") }
                if repeated > 0 { problems.append("\(key): \(repeated) message(s) answered more than once") }
                let received = status?.counters.received ?? 0
                if received != expected { problems.append("\(key): received \(received), sent by users \(expected)") }
                let duplicates = status?.counters.duplicatesSuppressed ?? 0
                if tally.faults(key).contains(.duplicatePush) && duplicates == 0 {
                    problems.append("\(key): the injected duplicate push was not suppressed")
                }
                if status?.state != .connected { problems.append("\(key): ended \(status?.state.description ?? "unknown")") }
                rows.append([
                    key.description,
                    status?.state.name ?? "?",
                    "\(received)",
                    "\(replies.count)",
                    "\(platform.refreshes(account: account))",
                    "\(status?.reconnectCount ?? 0)",
                    "\(duplicates)",
                    "\(misrouted)",
                ])
            }
            let flagged = platform.simulatorMisrouted
            if flagged > 0 { problems.append("\(platform.channel) simulator flagged \(flagged) misrouted send(s)") }
            totalMisrouted += flagged
        }
        problems += tally.deliveredTwice.map { "delivered twice: \($0)" }
        problems += tally.replyFailures.prefix(5).map { "reply failed: \($0)" }

        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        summary.lines.append("")
        for (index, row) in rows.enumerated() {
            summary.lines.append(row.enumerated().map { column, cell in
                column == 0 ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - cell.count) + cell
            }.joined(separator: "  "))
            if index == 0 { summary.lines.append(String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1))) }
        }
        summary.lines.append("")
        summary.lines.append("misrouted replies: \(totalMisrouted) (must be 0)")
        if problems.isEmpty {
            summary.lines.append("OK: every message answered exactly once, through the account and conversation it came from.")
        } else {
            summary.ok = false
            summary.lines.append("FAILED:")
            summary.lines += problems.map { "  - \($0)" }
        }
        return summary
    }
}
