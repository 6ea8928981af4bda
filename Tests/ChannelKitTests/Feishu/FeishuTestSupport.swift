import Foundation
import Synchronization
import Testing
@testable import ChannelKit
@testable import ChannelKitFeishu
import ChannelKitTesting

/// Records everything one Feishu account's connection reports (dedup like the gateway).
final class FeishuEventRecorder: Sendable {
    private let storage = Mutex<[AccountEvent]>([])
    private let seen = Mutex<Set<String>>([])
    private let raw = Mutex<[String]>([])

    var sink: AccountEventSink {
        AccountEventSink { [self] event in
            if case .message(let m) = event {
                raw.withLock { $0.append(m.origin.messageID) }
                let fresh = seen.withLock { s in
                    let dup = m.dedupKeys.contains { s.contains($0) }
                    for k in m.dedupKeys { s.insert(k) }
                    return !dup
                }
                if !fresh { return false }
            }
            storage.withLock { $0.append(event) }
            return true
        }
    }

    var all: [AccountEvent] { storage.withLock { $0 } }
    var rawDeliveries: [String] { raw.withLock { $0 } }
    var messages: [InboundMessage] { all.compactMap { if case .message(let m) = $0 { m } else { nil } } }
    var states: [AccountState] { all.compactMap { if case .state(let s) = $0 { s } else { nil } } }
    var errors: [ChannelError] { all.compactMap { if case .error(let e) = $0 { e } else { nil } } }
    var platformEvents: [(type: String, payload: JSONValue, isKnown: Bool)] {
        all.compactMap { if case .platform(let t, let p, let k) = $0 { (t, p, k) } else { nil } }
    }
    var connectedCount: Int { states.filter { $0 == .connected }.count }
}

/// One simulated Feishu account with a runtime-like driver that calls `run()` again after
/// every `.reconnect` (without waiting; it records the outcome).
final class FeishuTestAccount: Sendable {
    let key: AccountKey
    let settings: FeishuAccountSettings
    let recorder = FeishuEventRecorder()
    let connection: FeishuConnection
    let context: AccountContext
    let outcomes = TestRecorder<Result<AccountRunOutcome, ChannelError>>()
    private let driver = Mutex<Task<Void, Never>?>(nil)

    init(_ id: String, settings: FeishuAccountSettings, clock: TestClock, cache: TokenCache, logger: ChannelLogger = .disabled,
         configuration: FeishuAdapter.Configuration = .init(random: { 0 })) {
        key = AccountKey(.feishu, AccountID(id))
        self.settings = settings
        context = AccountContext(account: key, time: clock.timeSource, logger: logger, store: InMemoryStateStore(), http: URLSessionHTTPTransport(),
                                 webSocket: makeDefaultWebSocketTransport(), tokenCache: cache, events: recorder.sink)
        connection = FeishuConnection(settings: settings, context: context, configuration: configuration)
    }

    var runOutcomes: [Result<AccountRunOutcome, ChannelError>] { outcomes.all }

    func start() {
        let connection = self.connection
        let outcomes = self.outcomes
        let task = Task {
            while !Task.isCancelled {
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

    func stop() async {
        let task = driver.withLock { $0 }
        task?.cancel()
        await task?.value
    }

    /// Discovers the identity as the runtime would and stores it in the identity cell.
    func resolveIdentity() async throws {
        if let identity = try await connection.discoverIdentity() { context.identity.set(identity) }
    }

    func waitForMessages(_ count: Int) async -> Bool {
        await eventually("\(count) messages") { self.recorder.messages.count >= count }
    }
}

/// A simulator with a virtual clock and a shared token cache.
struct FeishuTestWorld {
    let clock: TestClock
    let simulator: FeishuSimulator
    let cache: TokenCache

    init(simulator configuration: FeishuSimulator.Configuration? = nil) throws {
        let clock = TestClock()
        self.clock = clock
        var config = configuration ?? FeishuSimulator.Configuration()
        config.time = clock.timeSource
        simulator = try FeishuSimulator(configuration: config)
        cache = TokenCache(configuration: .init(time: clock.timeSource, random: { 0.5 }))
    }

    func settings(for app: FeishuSimulator.App, requireMention: Bool = true) -> FeishuAccountSettings {
        FeishuAccountSettings(appId: app.appId, appSecret: Secret(app.appSecret), baseURL: simulator.baseURL, requireMention: requireMention)
    }

    func account(_ id: String, app: FeishuSimulator.App, requireMention: Bool = true, logger: ChannelLogger = .disabled,
                 configuration: FeishuAdapter.Configuration = .init(random: { 0 })) -> FeishuTestAccount {
        FeishuTestAccount(id, settings: settings(for: app, requireMention: requireMention), clock: clock, cache: cache, logger: logger,
                          configuration: configuration)
    }

    /// Adds an app and an account for it, starts it, waits for the socket and (unless
    /// `identity` is false) resolves the bot identity.
    func connectedAccount(_ id: String, appId: String, requireMention: Bool = true, identity: Bool = true,
                          logger: ChannelLogger = .disabled) async throws -> (FeishuTestAccount, FeishuSimulator.App) {
        let app = simulator.addApp(appId: appId, appSecret: "secret-" + appId)
        let account = account(id, app: app, requireMention: requireMention, logger: logger)
        account.start()
        await simulator.waitUntilConnected(appId: appId)
        _ = await eventually("connected") { account.recorder.connectedCount >= 1 }
        if identity { try await account.resolveIdentity() }
        return (account, app)
    }

    func shutdown(_ accounts: FeishuTestAccount...) async {
        for a in accounts { await a.stop() }
        await simulator.shutdown()
    }
}
