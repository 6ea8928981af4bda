import ChannelKit
import Foundation

/// Token recovery for one OpenIM account: which token to connect with, and a new one
/// when the server rejects it (`channels.openim.tokenRefresh`).
///
/// - One per account connection, kept across its runs.
/// - Concurrent ``recover(_:)`` calls share one attempt.
/// - After a transient failure the next attempt waits an exponential backoff
///   (``Configuration/backoff``, on the account's clock).
/// - A terminal failure after a token error writes the manual-login marker and every
///   later call answers `.manualLoginRequired` at once: no attempts until the token or
///   the recovery settings change (a new connection, whose marker fingerprint differs).
/// - A refreshed token is persisted in the state store (`openim/<account>/token.json`)
///   and handed to ``OpenIMAdapter/Configuration/tokenDidRefresh`` (which `channelkit run`
///   uses to write it into its config file).
actor OpenIMTokenRecovery {
    /// Tunables.
    struct Configuration: Sendable {
        /// Delay before the n-th consecutive attempt after transient failures
        /// (default 1 s doubling to 5 min, 20 % jitter).
        var backoff = Backoff.Configuration(initial: .seconds(1), maximum: .seconds(300))
    }

    typealias Hook = @Sendable (AccountKey, String) async -> String?
    typealias DidRefresh = @Sendable (AccountKey, Secret) async -> Void

    private let accountID: String
    private let configuredToken: Secret
    private let refresh: OpenIMTokenRefresh
    private let hook: Hook?
    private let didRefresh: DidRefresh?
    private let context: AccountContext
    private let configuration: Configuration
    private let logger: ChannelLogger

    private var token: Secret?
    private var terminalReason: String?
    private var inFlight: Task<OpenIMTokenRecoveryResult, Never>?
    private var consecutiveFailures = 0
    private var random = SystemRandomNumberGenerator()

    /// Attempts made so far (HTTP requests or hook calls), for tests and status.
    private(set) var attempts = 0

    init(accountID: String, configuredToken: Secret, refresh: OpenIMTokenRefresh, hook: Hook?, didRefresh: DidRefresh?, context: AccountContext, configuration: Configuration = .init()) {
        self.accountID = accountID
        self.configuredToken = configuredToken
        self.refresh = refresh
        self.hook = hook
        self.didRefresh = didRefresh
        self.context = context
        self.configuration = configuration
        self.logger = context.logger.scoped(to: context.account)
    }

    private var stateKey: StateKey { StateKey(context.account, OpenIMPersistedToken.name) }

    /// The marker file of this account, or `nil` when neither a template nor a
    /// file-backed state directory is known.
    nonisolated var markerPath: String? {
        let template = refresh.manualLoginMarkerPath
            ?? (context.store as? FileStateStore).map { $0.directory.appendingPathComponent("openim/manual-login.json").path }
        return template.map { OpenIMManualLoginMarker.path(template: $0, accountID: accountID) }
    }

    /// Identifies the token and the recovery settings a marker was written for.
    private var fingerprint: String {
        OpenIMManualLoginMarker.fingerprint(configuredToken.reveal(), Self.settingsText(refresh), hook == nil ? "no-hook" : "hook")
    }

    /// The token to connect with: a refreshed token (this process's, or a persisted one
    /// that replaced this same configured token), else the configured token.
    /// `.manualLoginRequired` while a marker for this token and these settings exists.
    func currentToken() async -> OpenIMTokenRecoveryResult {
        if let terminalReason { return .manualLoginRequired(reason: terminalReason) }
        if let path = markerPath, let marker = OpenIMManualLoginMarker.load(path) {
            if marker.fingerprint == fingerprint {
                terminalReason = marker.reason
                return .manualLoginRequired(reason: "\(marker.reason) (marker \(path))")
            }
            logger.info("token or recovery settings changed since the manual-login marker was written; removing it", metadata: ["path": path], source: "OpenIMTokenRecovery")
            _ = try? AtomicFile.remove(path)
        }
        if let token { return .recovered(token) }
        do {
            if let stored = try await context.store.load(OpenIMPersistedToken.self, for: stateKey),
               stored.replaces == OpenIMManualLoginMarker.fingerprint(configuredToken.reveal()) {
                token = stored.token
                return .recovered(stored.token)
            }
        } catch {
            logger.warning("cannot read the persisted token; using the configured one: \(error)", source: "OpenIMTokenRecovery")
        }
        return .recovered(configuredToken)
    }

    /// Gets a new token after `trigger`. Concurrent calls share one attempt.
    /// - Cancellation: the shared attempt is not cancelled by one caller leaving; it
    ///   ends within the request timeout. ``cancel()`` ends it.
    func recover(_ trigger: OpenIMTokenRecoveryTrigger) async -> OpenIMTokenRecoveryResult {
        if let terminalReason { return .manualLoginRequired(reason: terminalReason) }
        if let inFlight { return await inFlight.value }
        let task = Task { await self.attempt(trigger) }
        inFlight = task
        let result = await task.value
        inFlight = nil
        return result
    }

    /// Cancels an attempt in flight (the connection's shutdown).
    func cancel() {
        inFlight?.cancel()
    }

    private func attempt(_ trigger: OpenIMTokenRecoveryTrigger) async -> OpenIMTokenRecoveryResult {
        if case .off = refresh.mode {
            guard trigger.isTokenError else { return .retryLater(reason: "\(trigger); token recovery is off") }
            return await fail(.terminal("token recovery is off (tokenRefresh.mode = off)"), trigger: trigger)
        }
        if consecutiveFailures > 0 {
            let delay = Backoff(configuration.backoff).delay(forAttempt: consecutiveFailures, unitRandom: Double.random(in: 0..<1, using: &random))
            do { try await context.time.sleep(for: delay) } catch { return .retryLater(reason: "token recovery cancelled") }
        }
        attempts += 1
        logger.info("token recovery after \(trigger) (attempt \(attempts))", source: "OpenIMTokenRecovery")
        do throws(OpenIMTokenRefreshFailure) {
            let newToken: Secret
            switch refresh.mode {
            case .off:
                return .retryLater(reason: "token recovery is off")
            case .hook:
                guard let hook else { throw .terminal("tokenRefresh.mode is hook but the host registered no token hook") }
                guard let text = await hook(context.account, trigger.reason), !text.isEmpty else {
                    throw .terminal("the token hook returned no token")
                }
                newToken = Secret(text)
            case .http(let settings):
                newToken = try await OpenIMHTTPTokenRefresher(settings: settings, accountID: accountID, http: context.http, logger: logger).attempt().token
            }
            if Task.isCancelled { return .retryLater(reason: "token recovery cancelled") }
            await succeed(newToken)
            return .recovered(newToken)
        } catch {
            return await fail(error, trigger: trigger)
        }
    }

    private func succeed(_ newToken: Secret) async {
        consecutiveFailures = 0
        token = newToken
        do {
            try await context.store.save(OpenIMPersistedToken(replaces: OpenIMManualLoginMarker.fingerprint(configuredToken.reveal()), token: newToken, refreshedAt: context.time.now()), for: stateKey)
        } catch {
            logger.warning("new token obtained but not persisted: \(error)", source: "OpenIMTokenRecovery")
        }
        if let path = markerPath { _ = try? AtomicFile.remove(path) }
        if case .http(let settings) = refresh.mode {
            for template in settings.clearOnSuccess {
                guard let path = try? OpenIMTokenTemplate.fill(template, accountID: accountID, state: [:]) else { continue }
                do { _ = try AtomicFile.remove(path) } catch { logger.warning("clearOnSuccess: \(error)", source: "OpenIMTokenRecovery") }
            }
        }
        logger.info("token recovered", source: "OpenIMTokenRecovery")
        await didRefresh?(context.account, newToken)
    }

    private func fail(_ failure: OpenIMTokenRefreshFailure, trigger: OpenIMTokenRecoveryTrigger) async -> OpenIMTokenRecoveryResult {
        switch failure {
        case .transient(let reason):
            consecutiveFailures += 1
            logger.warning("token recovery failed, will retry: \(reason)", source: "OpenIMTokenRecovery")
            return .retryLater(reason: reason)
        case .terminal(let reason):
            guard trigger.isTokenError else {
                consecutiveFailures += 1
                logger.warning("token recovery after \(trigger) failed: \(reason)", source: "OpenIMTokenRecovery")
                return .retryLater(reason: reason)
            }
            let full = "\(trigger): \(reason)"
            terminalReason = full
            if let path = markerPath {
                let marker = OpenIMManualLoginMarker(accountId: accountID, channel: context.account.channel.rawValue, reason: full, trigger: trigger.reason, at: ISO8601DateFormatter().string(from: context.time.now()), fingerprint: fingerprint)
                do {
                    try marker.save(to: path)
                } catch {
                    logger.error("cannot write the manual-login marker: \(error)", source: "OpenIMTokenRecovery")
                }
            }
            logger.error("manual login required: \(full)", metadata: markerPath.map { ["marker": $0] } ?? [:], source: "OpenIMTokenRecovery")
            return .manualLoginRequired(reason: full)
        }
    }

    /// Every setting that changes what recovery does, for the marker fingerprint
    /// (hashed, never stored).
    private static func settingsText(_ refresh: OpenIMTokenRefresh) -> String {
        switch refresh.mode {
        case .off: return "off"
        case .hook: return "hook"
        case .http(let h):
            let headers = h.headers.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\u{1}")
            let writeBack = h.stateWriteBack.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.joined(separator: ","))" }.joined(separator: "\u{1}")
            return ["http", h.endpoint, h.method, headers, h.body?.jsonText ?? "", h.stateFile ?? "", h.responseTokenPath.joined(separator: ","), writeBack].joined(separator: "\u{0}")
        }
    }
}
