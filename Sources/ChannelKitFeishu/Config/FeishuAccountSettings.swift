import Foundation
import ChannelKit

/// One Feishu/Lark app's configuration, parsed from `channels.feishu.accounts.<id>`
/// (documented field by field in SCHEMA.md).
///
/// Every option is per account: two apps in one process never share a base URL, a
/// mention rule or credentials. Tokens are cached per `appId`.
public struct FeishuAccountSettings: AccountSettings, Equatable, CustomStringConvertible {
    /// Feishu's open platform, `https://open.feishu.cn` (`domain: "feishu"`, the default).
    public static let feishuBase = URL(string: "https://open.feishu.cn")!
    /// Lark's open platform, `https://open.larksuite.com` (`domain: "lark"`).
    public static let larkBase = URL(string: "https://open.larksuite.com")!

    /// The app's App ID (`cli_…`). Tokens are cached per App ID.
    public var appId: String
    /// The app's App Secret (`appSecret`, `appSecretFile` or `appSecretEnv`).
    public var appSecret: Secret
    /// The base URL under which both `/open-apis/…` and `/callback/ws/endpoint` live.
    /// Default ``feishuBase``.
    public var baseURL: URL
    /// Whether the account runs. Default `true`.
    public var enabled: Bool
    /// Whether group messages must mention the bot to be delivered. Direct (p2p)
    /// messages are always delivered. Default `true`.
    public var requireMention: Bool

    /// Creates settings; every option but the credentials has its documented default.
    public init(appId: String, appSecret: Secret, baseURL: URL = FeishuAccountSettings.feishuBase, enabled: Bool = true,
                requireMention: Bool = true) {
        self.appId = appId
        self.appSecret = appSecret
        self.baseURL = baseURL
        self.enabled = enabled
        self.requireMention = requireMention
    }

    /// Every field; the secret redacted.
    public var description: String {
        "FeishuAccountSettings(appId: \(appId), appSecret: <redacted>, domain: \(baseURL.absoluteString), enabled: \(enabled), requireMention: \(requireMention))"
    }

    /// `baseURL` + `path` (keeps a path prefix of the base; `path` starts with `/`).
    func url(_ path: String) -> URL {
        var text = baseURL.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        return URL(string: text + path) ?? baseURL
    }

    /// Parses one account object, reporting every problem through `config` with its JSON
    /// path. Returns `nil` when the account cannot be used.
    public static func parse(_ config: ConfigObject) -> FeishuAccountSettings? {
        var appId = config.string("appId", required: true)
        if let id = appId {
            if id.isEmpty {
                config.error("must not be empty", at: "appId")
                appId = nil
            } else if id.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) {
                config.error("an App ID such as \"cli_a1b2c3d4e5f6\" has no spaces or control characters", at: "appId")
                appId = nil
            }
        }
        let secret = config.secret("appSecret", required: true)
        let base = parseDomain(config)
        let enabled = config.bool("enabled") ?? true
        let requireMention = config.bool("requireMention") ?? true
        config.rejectUnknownKeys()
        guard let appId, let secret, let base else { return nil }
        return FeishuAccountSettings(appId: appId, appSecret: secret, baseURL: base, enabled: enabled, requireMention: requireMention)
    }

    /// `feishu` | `lark` | an `https://` base URL (`http://` only for a loopback host).
    private static func parseDomain(_ config: ConfigObject) -> URL? {
        guard let raw = config.string("domain") else { return config.has("domain") ? nil : feishuBase }
        switch raw.lowercased() {
        case "feishu": return feishuBase
        case "lark": return larkBase
        default: break
        }
        guard let url = URL(string: raw), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty else {
            config.error("expected \"feishu\", \"lark\" or an https:// base URL, found \"\(Redactor.redact(raw))\"", at: "domain")
            return nil
        }
        if url.query != nil || url.fragment != nil || url.user != nil {
            config.error("a base URL has no query, fragment or credentials", at: "domain")
            return nil
        }
        switch scheme {
        case "https":
            return url
        case "http" where isLoopback(host):
            return url
        case "http":
            config.error("http:// is allowed only for a loopback host (127.0.0.1, ::1, localhost); use https://", at: "domain")
            return nil
        default:
            config.error("URL scheme must be https (or http for loopback), found \"\(scheme)\"", at: "domain")
            return nil
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        let h = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return h == "localhost" || h == "::1" || h.hasPrefix("127.")
    }
}
