import Foundation
import Synchronization
import ChannelKit

/// One Feishu/Lark app's connection: the long-connection session (across runs), sends,
/// identity, probe.
///
/// - ``run()`` is one WebSocket session: endpoint discovery (a fresh single-use ticket
///   every time) → connect → ping (then every `PingInterval`) → data frames reassembled,
///   decoded, acked at once and then delivered, until the socket ends.
/// - ``discoverIdentity()`` asks `GET /open-apis/bot/v3/info` for the bot's open_id; the
///   runtime calls it on the account's own task and retries it on a schedule that no
///   socket or stale lifecycle can cancel (seed 003). Until it succeeds, group
///   messages count as not mentioning the bot (fail closed).
/// - ``send(_:to:)`` sends one chunk through this app's own tenant token.
///
/// Thread-safe; the runtime calls `run()` from one task and `send` from any.
public final class FeishuConnection: AccountConnection {
    /// The account's settings.
    public let settings: FeishuAccountSettings
    let context: AccountContext
    let configuration: FeishuAdapter.Configuration
    let tokens: TokenSource
    let rest: FeishuRESTClient
    let endpoint: FeishuEndpoint
    let decoder: FeishuEventDecoder

    struct State: Sendable {
        var running = false
        var clientConfig = FeishuClientConfig()
        var serviceID: Int32 = 0
        /// Idempotency keys of sends not yet confirmed: fingerprint → uuid, so a retried
        /// chunk reuses its `uuid` and the platform sends it at most once.
        var pendingUUIDs: [String: String] = [:]
        var sessions = 0
    }
    let state: Mutex<State>

    /// Creates the connection (no I/O).
    public init(settings: FeishuAccountSettings, context: AccountContext, configuration: FeishuAdapter.Configuration = .init()) {
        self.settings = settings
        self.context = context
        self.configuration = configuration
        let fetcher = FeishuTokenFetcher(appId: settings.appId, appSecret: settings.appSecret,
                                         url: settings.url("/open-apis/auth/v3/tenant_access_token/internal"), http: context.http,
                                         account: context.account, timeout: configuration.requestTimeout, time: context.time)
        let tokens = context.tokenCache.source(for: fetcher.key) { key in try await fetcher.fetch(key) }
        self.tokens = tokens
        self.rest = FeishuRESTClient(settings: settings, http: context.http, tokens: tokens, account: context.account,
                                     time: context.time, timeout: configuration.requestTimeout)
        self.endpoint = FeishuEndpoint(settings: settings, http: context.http, account: context.account, timeout: configuration.requestTimeout)
        self.decoder = FeishuEventDecoder(account: context.account, baseURL: settings.baseURL, requireMention: settings.requireMention)
        self.state = Mutex(State())
    }

    /// ``FeishuAdapter/Configuration/textChunkLimit``.
    public var textChunkLimit: Int { configuration.textChunkLimit }

    /// The connection settings as last pushed by the server (endpoint reply or pong).
    public var clientConfig: FeishuClientConfig { state.withLock { $0.clientConfig } }

    /// `GET /open-apis/bot/v3/info` → `bot.open_id` (and `app_name`).
    /// - Throws: ``ChannelError`` (token, transport, platform); the runtime retries.
    public func discoverIdentity() async throws -> AccountIdentity? {
        let identity = try await rest.botInfo()
        context.logger.info("bot open_id resolved: \(identity.id)", source: "Feishu")
        return identity
    }

    /// Checks the token, the identity (bot info) and endpoint discovery (which spends one
    /// ticket but opens no socket).
    public func probe() async -> AccountProbe {
        await AccountProbe.standard(
            token: { _ = try await rest.token() },
            identity: { try await rest.botInfo() },
            gatewayLabel: "endpoint",
            gateway: {
                do throws(FeishuEndpoint.Failure) {
                    _ = try await endpoint.discover()
                } catch {
                    switch error {
                    case .fatal(let e), .retryable(let e): throw e
                    }
                }
            }
        )
    }

    static func describe(_ error: any Error) -> String { ChannelError.describe(error) }
}
