import Foundation
import Synchronization
import Testing
@testable import ChannelKit
@testable import ChannelKitQQBot
import ChannelKitTesting

/// Records everything one account's connection reports.
final class QQBotEventRecorder: Sendable {
    private let storage = Mutex<[AccountEvent]>([])
    private let duplicates = Mutex<Set<String>>([])
    private let raw = Mutex<[String]>([])
    /// Deduplicate like the gateway pipeline does (per account, on `dedupKeys`).
    let dedup: Bool

    init(dedup: Bool = true) { self.dedup = dedup }

    var sink: AccountEventSink {
        AccountEventSink { [self] event in
            if case .message(let m) = event { raw.withLock { $0.append(m.origin.messageID) } }
            if dedup, case .message(let m) = event {
                let fresh = duplicates.withLock { seen in m.dedupKeys.allSatisfy { seen.insert($0).inserted } }
                if !fresh { return false }
            }
            storage.withLock { $0.append(event) }
            return true
        }
    }

    var all: [AccountEvent] { storage.withLock { $0 } }
    /// Message ids handed to `deliver`, before the gateway-style dedup.
    var rawDeliveries: [String] { raw.withLock { $0 } }
    var messages: [InboundMessage] { all.compactMap { if case .message(let m) = $0 { m } else { nil } } }
    var states: [AccountState] { all.compactMap { if case .state(let s) = $0 { s } else { nil } } }
    var errors: [ChannelError] { all.compactMap { if case .error(let e) = $0 { e } else { nil } } }
    var identities: [AccountIdentity?] { all.compactMap { if case .identity(let i) = $0 { i } else { nil } } }
    var platformEvents: [(type: String, payload: JSONValue, isKnown: Bool)] {
        all.compactMap { if case .platform(let t, let p, let k) = $0 { (t, p, k) } else { nil } }
    }
    var connectedCount: Int { states.filter { $0 == .connected }.count }
}

/// One simulated account: settings, context, connection, and a runtime-like driver that
/// calls `run()` again after every `.reconnect` (without waiting; it records the wait).
final class QQBotTestAccount: Sendable {
    let key: AccountKey
    let settings: QQBotAccountSettings
    let recorder: QQBotEventRecorder
    let connection: QQBotConnection
    let context: AccountContext
    private let outcomeLog = OutcomeLog()
    private let driver = Mutex<Task<Void, Never>?>(nil)
    /// When set, the driver waits at this gate before each re-run.
    let rerunGate = GateBox()

    init(_ id: String, appId: String, secret: String, simulator: QQBotSimulator, clock: TestClock, cache: TokenCache,
         http: any HTTPTransport = URLSessionHTTPTransport(), logger: ChannelLogger = .disabled, markdown: Bool = false,
         configuration: QQBotAdapter.Configuration = .init()) {
        key = AccountKey(.qqbot, AccountID(id))
        settings = QQBotAccountSettings(appId: appId, clientSecret: Secret(secret), apiBaseURL: simulator.apiBaseURL,
                                        tokenURL: simulator.tokenURL, markdownSupport: markdown)
        recorder = QQBotEventRecorder()
        context = AccountContext(account: key, time: clock.timeSource, logger: logger, store: InMemoryStateStore(), http: http,
                                 webSocket: makeDefaultWebSocketTransport(), tokenCache: cache, events: recorder.sink)
        connection = QQBotConnection(settings: settings, context: context, configuration: configuration)
    }

    var runOutcomes: [Result<AccountRunOutcome, ChannelError>] { outcomeLog.all }

    /// Starts the driver loop.
    func start() {
        let connection = self.connection
        let outcomes = outcomeLog.recorder
        let gate = rerunGate
        let task = Task {
            var first = true
            while !Task.isCancelled {
                if !first, let g = gate.gate { await g.wait() }
                first = false
                do {
                    let outcome = try await connection.run()
                    outcomes.record(.success(outcome))
                    if case .failed = outcome { return }
                } catch is CancellationError {
                    return
                } catch {
                    outcomes.record(.failure(error as? ChannelError ?? ChannelError(.transport, "\(error)")))
                    if Task.isCancelled { return }
                    await Task.yield()
                }
            }
        }
        driver.withLock { $0 = task }
    }

    /// Cancels the driver and waits for `run()` to return.
    func stop() async {
        let task = driver.withLock { $0 }
        task?.cancel()
        await task?.value
    }

    func waitForMessages(_ count: Int) async -> Bool {
        await eventually { self.recorder.messages.count >= count }
    }
}

/// A simulator with a virtual clock and a shared token cache for a test.
struct QQBotTestWorld {
    let clock: TestClock
    let simulator: QQBotSimulator
    let cache: TokenCache

    init(simulator configuration: QQBotSimulator.Configuration? = nil, wallStart: Date = Date(timeIntervalSince1970: 1_767_225_600)) throws {
        let clock = TestClock(wallStart: wallStart)
        self.clock = clock
        var config = configuration ?? QQBotSimulator.Configuration()
        config.time = clock.timeSource
        simulator = try QQBotSimulator(configuration: config)
        cache = TokenCache(configuration: .init(time: clock.timeSource, random: { 0.5 }))
    }

    func account(_ id: String, appId: String, secret: String, logger: ChannelLogger = .disabled, markdown: Bool = false,
                 configuration: QQBotAdapter.Configuration = .init()) -> QQBotTestAccount {
        QQBotTestAccount(id, appId: appId, secret: secret, simulator: simulator, clock: clock, cache: cache, logger: logger,
                         markdown: markdown, configuration: configuration)
    }

    /// Adds a bot and an account for it, starts the account and waits for READY.
    func connectedAccount(_ id: String, appId: String, secret: String = "secret", logger: ChannelLogger = .disabled,
                          markdown: Bool = false) async -> QQBotTestAccount {
        simulator.addBot(appId: appId, clientSecret: secret + appId)
        let account = account(id, appId: appId, secret: secret + appId, logger: logger, markdown: markdown)
        account.start()
        await simulator.waitUntilConnected(appId: appId)
        _ = await eventually { account.recorder.connectedCount >= 1 }
        return account
    }

    func shutdown(_ accounts: QQBotTestAccount...) async {
        for a in accounts { await a.stop() }
        await simulator.shutdown()
    }
}

final class OutcomeLog: Sendable {
    let recorder = TestRecorder<Result<AccountRunOutcome, ChannelError>>()
    var all: [Result<AccountRunOutcome, ChannelError>] { recorder.all }
}

final class GateBox: Sendable {
    private let storage = Mutex<AsyncGate?>(nil)
    var gate: AsyncGate? { storage.withLock { $0 } }
    func set(_ gate: AsyncGate?) { storage.withLock { $0 = gate } }
}
