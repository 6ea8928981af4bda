import Foundation
import Synchronization

/// What every account runtime of one gateway shares: configuration, stream, routing.
struct GatewayShared: Sendable {
    let configuration: ChannelGateway.Configuration
    let tokenCache: TokenCache
    let continuation: AsyncStream<GatewayEvent>.Continuation
    let routing: Mutex<(agent: String, dmScope: DMScope)>.Box

    var time: TimeSource { configuration.time }
}

extension Mutex where Value: Sendable {
    /// A reference to a mutex, so value types can share one.
    final class Box: Sendable {
        let mutex: Mutex<Value>
        init(_ value: Value) { mutex = Mutex(value) }
    }
}

/// Counters the gateway keeps per account.
public struct AccountCounters: Sendable, Hashable {
    /// Inbound messages delivered on the event stream.
    public var received = 0
    /// Inbound messages dropped as duplicates.
    public var duplicatesSuppressed = 0
    /// Messages sent (each may be several chunks).
    public var sent = 0
    /// Sends that failed.
    public var sendFailures = 0

    /// Creates zeroed counters.
    public init() {}
}

/// One account's lifecycle: its connection, identity, dedup, pacing, status and the task
/// that runs it. One actor per account; nothing here is shared with another account.
///
/// - `start()` is idempotent and reserves the account (a new generation and its task)
///   before its first suspension, so two concurrent starts boot it once.
/// - `stop()` ends the generation at once (late events from it are dropped), cancels the
///   lifecycle — socket, backoff sleep, identity retries — and awaits it.
/// - Restarts after a dropped session use jittered backoff with no attempt limit.
actor AccountRuntime {
    let key: AccountKey
    let adapter: any ChannelAdapter
    let settings: any AccountSettings
    private let shared: GatewayShared
    private let logger: ChannelLogger

    private var generation: UInt64 = 0
    private var lifecycle: Task<Void, Never>?
    private var connection: (any AccountConnection)?
    private var pacer: TargetPacer?
    private var sink: AccountEventSink?

    private var connectionState: AccountState = .stopped
    private var published: AccountState = .stopped
    private var stateChangedAt: Date
    private var startedAt: Date?
    private var reachedConnected = false
    private(set) var stoppedOnPurpose = true
    private var lastError: String?
    private var reconnectCount = 0
    private var lastHealthRestart: Date?
    private var platformWaitUntil: Date?
    private var counters = AccountCounters()
    let identity = AccountIdentityCell()

    private var dedup: InboundDeduplicator
    private var dedupLoaded = false
    private var flushTask: Task<Void, Never>?
    /// Identity discovery per lifecycle generation, removed when it ends: a finished
    /// task's handle would otherwise keep its memory for the lifecycle's lifetime.
    private var identityTasks: [UInt64: Task<Void, Never>] = [:]

    init(key: AccountKey, adapter: any ChannelAdapter, settings: any AccountSettings, shared: GatewayShared) {
        self.key = key
        self.adapter = adapter
        self.settings = settings
        self.shared = shared
        self.logger = shared.configuration.logger.scoped(to: key)
        self.stateChangedAt = shared.time.now()
        self.dedup = InboundDeduplicator(account: key, configuration: shared.configuration.dedup)
    }

    // MARK: Lifecycle

    /// Starts the account unless it is running. Returns at once; the connection comes up
    /// in the background.
    func start() {
        guard lifecycle == nil else { return }
        generation &+= 1
        let current = generation
        stoppedOnPurpose = false
        startedAt = shared.time.now()
        setConnectionState(.starting)
        lifecycle = Task { await self.runLifecycle(current) }
    }

    /// Stops the account and waits (at most the configured stop timeout) for its tasks.
    /// - Parameter onPurpose: `false` when the health monitor restarts it.
    func stop(onPurpose: Bool = true) async {
        if onPurpose { stoppedOnPurpose = true }
        guard let task = lifecycle else {
            if onPurpose { setConnectionState(.stopped) }
            return
        }
        lifecycle = nil
        generation &+= 1
        task.cancel()
        if await !Self.wait(for: task, atMost: shared.configuration.stopTimeout, time: shared.time) {
            logger.warning("account tasks did not finish within the stop timeout; their generation is over")
        }
        connection = nil
        pacer = nil
        setConnectionState(.stopped)
    }

    /// Stops and starts again (the health monitor's restart: not "on purpose").
    func restart(reason: String) async {
        logger.warning("restarting account: \(reason)")
        lastHealthRestart = shared.time.now()
        await stop(onPurpose: false)
        start()
    }

    /// Whether `task` finished within `limit`.
    private static func wait(for task: Task<Void, Never>, atMost limit: Duration, time: TimeSource) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await task.value; return true }
            group.addTask {
                do { try await time.sleep(for: limit) } catch { return true }
                return false
            }
            let finished = await group.next() ?? true
            group.cancelAll()
            return finished
        }
    }

    private func runLifecycle(_ current: UInt64) async {
        if !dedupLoaded {
            dedupLoaded = true
            do {
                if let snapshot = try await shared.configuration.store.load(DedupCache.Snapshot.self, for: dedup.key) {
                    dedup.restore(snapshot, now: shared.time.now())
                }
            } catch {
                record(error: "dedup state could not be loaded: \(error)")
            }
        }
        guard current == generation, !Task.isCancelled else { return }

        let sink = AccountEventSink { [weak self] event in
            guard let self else { return false }
            return await self.handle(event, generation: current)
        }
        self.sink = sink
        let context = AccountContext(
            account: key,
            time: shared.time,
            logger: shared.configuration.logger,
            store: shared.configuration.store,
            http: shared.configuration.http,
            webSocket: shared.configuration.webSocket,
            tokenCache: shared.tokenCache,
            events: sink,
            identity: identity
        )
        let connection: any AccountConnection
        do {
            connection = try adapter.makeConnection(settings: settings, context: context)
        } catch {
            fail(reason: "cannot create the connection: \(error)", generation: current)
            return
        }
        self.connection = connection
        self.pacer = TargetPacer(configuration: shared.configuration.pacing, time: shared.time)

        // Identity discovery lives as long as this lifecycle, independent of any one
        // socket: a dropped or replaced socket cannot end it (seed 003).
        identityTasks[current] = Task {
            await self.discoverIdentity(connection, generation: current)
            self.identityTasks[current] = nil
        }

        var backoff = Backoff(shared.configuration.restartBackoff)
        var attempt = 0
        var failedReason: String?
        while !Task.isCancelled, current == generation {
            reachedConnected = false
            let outcome: AccountRunOutcome
            do {
                outcome = try await connection.run()
            } catch is CancellationError {
                break
            } catch {
                let description = (error as? ChannelError)?.description ?? Redactor.redact(String(describing: error))
                outcome = .reconnect(after: nil, reason: description)
            }
            guard !Task.isCancelled, current == generation else { break }
            if reachedConnected {
                backoff.reset()
                attempt = 0
            }
            switch outcome {
            case .failed(let reason):
                failedReason = reason
            case .reconnect(let after, let reason):
                attempt += 1
                reconnectCount += 1
                record(error: reason)
                setConnectionState(.reconnecting(attempt: attempt))
                // A platform-imposed wait is honoured as given; but a session that never
                // connected also waits out the backoff, so "reconnect now" answers can
                // never become a reconnect storm.
                let delay: Duration
                if let after, reachedConnected || after >= backoff.configuration.maximum {
                    delay = after
                } else {
                    delay = max(after ?? .zero, backoff.next())
                }
                logger.info("session ended (\(reason)); reconnecting in \(delay)")
                platformWaitUntil = after.map { _ in shared.time.now().addingTimeInterval(delay.seconds) }
                defer { platformWaitUntil = nil }
                do { try await shared.time.sleep(for: delay) } catch { break }
            }
            if failedReason != nil { break }
        }
        identityTasks.removeValue(forKey: current)?.cancel()
        await connection.shutdown()
        await flushDedup()
        if let failedReason, current == generation {
            fail(reason: failedReason, generation: current)
        }
    }

    private func fail(reason: String, generation current: UInt64) {
        guard current == generation else { return }
        logger.error("account failed: \(reason)")
        record(error: reason)
        setConnectionState(.failed(reason: Redactor.redact(reason)))
        lifecycle = nil
        connection = nil
        pacer = nil
    }

    private func discoverIdentity(_ connection: any AccountConnection, generation current: UInt64) async {
        var backoff = Backoff(shared.configuration.identityRetry)
        while !Task.isCancelled {
            do {
                // In a child task: the probe's REST frames are freed when it ends.
                guard let found = try await runInChildTask({ try await connection.discoverIdentity() }) else { return }
                if current == generation { setIdentity(found) }
                return
            } catch is CancellationError {
                return
            } catch {
                if current == generation {
                    record(error: "identity discovery failed: \((error as? ChannelError)?.description ?? Redactor.redact(String(describing: error)))")
                }
            }
            do { try await shared.time.sleep(for: backoff.next()) } catch { return }
        }
    }

    // MARK: Events from the connection

    private func handle(_ event: AccountEvent, generation current: UInt64) async -> Bool {
        guard current == generation, lifecycle != nil else { return false }
        switch event {
        case .message(var message):
            guard message.origin.account == key else {
                logger.error("adapter delivered a message whose origin is \(message.origin.account); dropped")
                return false
            }
            let now = shared.time.now()
            if dedup.isDuplicate(message.dedupKeys, now: now) {
                counters.duplicatesSuppressed += 1
                return false
            }
            counters.received += 1
            scheduleDedupFlush(generation: current)
            let routing = shared.routing.mutex.withLock { $0 }
            message.sessionKey = SessionKey.make(agent: routing.agent, origin: message.origin, dmScope: routing.dmScope)
            shared.continuation.yield(.message(message))
            return true
        case .state(let state):
            if state == .connected { reachedConnected = true }
            setConnectionState(state)
        case .identity(let identity):
            setIdentity(identity)
        case .platform(let type, let payload, let isKnown):
            shared.continuation.yield(.platform(PlatformEvent(account: key, type: type, payload: payload, isKnown: isKnown)))
        case .error(let error):
            record(error: error.description)
        }
        return true
    }

    private func setIdentity(_ identity: AccountIdentity?) {
        if self.identity.set(identity) {
            logger.info("identity: \(identity.map { $0.description } ?? "unknown")")
            shared.continuation.yield(.identity(key, identity))
        }
        publish()
    }

    private func setConnectionState(_ state: AccountState) {
        connectionState = state
        publish()
    }

    /// The published state: the connection's, except that a connected account whose
    /// identity is unknown is degraded — never reported healthy (bug #77717).
    private func publish() {
        var state = connectionState
        if state == .connected, identity.current == nil {
            state = .degraded(reason: "identity unknown")
        }
        guard state != published else { return }
        published = state
        stateChangedAt = shared.time.now()
        logger.info("state: \(state)")
        shared.continuation.yield(.status(key, state))
    }

    private func record(error: String) {
        lastError = Redactor.redact(error)
    }

    // MARK: Dedup persistence

    /// Saves the dedup state a moment after new messages (batching a burst into one
    /// write). The timer belongs to the lifecycle: stop cancels it and flushes at once.
    private func scheduleDedupFlush(generation current: UInt64) {
        guard flushTask == nil else { return }
        let delay = shared.configuration.dedupFlushDelay
        let time = shared.time
        flushTask = Task {
            do { try await time.sleep(for: delay) } catch { return }
            await self.flushDedup(cancelTimer: false)
        }
    }

    /// Writes the dedup state if it changed. `cancelTimer` ends a pending delayed flush
    /// (on stop); the delayed flush itself passes `false` so it does not cancel itself.
    private func flushDedup(cancelTimer: Bool = true) async {
        if cancelTimer { flushTask?.cancel() }
        flushTask = nil
        guard let snapshot = dedup.takeSnapshotIfDirty(now: shared.time.now()) else { return }
        do {
            try await shared.configuration.store.save(snapshot, for: dedup.key)
        } catch {
            dedup.markUnsaved()
            record(error: "dedup state could not be saved: \(error)")
            logger.warning("dedup state could not be saved: \(error)")
        }
    }

    // MARK: Sending

    private func sendingHandle() throws -> (any AccountConnection, TargetPacer) {
        guard lifecycle != nil, let connection, let pacer else {
            throw ChannelError(.invalidState, "account \(key) is not running (\(published))", account: key)
        }
        return (connection, pacer)
    }

    private func recordSend(success: Bool) {
        if success { counters.sent += 1 } else { counters.sendFailures += 1 }
    }

    /// Chunks `message` at the connection's limit and sends the chunks in order through
    /// the target's pacing lane.
    nonisolated func send(_ message: OutboundMessage, to target: DeliveryTarget) async throws -> SendReceipt {
        let (connection, pacer) = try await sendingHandle()
        let texts = TextChunker(limit: connection.textChunkLimit).chunks(message.text)
        let pieces = texts.enumerated().map { index, text in
            OutboundMessage(text: text, format: message.format, media: index == 0 ? message.media : [])
        }
        do {
            let parts = try await pacer.send(to: target.peer, pieces) { piece in
                try await connection.send(piece, to: target)
            }
            await recordSend(success: true)
            return SendReceipt(account: key, target: target, parts: parts)
        } catch let error as ChannelError {
            await recordSend(success: false)
            throw error.scoped(to: key)
        } catch {
            await recordSend(success: false)
            throw error
        }
    }

    nonisolated func probe() async throws -> AccountProbe {
        let context = AccountContext(
            account: key, time: shared.time, logger: shared.configuration.logger, store: shared.configuration.store,
            http: shared.configuration.http, webSocket: shared.configuration.webSocket, tokenCache: shared.tokenCache,
            events: .discarding
        )
        let connection = try adapter.makeConnection(settings: settings, context: context)
        let result = await connection.probe()
        await connection.shutdown()
        return result
    }

    // MARK: Status

    var status: AccountStatus {
        AccountStatus(
            account: key,
            state: published,
            identity: identity.current,
            lastEventAt: sink?.lastActivity,
            lastError: lastError,
            reconnectCount: reconnectCount,
            stoppedOnPurpose: stoppedOnPurpose,
            counters: counters
        )
    }

    var healthSnapshot: HealthPolicy.Snapshot {
        HealthPolicy.Snapshot(
            state: published,
            isRunning: lifecycle != nil,
            stoppedOnPurpose: stoppedOnPurpose,
            startedAt: startedAt,
            stateChangedAt: stateChangedAt,
            lastActivity: sink?.lastActivity,
            lastHealthRestart: lastHealthRestart,
            platformWaitUntil: platformWaitUntil
        )
    }
}
