import Foundation
import ChannelKit

/// One QQ Bot account's configuration, parsed from `channels.qqbot.accounts.<id>`
/// (documented field by field in SCHEMA.md).
///
/// Every option is per account: two accounts in one process never share markdown,
/// intents, endpoints or credentials.
public struct QQBotAccountSettings: AccountSettings, Equatable {
    /// The production REST host, `https://api.sgroup.qq.com`.
    public static let productionAPIBase = URL(string: "https://api.sgroup.qq.com")!
    /// The sandbox REST host, `https://sandbox.api.sgroup.qq.com`.
    public static let sandboxAPIBase = URL(string: "https://sandbox.api.sgroup.qq.com")!
    /// The token endpoint, `https://bots.qq.com/app/getAppAccessToken`.
    public static let defaultTokenURL = URL(string: "https://bots.qq.com/app/getAppAccessToken")!
    /// The default ``textChunkLimit``: 2000 characters.
    public static let defaultTextChunkLimit = 2000

    /// The bot's AppID (a numeric string). Tokens are cached per AppID.
    public var appId: String
    /// The bot's AppSecret (`clientSecret`, `clientSecretFile` or `clientSecretEnv`).
    public var clientSecret: Secret
    /// Whether the account runs. Default `true`.
    public var enabled: Bool
    /// Gateway intents. Default ``QQBotIntents/default``.
    public var intents: QQBotIntents
    /// Use the sandbox REST host. Default `false`. Ignored when ``apiBaseURL`` was given.
    public var sandbox: Bool
    /// The REST base URL (`GET /gateway`, sends, uploads). Default: production or sandbox host.
    public var apiBaseURL: URL
    /// The token endpoint. Default ``defaultTokenURL``.
    public var tokenURL: URL
    /// Send `OutboundMessage.Format.markdown` as `msg_type` 2 (needs the platform's
    /// markdown permission, otherwise 40034012). Default `false`: markdown text is sent
    /// as plain text.
    public var markdownSupport: Bool
    /// The longest text one message may carry, in characters. Default 2000.
    public var textChunkLimit: Int

    /// Creates settings; every option but the credentials has its documented default.
    public init(
        appId: String,
        clientSecret: Secret,
        enabled: Bool = true,
        intents: QQBotIntents = .default,
        sandbox: Bool = false,
        apiBaseURL: URL? = nil,
        tokenURL: URL = QQBotAccountSettings.defaultTokenURL,
        markdownSupport: Bool = false,
        textChunkLimit: Int = QQBotAccountSettings.defaultTextChunkLimit
    ) {
        self.appId = appId
        self.clientSecret = clientSecret
        self.enabled = enabled
        self.intents = intents
        self.sandbox = sandbox
        self.apiBaseURL = apiBaseURL ?? (sandbox ? Self.sandboxAPIBase : Self.productionAPIBase)
        self.tokenURL = tokenURL
        self.markdownSupport = markdownSupport
        self.textChunkLimit = textChunkLimit
    }

    /// Parses one account object, reporting every problem through `config` with its
    /// JSON path. Returns `nil` when the account cannot be used.
    public static func parse(_ config: ConfigObject) -> QQBotAccountSettings? {
        var appId: String?
        if let raw = config.value("appId") {
            switch raw {
            case .string(let s) where !s.isEmpty:
                appId = s
            case .number:
                // AppIDs are numeric; accept an unquoted integer as a convenience.
                if let i = raw.intValue, i > 0 { appId = String(i) } else { config.error("expected a string AppID", at: "appId") }
            case .string:
                config.error("must not be empty", at: "appId")
            default:
                config.error("expected a string, found \(ConfigObject.typeName(raw))", at: "appId")
            }
        } else {
            config.error("missing required field \"appId\"", at: "appId")
        }
        if let id = appId, !id.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            config.error("an AppID is a number such as \"102863192\", found \"\(id)\"", at: "appId")
            appId = nil
        }
        let secret = config.secret("clientSecret", required: true)
        let enabled = config.bool("enabled") ?? true
        let intents = parseIntents(config) ?? .default
        let sandbox = config.bool("sandbox") ?? false
        let apiBase = config.url("apiBaseUrl", schemes: ["https", "http"])
        let tokenURL = config.url("tokenUrl", schemes: ["https", "http"]) ?? defaultTokenURL
        let markdown = config.bool("markdownSupport") ?? false
        let chunk = config.int("textChunkLimit", in: 1...20_000) ?? defaultTextChunkLimit
        config.rejectUnknownKeys()
        guard let appId, let secret else { return nil }
        return QQBotAccountSettings(appId: appId, clientSecret: secret, enabled: enabled, intents: intents, sandbox: sandbox,
                                    apiBaseURL: apiBase, tokenURL: tokenURL, markdownSupport: markdown, textChunkLimit: chunk)
    }

    private static func parseIntents(_ config: ConfigObject) -> QQBotIntents? {
        guard let raw = config.value("intents") else { return nil }
        switch raw {
        case .number:
            guard let n = raw.intValue, n > 0, n < (1 << 31) else {
                config.error("expected a positive integer below 2^31 or a list of intent names", at: "intents")
                return nil
            }
            return QQBotIntents(rawValue: n)
        case .array(let items):
            var result: QQBotIntents = []
            var ok = true
            for (index, item) in items.enumerated() {
                let path = config.path(of: "intents") + "[\(index)]"
                guard let name = item.stringValue else {
                    config.error("expected an intent name, found \(ConfigObject.typeName(item))", atPath: path)
                    ok = false
                    continue
                }
                guard let bit = QQBotIntents.names[name.uppercased()] else {
                    config.error("unknown intent \"\(name)\"; known: \(QQBotIntents.names.keys.sorted().joined(separator: ", "))", atPath: path)
                    ok = false
                    continue
                }
                result.insert(bit)
            }
            if items.isEmpty {
                config.error("must name at least one intent", at: "intents")
                return nil
            }
            return ok ? result : nil
        default:
            config.error("expected a number or a list of intent names, found \(ConfigObject.typeName(raw))", at: "intents")
            return nil
        }
    }
}
