import Foundation
import Synchronization
import Testing
@testable import ChannelKit
@testable import ChannelKitClawChat
import ChannelKitTesting

/// Records what a connection reports, like the gateway would: messages deduplicated on
/// their `dedupKeys` (per account), identity written to the cell.
final class ClawChatEventLog: Sendable {
    let messages = TestRecorder<InboundMessage>()
    let duplicates = TestRecorder<InboundMessage>()
    let states = TestRecorder<AccountState>()
    let errors = TestRecorder<ChannelError>()
    let platformEvents = TestRecorder<(type: String, payload: JSONValue, isKnown: Bool)>()
    let identities = TestRecorder<AccountIdentity?>()
    let identity = AccountIdentityCell()
    /// Whether `.identity` events are written to ``identity`` (as the runtime does).
    let appliesIdentity: LockedValue<Bool>
    /// The one sink handed to the connection (its activity cell is read by tests).
    let sink: AccountEventSink

    init(appliesIdentity: Bool = true) {
        let messages = messages, duplicates = duplicates, states = states, errors = errors
        let platformEvents = platformEvents, identities = identities, identity = identity
        let applies = LockedValue(appliesIdentity)
        let seen = LockedValue<Set<String>>([])
        self.appliesIdentity = applies
        self.sink = AccountEventSink { event in
            switch event {
            case .message(let message):
                let fresh = seen.value.withLock { seen in
                    guard !message.dedupKeys.contains(where: seen.contains) else { return false }
                    seen.formUnion(message.dedupKeys)
                    return true
                }
                if fresh { messages.record(message) } else { duplicates.record(message) }
                return fresh
            case .state(let state): states.record(state)
            case .identity(let value):
                identities.record(value)
                if applies.value.withLock({ $0 }) { identity.set(value) }
            case .platform(let type, let payload, let isKnown): platformEvents.record((type, payload, isKnown))
            case .error(let error): errors.record(error)
            }
            return true
        }
    }
}

/// A value behind a lock, shareable between closures.
final class LockedValue<Value: Sendable>: Sendable {
    let value: Mutex<Value>
    init(_ initial: Value) { value = Mutex(initial) }
}

/// Runs `connection.run()` in a loop like the runtime: `.failed` ends it; a positive
/// `after` is slept on the test clock; `nil`/zero reconnects at once (bounded).
final class ClawChatRunner: Sendable {
    let outcomes = TestRecorder<AccountRunOutcome>()
    let thrown = TestRecorder<String>()
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)

    init(_ connection: ClawChatConnection, clock: TestClock, maximumRuns: Int = 50) {
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
                        if let after, after > .zero { try await clock.sleep(for: after) } else { await Task.yield() }
                    }
                } catch {
                    if Task.isCancelled { return }
                    thrown.record("\(error)")
                    await Task.yield()
                }
            }
        }
        task.withLock { $0 = t }
    }

    /// Cancels the loop and waits for it to end.
    func stop() async {
        let t = task.withLock { $0 }
        t?.cancel()
        await t?.value
    }

    var finished: Bool { outcomes.all.contains { if case .failed = $0 { return true } else { return false } } }
}

/// A simulator, real loopback transports and a virtual clock for one test.
struct ClawChatHarness {
    let clock: TestClock
    let simulator: ClawChatSimulator
    let http: URLSessionHTTPTransport
    let webSocket: any WebSocketTransport
    let logs: CapturingLogHandler

    init(simulator configuration: ClawChatSimulator.Configuration? = nil) throws {
        let clock = TestClock()
        var config = configuration ?? ClawChatSimulator.Configuration()
        config.time = clock.timeSource
        if configuration == nil { config.handshakeTimeout = nil }
        self.clock = clock
        self.simulator = ClawChatSimulator(configuration: config)
        try simulator.start()
        self.http = URLSessionHTTPTransport()
        self.webSocket = CurlWebSocketTransport()
        self.logs = CapturingLogHandler()
    }

