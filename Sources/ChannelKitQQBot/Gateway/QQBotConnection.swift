import Foundation
import Synchronization
import ChannelKit

/// One QQ Bot account's connection: the gateway session (across runs), sends, probe.
///
/// - ``run()`` is one WebSocket session: token → `GET /gateway` → connect → Hello →
///   Identify or Resume → READY/RESUMED → heartbeats and dispatches, until the socket
///   ends. The session id and last handled seq stay in the connection, so the next
///   run resumes (after op 7, 4009, a drop).
/// - ``send(_:to:)`` sends one chunk through this account's own token; replies carry
///   `msg_id` and `msg_seq` 1, 2, 3… per `msg_id`.
///
/// Thread-safe; the runtime calls `run()` from one task and `send` from any.
public final class QQBotConnection: AccountConnection {
    /// The account's settings.
    public let settings: QQBotAccountSettings
    let context: AccountContext
    let configuration: QQBotAdapter.Configuration
    let tokens: TokenSource
    let rest: QQBotRESTClient

    struct State: Sendable {
        var machine: QQBotGatewayStateMachine
        var sequencer = QQBotReplySequencer()
        var identity: AccountIdentity?
        var running = false
        var savedSessionChecked = false
    }
    let state: Mutex<State>

    /// Creates the connection (no I/O).
    public init(settings: QQBotAccountSettings, context: AccountContext, configuration: QQBotAdapter.Configuration = .init()) {
        self.settings = settings
        self.context = context
        self.configuration = configuration
        let fetcher = QQBotTokenFetcher(appId: settings.appId, clientSecret: settings.clientSecret, tokenURL: settings.tokenURL,
                                        http: context.http, account: context.account, timeout: configuration.requestTimeout,
                                        time: context.time)
        let tokens = context.tokenCache.source(for: fetcher.key) { key in try await fetcher.fetch(key) }
        self.tokens = tokens
        self.rest = QQBotRESTClient(baseURL: settings.apiBaseURL, http: context.http, tokens: tokens, appId: settings.appId,
                                    account: context.account, time: context.time, timeout: configuration.requestTimeout)
        self.state = Mutex(State(machine: QQBotGatewayStateMachine(configuration: configuration.gateway)))
    }

    /// ``QQBotAccountSettings/textChunkLimit``.
    public var textChunkLimit: Int { settings.textChunkLimit }

    /// The resumable gateway session (id and last handled seq), if any.
    public var session: QQBotGatewayStateMachine.Session? { state.withLock { $0.machine.session } }

    /// The bot's identity from the last READY, if any.
    public var identity: AccountIdentity? { state.withLock { $0.identity } }

    /// `GET /users/@me`.
    public func discoverIdentity() async throws -> AccountIdentity? {
        try await rest.me()
    }

    /// Checks the token, the identity (`GET /users/@me`) and `GET /gateway`.
    public func probe() async -> AccountProbe {
        await AccountProbe.standard(
            token: { _ = try await tokens.token() },
            identity: { try await rest.me() },
            gateway: { _ = try await rest.gatewayURL() }
        )
    }

    static func describe(_ error: any Error) -> String { ChannelError.describe(error) }
}
