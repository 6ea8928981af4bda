import Foundation
import Synchronization
import Testing
@testable import ChannelKit
@testable import ChannelKitOpenIM
import ChannelKitTesting

/// The gateway-like event recorder (dedup on `dedupKeys`, identity applied).
typealias OpenIMEventLog = ClawChatEventLog

/// Runs `connection.run()` in a loop like the runtime: `.failed` ends it; a positive
/// `after` is slept on the test clock; `nil` sleeps 1 s of virtual time (the runtime's
/// backoff), `.zero` reconnects at once.
final class OpenIMRunner: Sendable {
    let outcomes = TestRecorder<AccountRunOutcome>()
    let thrown = TestRecorder<String>()
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)

    init(_ connection: OpenIMConnection, clock: TestClock, maximumRuns: Int = 60) {
        let outcomes = outcomes, thrown = thrown
        let t = Task {
            for _ in 0..<maximumRuns {
                if Task.isCancelled { return }
                do {
                    let outcome = try await connection.run()
                    outcomes.record(outcome)
                    switch outcome {
                    case .failed: return
                    case .reconnect(let after, _):
                        if let after { if after > .zero { try await clock.sleep(for: after) } else { await Task.yield() } }
                        else { try await clock.sleep(for: .seconds(1)) }
                    }
                } catch {
                    if Task.isCancelled { return }
                    thrown.record("\(error)")
                    try? await clock.sleep(for: .seconds(1))
                }
            }
        }
        task.withLock { $0 = t }
    }

    func stop() async {
        let t = task.withLock { $0 }
        t?.cancel()
        await t?.value
    }

    var failedReason: String? {
        for outcome in outcomes.all { if case .failed(let reason) = outcome { return reason } }
        return nil
    }
}

/// Simulators (one per server), real loopback transports and a virtual clock.
struct OpenIMHarness {
    let clock: TestClock
    let simulators: [OpenIMSimulator]
    let http: URLSessionHTTPTransport
    let webSocket: any WebSocketTransport
    let logs: CapturingLogHandler
    var simulator: OpenIMSimulator { simulators[0] }

    init(servers: Int = 1, minPartSize: Int = 5 << 20) throws {
        let clock = TestClock()
        self.clock = clock
        self.simulators = try (0..<servers).map { _ in
            let sim = OpenIMSimulator(configuration: .init(time: clock.timeSource, minPartSize: minPartSize))
            try sim.start()
            return sim
        }
        self.http = URLSessionHTTPTransport()
        self.webSocket = CurlWebSocketTransport()
        self.logs = CapturingLogHandler()
    }

    func settings(_ account: OpenIMSimulator.Account, on sim: OpenIMSimulator? = nil, requireMention: Bool = true, whitelist: [String] = [],
                  disableFriendSdk: Bool = true, tokenRefresh: OpenIMTokenRefresh = .off) -> OpenIMAccountSettings {
        let sim = sim ?? simulator
        return OpenIMAccountSettings(token: Secret(account.token), wsAddr: sim.wsURL, apiAddr: sim.apiURL, userID: account.userID,
                                     platformID: account.platformID, requireMention: requireMention, inboundWhitelist: whitelist,
                                     disableFriendSdk: disableFriendSdk, tokenRefresh: tokenRefresh)
    }

    func connection(_ accountID: String, settings: OpenIMAccountSettings, store: any StateStore = InMemoryStateStore(),
                    events: OpenIMEventLog = OpenIMEventLog(), configuration: OpenIMAdapter.Configuration = OpenIMAdapter.Configuration()) throws -> OpenIMConnection {
        let context = AccountContext(
            account: AccountKey(.openim, AccountID(accountID)), time: clock.timeSource, logger: logs.logger(level: .trace),
            store: store, http: http, webSocket: webSocket, tokenCache: TokenCache(), events: events.sink, identity: events.identity)
        guard let connection = try OpenIMAdapter(configuration: configuration).makeConnection(settings: settings, context: context) as? OpenIMConnection else {
            throw ChannelError(.invalidState, "not an OpenIMConnection")
        }
        return connection
    }

    struct Bot {
        let account: OpenIMSimulator.Account
        let events: OpenIMEventLog
        let connection: OpenIMConnection
        let runner: OpenIMRunner
        let store: any StateStore
    }

    /// A bot account connected and through its first sync.
    func connectedBot(_ userID: String = "bot", accountID: String = "main", on sim: OpenIMSimulator? = nil, store: any StateStore = InMemoryStateStore(),
                      requireMention: Bool = true, whitelist: [String] = [], disableFriendSdk: Bool = true, tokenRefresh: OpenIMTokenRefresh = .off,
                      configuration: OpenIMAdapter.Configuration = OpenIMAdapter.Configuration(),
                      sourceLocation: SourceLocation = #_sourceLocation) async throws -> Bot {
        let sim = sim ?? simulator
        let account = sim.account(userID) ?? sim.addAccount(userID: userID)
        let events = OpenIMEventLog()
        let before = sim.maxSeqRequestCount
        let connection = try connection(accountID, settings: settings(account, on: sim, requireMention: requireMention, whitelist: whitelist,
                                                                      disableFriendSdk: disableFriendSdk, tokenRefresh: tokenRefresh),
                                        store: store, events: events, configuration: configuration)
        let runner = OpenIMRunner(connection, clock: clock)
        await eventually("connected", sourceLocation: sourceLocation) { events.states.all.contains(.connected) }
        await eventually("first sync", sourceLocation: sourceLocation) { sim.maxSeqRequestCount > before }
        return Bot(account: account, events: events, connection: connection, runner: runner, store: store)
    }

    func shutdown() async {
        http.shutdown()
        for sim in simulators { await sim.shutdown() }
    }
}
