import Foundation
import Synchronization

/// Many accounts on many platforms in one process, with one stream of typed events and
/// replies that always go home.
///
/// ```swift
/// try await withChannelGateway(adapters: [QQBotAdapter(), ClawChatAdapter()]) { gateway in
///     await gateway.apply(settings)
///     for await event in gateway.events {
///         if case .message(let message) = event {
///             try await gateway.reply(to: message, .text("echo: \(message.text)"))
///         }
///     }
/// }
/// ```
///
/// - Each account runs in its own actor with its own connection, token slot, dedup,
///   pacing and status; nothing falls back to a default account.
/// - ``reply(to:_:)`` sends through the message's ``Origin``;
///   ``send(_:via:to:thread:)`` needs an explicit ``AccountKey``.
/// - ``apply(_:)`` is also the reload: added accounts start, removed or disabled ones
///   stop, changed ones restart, untouched ones keep their socket.
/// - ``shutdown()`` stops every account, closes every socket, flushes state and
///   finishes ``events``.
public actor ChannelGateway {
    /// Every event of every account: messages (deduplicated, with session keys), status
    /// and identity changes, other platform events. Buffered per
    /// ``Configuration/eventBuffering``; finished by ``shutdown()``.
    public nonisolated let events: AsyncStream<GatewayEvent>

    /// The gateway's configuration.
    public nonisolated let configuration: Configuration

    private let shared: GatewayShared
    private let adapters: [ChannelID: any ChannelAdapter]
    private var runtimes: [AccountKey: AccountRuntime] = [:]
    private var healthIntervals: [ChannelID: Duration] = [:]
    private var monitors: [ChannelID: Task<Void, Never>] = [:]
    private var isShutDown = false

    /// Creates a gateway with no accounts; add them with ``apply(_:)`` or
    /// ``add(_:settings:)``.
    /// - Parameters:
    ///   - adapters: one adapter per channel (a second one for the same channel is
    ///     ignored).
    ///   - configuration: clock, logger, store, transports and policies.
    public init(adapters: [any ChannelAdapter], configuration: Configuration = Configuration()) {
        let (stream, continuation) = AsyncStream<GatewayEvent>.makeStream(bufferingPolicy: configuration.eventBuffering)
        self.events = stream
        self.configuration = configuration
        self.adapters = Dictionary(adapters.map { ($0.channel, $0) }, uniquingKeysWith: { first, _ in first })
        let tokenCache = configuration.tokenCache ?? TokenCache(configuration: .init(time: configuration.time, logger: configuration.logger))
        self.shared = GatewayShared(
            configuration: configuration,
            tokenCache: tokenCache,
            continuation: continuation,
            routing: .init((SessionKey.defaultAgent, .main))
        )
    }

    /// The registered channels.
    public nonisolated var channels: [ChannelID] {
        adapters.keys.sorted { $0.rawValue < $1.rawValue }
    }

    // MARK: Configuration and reload

    /// What ``apply(_:)`` did.
    public struct ReloadReport: Sendable, Hashable {
        /// Accounts started (new, or enabled again).
        public var started: [AccountKey] = []
        /// Accounts restarted because their settings changed.
        public var restarted: [AccountKey] = []
        /// Accounts stopped (removed or disabled).
        public var stopped: [AccountKey] = []
        /// Accounts left running as they were.
        public var unchanged: [AccountKey] = []
    }

    /// Applies a configuration: the first call starts its accounts; later calls reload.
    ///
    /// Added (and enabled) accounts start, removed or disabled ones stop, accounts whose
    /// settings changed restart with the new settings (a stale configuration is never
    /// kept in a closure), untouched ones keep their socket. Session settings and health
    /// intervals apply at once.
    @discardableResult
    public func apply(_ settings: GatewaySettings) async -> ReloadReport {
        var report = ReloadReport()
        guard !isShutDown else { return report }
        shared.routing.mutex.withLock { $0 = (settings.agent, settings.dmScope) }

        let wanted = Dictionary(settings.accounts.map { ($0.key, $0.settings) }, uniquingKeysWith: { first, _ in first })
        for key in runtimes.keys.sorted(by: { $0.description < $1.description }) where wanted[key] == nil {
            if let runtime = runtimes.removeValue(forKey: key) {
                await runtime.stop()
                report.stopped.append(key)
            }
        }
        for (key, accountSettings) in settings.accounts {
            guard adapters[key.channel] != nil else { continue }
            if let runtime = runtimes[key] {
                if runtime.settings.isSame(as: accountSettings) {
                    if accountSettings.enabled, await runtime.stoppedOnPurpose {
                        await runtime.start()
                        report.started.append(key)
                    } else {
                        report.unchanged.append(key)
                    }
                    continue
                }
                await runtime.stop()
                let replacement = makeRuntime(key, accountSettings)
                if accountSettings.enabled {
                    await replacement.start()
                    report.restarted.append(key)
                } else {
                    report.stopped.append(key)
                }
            } else {
                let runtime = makeRuntime(key, accountSettings)
                if accountSettings.enabled {
                    await runtime.start()
                    report.started.append(key)
                }
            }
        }
        var intervals: [ChannelID: Duration] = [:]
        for (channel, channelSettings) in settings.channels {
            if let interval = channelSettings.healthCheckInterval { intervals[channel] = interval }
        }
        updateMonitors(intervals)
        return report
    }

    /// Adds (or replaces) one account and starts it if enabled. A replaced account is
    /// stopped first.
    /// - Throws: ``ChannelError`` `.invalidConfiguration` when no adapter serves its channel.
    public func add(_ key: AccountKey, settings: any AccountSettings) async throws {
        guard !isShutDown else { throw ChannelError(.stopped, "the gateway is shut down", account: key) }
        guard adapters[key.channel] != nil else {
            throw ChannelError(.invalidConfiguration, "no adapter registered for channel \(key.channel)", account: key)
        }
        if let old = runtimes[key] { await old.stop() }
        let runtime = makeRuntime(key, settings)
        if settings.enabled { await runtime.start() }
    }

    /// Stops and forgets one account.
    public func remove(_ key: AccountKey) async {
        if let runtime = runtimes.removeValue(forKey: key) { await runtime.stop() }
    }

    private func makeRuntime(_ key: AccountKey, _ settings: any AccountSettings) -> AccountRuntime {
        // `adapters[key.channel]` was checked by every caller.
        let adapter = adapters[key.channel] ?? UnavailableAdapter(channel: key.channel)
        let runtime = AccountRuntime(key: key, adapter: adapter, settings: settings, shared: shared)
        runtimes[key] = runtime
        return runtime
    }

    // MARK: Start and stop

    /// Starts a configured account (idempotent: a running account is left alone).
    /// - Throws: ``ChannelError`` `.invalidState` for an unknown account.
    public func start(_ key: AccountKey) async throws {
        try await runtime(for: key).start()
    }

    /// Stops an account on purpose: the health monitor leaves it alone until it is
    /// started again. Returns when its socket is closed and its tasks have ended (or
    /// after ``Configuration/stopTimeout``).
    public func stop(_ key: AccountKey) async {
        await runtimes[key]?.stop()
    }

    /// Stops and starts an account.
    public func restart(_ key: AccountKey) async throws {
        let runtime = try runtime(for: key)
        await runtime.stop()
        await runtime.start()
    }

    /// Stops every account (concurrently), closes every socket, flushes state, ends the
    /// health monitors and finishes ``events``. Idempotent.
    public func shutdown() async {
        guard !isShutDown else { return }
        isShutDown = true
        for monitor in monitors.values { monitor.cancel() }
        monitors.removeAll()
        let all = Array(runtimes.values)
        await withTaskGroup(of: Void.self) { group in
            for runtime in all { group.addTask { await runtime.stop() } }
        }
        shared.continuation.finish()
    }

    // MARK: Status

    /// The status of one account, or `nil` if it is not configured.
    public func status(of key: AccountKey) async -> AccountStatus? {
        await runtimes[key]?.status
    }

    /// The status of every account, sorted by key.
    public func statuses() async -> [AccountStatus] {
        var result: [AccountStatus] = []
        for key in runtimes.keys.sorted(by: { $0.description < $1.description }) {
            if let runtime = runtimes[key] { result.append(await runtime.status) }
        }
        return result
    }

    /// The configured accounts.
    public var accounts: [AccountKey] {
        runtimes.keys.sorted { $0.description < $1.description }
    }

    /// Checks an account without starting it (token, identity, gateway reachability).
    public func probe(_ key: AccountKey) async throws -> AccountProbe {
        try await runtime(for: key).probe()
    }

    /// Checks an account from `settings` without adding or starting it (what
    /// `channelkit probe` does).
    /// - Throws: ``ChannelError`` `.invalidConfiguration` when no adapter serves its channel.
    public func probe(_ key: AccountKey, settings: any AccountSettings) async throws -> AccountProbe {
        guard let adapter = adapters[key.channel] else {
            throw ChannelError(.invalidConfiguration, "no adapter registered for channel \(key.channel)", account: key)
        }
        return try await AccountRuntime(key: key, adapter: adapter, settings: settings, shared: shared).probe()
    }

    // MARK: Sending

    /// Replies to `message` through exactly its origin: the account that received it, to
    /// the conversation (and thread) it came from, as a passive reply where the platform
    /// has them.
    /// - Throws: ``ChannelError`` — `.invalidState` when that account is not running
    ///   (there is no fallback to another account), or the adapter's error.
    /// - Cancellation: stops waiting for pacing and throws `CancellationError`; a chunk
    ///   already on the wire is not recalled.
    @discardableResult
    public nonisolated func reply(to message: InboundMessage, _ reply: OutboundMessage) async throws -> SendReceipt {
        try await self.reply(to: message.origin, reply)
    }

    /// Replies through `origin`; see ``reply(to:_:)-(InboundMessage,_)``.
    @discardableResult
    public nonisolated func reply(to origin: Origin, _ reply: OutboundMessage) async throws -> SendReceipt {
        let runtime = try await runtime(for: origin.account)
        return try await runtime.send(reply, to: DeliveryTarget(replyingTo: origin))
    }

    /// Sends proactively via an explicit account to a peer. There is no default account
    /// and no "last channel": the account is always named.
    /// - Throws: ``ChannelError`` `.invalidState` for an unknown or stopped account, or
    ///   the adapter's error (many platforms restrict proactive sends).
    @discardableResult
    public nonisolated func send(_ message: OutboundMessage, via account: AccountKey, to peer: Peer, thread: String? = nil) async throws -> SendReceipt {
        let runtime = try await runtime(for: account)
        return try await runtime.send(message, to: DeliveryTarget(peer: peer, thread: thread))
    }

    private func runtime(for key: AccountKey) throws -> AccountRuntime {
        guard let runtime = runtimes[key] else {
            throw ChannelError(.invalidState, "unknown account \(key)", account: key)
        }
        return runtime
    }

    // MARK: Health monitor

    private func updateMonitors(_ intervals: [ChannelID: Duration]) {
        for (channel, task) in monitors where intervals[channel] != healthIntervals[channel] {
            task.cancel()
            monitors[channel] = nil
        }
        healthIntervals = intervals
        for (channel, interval) in intervals where monitors[channel] == nil {
            let time = shared.time
            monitors[channel] = Task { [weak self] in
                while !Task.isCancelled {
                    do { try await time.sleep(for: interval) } catch { return }
                    guard let self else { return }
                    await self.checkHealth(of: channel, interval: interval)
                }
            }
        }
    }

    /// Runs one health check of a channel's accounts now (the monitor does this every
    /// `healthCheckIntervalMinutes`). Returns the accounts it restarted, with reasons.
    @discardableResult
    public func checkHealth(of channel: ChannelID, interval: Duration? = nil) async -> [AccountKey: String] {
        let interval = interval ?? healthIntervals[channel] ?? .seconds(GatewaySettings.defaultHealthCheckMinutes * 60)
        var restarted: [AccountKey: String] = [:]
        let now = shared.time.now()
        for (key, runtime) in runtimes where key.channel == channel {
            let snapshot = await runtime.healthSnapshot
            if let reason = configuration.health.restartReason(for: snapshot, now: now, interval: interval) {
                restarted[key] = reason
                await runtime.restart(reason: reason)
            }
        }
        return restarted
    }
}

/// Stands in when no adapter serves a channel (never reached through the public API).
private struct UnavailableAdapter: ChannelAdapter {
    let channel: ChannelID
    func parseAccount(_ config: ConfigObject) -> (any AccountSettings)? { nil }
    func makeConnection(settings: any AccountSettings, context: AccountContext) throws -> any AccountConnection {
        throw ChannelError(.invalidConfiguration, "no adapter registered for channel \(channel)", account: context.account)
    }
}

/// Runs `body` with a gateway and shuts it down afterwards — also when `body` throws or
/// is cancelled — so no socket or task outlives the scope.
/// - Parameters:
///   - adapters: one adapter per channel.
///   - configuration: the gateway's configuration.
///   - body: uses the gateway.
/// - Returns: what `body` returns.
public func withChannelGateway<Result: Sendable>(
    adapters: [any ChannelAdapter],
    configuration: ChannelGateway.Configuration = ChannelGateway.Configuration(),
    _ body: (ChannelGateway) async throws -> Result
) async throws -> Result {
    let gateway = ChannelGateway(adapters: adapters, configuration: configuration)
    do {
        let result = try await body(gateway)
        await gateway.shutdown()
        return result
    } catch {
        await gateway.shutdown()
        throw error
    }
}