    /// Adapter tuning for tests: no jitter, no keepalive unless asked.
    static func adapterConfiguration(keepalive: Duration? = nil) -> ClawChatAdapter.Configuration {
        var configuration = ClawChatAdapter.Configuration(keepaliveInterval: keepalive)
        configuration.refresh.random = { 0.5 }
        return configuration
    }

    func settings(_ account: ClawChatSimulator.Account, userID: String? = nil, deviceID: String? = nil,
                  wsDeviceID: String? = nil) -> ClawChatAccountSettings {
        ClawChatAccountSettings(baseURL: simulator.baseURL, accessToken: Secret(account.accessToken),
                                refreshToken: Secret(account.refreshToken), deviceID: deviceID ?? account.deviceID,
                                wsDeviceID: wsDeviceID, userID: userID)
    }

    func connection(_ accountID: String, settings: ClawChatAccountSettings, store: any StateStore = InMemoryStateStore(),
                    events: ClawChatEventLog = ClawChatEventLog(),
                    configuration: ClawChatAdapter.Configuration = ClawChatHarness.adapterConfiguration()) throws -> ClawChatConnection {
        let context = AccountContext(
            account: AccountKey(.clawchat, AccountID(accountID)), time: clock.timeSource, logger: logs.logger(level: .trace),
            store: store, http: http, webSocket: webSocket, tokenCache: TokenCache(), events: events.sink, identity: events.identity)
        let adapter = ClawChatAdapter(configuration: configuration)
        guard let connection = try adapter.makeConnection(settings: settings, context: context) as? ClawChatConnection else {
            throw ChannelError(.invalidState, "not a ClawChatConnection")
        }
        return connection
    }

    /// An agent account on the simulator, its event log, its connection and a runner,
    /// waited until connected — the setup most session and send tests start from.
    struct Agent {
        let account: ClawChatSimulator.Account
        let events: ClawChatEventLog
        let connection: ClawChatConnection
        let runner: ClawChatRunner
    }

    func connectedAgent(_ userID: String = "usr_agent",
                        configuration: ClawChatAdapter.Configuration = ClawChatHarness.adapterConfiguration(),
                        sourceLocation: SourceLocation = #_sourceLocation) async throws -> Agent {
        let account = simulator.addAccount(userID: userID)
        let events = ClawChatEventLog()
        let connection = try connection("main", settings: settings(account), events: events, configuration: configuration)
        let runner = ClawChatRunner(connection, clock: clock)
        await eventually("connected", sourceLocation: sourceLocation) { events.states.all.contains(.connected) }
        return Agent(account: account, events: events, connection: connection, runner: runner)
    }

    func shutdown() async {
        http.shutdown()
        await simulator.shutdown()
    }
}

/// Moves the virtual clock in `step`s (up to `limit`) until `condition` holds, letting
/// real I/O land between steps. Robust against a sleeper that registers a little after
/// the event the test waited for. Records an issue if the condition never holds.
@discardableResult
func advance(_ clock: TestClock, step: Duration = .seconds(1), upTo limit: Duration, _ what: String = "condition",
             sourceLocation: SourceLocation = #_sourceLocation, until condition: () -> Bool) async -> Bool {
    var elapsed = Duration.zero
    while true {
        for _ in 0..<(elapsed >= limit ? 500_000 : 2_000) {
            if condition() { return true }
            await Task.yield()
        }
        if elapsed >= limit { break }
        await clock.advance(by: step)
        elapsed += step
    }
    Issue.record("\(what) did not happen within \(limit) of virtual time", sourceLocation: sourceLocation)
    return false
}

/// The `ChannelError` thrown by `body`, or `nil`.
func channelError<T>(_ body: () async throws -> T) async -> ChannelError? {
    do {
        _ = try await body()
        return nil
    } catch let error as ChannelError {
        return error
    } catch {
        Issue.record("not a ChannelError: \(error)")
        return nil
    }
}

extension AccountRunOutcome {
    var after: Duration?? {
        if case .reconnect(let after, _) = self { return .some(after) }
        return .none
    }
    var isFailed: Bool { if case .failed = self { return true } else { return false } }
}
