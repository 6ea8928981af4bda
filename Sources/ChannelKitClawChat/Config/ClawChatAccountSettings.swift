import Foundation
import ChannelKit

/// One ClawChat account's configuration: `channels.clawchat.accounts.<id>` (see SCHEMA.md).
///
/// The tokens given here only *seed* the account: once ChannelKit has stored a pair for
/// the account (under the state directory), the stored pair is authoritative, because
/// every refresh rotates both tokens. Changing `accessToken`/`refreshToken` in the
/// configuration (a re-activation) replaces the stored pair.
public struct ClawChatAccountSettings: AccountSettings, Equatable, CustomStringConvertible {
    /// REST base, e.g. `https://app.clawling.com` (no trailing slash needed).
    public var baseURL: URL
    /// WebSocket endpoint. Defaults to `ws(s)://<host>[:port]/ws` derived from ``baseURL``.
    public var websocketURL: URL
    /// The access token the account starts from (a JWT; see the type's discussion).
    public var accessToken: Secret
    /// The refresh token the account starts from (64 hex characters on production).
    public var refreshToken: Secret
    /// REST `X-Device-Id`, bound to the session at activation and sent again on refresh.
    /// `nil`: the stored id, else the access token's `did` claim, else ``wsDeviceID``.
    public var deviceID: String?
    /// The WebSocket `device_id` (the key of the server's replay cursor). `nil`: derived
    /// from the host and account, then persisted so it stays stable.
    public var wsDeviceID: String?
    /// The account's own user id. `nil`: the access token's `sub`, else `GET /v1/users/me`.
    public var userID: String?
    /// Base of `/media/upload`. Defaults to ``baseURL``.
    public var mediaBaseURL: URL
    /// Whether the account runs. Default `true`.
    public var enabled: Bool

    /// Creates settings; `websocketURL` and `mediaBaseURL` default from `baseURL`.
    public init(
        baseURL: URL,
        websocketURL: URL? = nil,
        accessToken: Secret,
        refreshToken: Secret,
        deviceID: String? = nil,
        wsDeviceID: String? = nil,
        userID: String? = nil,
        mediaBaseURL: URL? = nil,
        enabled: Bool = true
    ) {
        self.baseURL = baseURL
        self.websocketURL = websocketURL ?? Self.deriveWebSocketURL(from: baseURL)
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.deviceID = deviceID
        self.wsDeviceID = wsDeviceID
        self.userID = userID
        self.mediaBaseURL = mediaBaseURL ?? baseURL
        self.enabled = enabled
    }

    /// `https://h[:p][/prefix]` → `wss://h[:p][/prefix]/ws`; `http` → `ws`.
    public static func deriveWebSocketURL(from baseURL: URL) -> URL {
        guard var components = URLComponents(url: baseURL, resolvingAgainstBaseURL: false) else { return baseURL }
        components.scheme = baseURL.scheme?.lowercased() == "http" ? "ws" : "wss"
        var path = components.path
        while path.hasSuffix("/") { path.removeLast() }
        components.path = path + "/ws"
        components.query = nil
        components.fragment = nil
        return components.url ?? baseURL
    }

    /// Every field; tokens redacted.
    public var description: String {
        "ClawChatAccountSettings(baseUrl: \(baseURL.absoluteString), websocketUrl: \(websocketURL.absoluteString), "
            + "accessToken: <redacted>, refreshToken: <redacted>, deviceId: \(deviceID ?? "nil"), "
            + "wsDeviceId: \(wsDeviceID ?? "nil"), userId: \(userID ?? "nil"), mediaBaseUrl: \(mediaBaseURL.absoluteString), enabled: \(enabled))"
    }

    /// The REST base for a path: `baseURL` + `path` (keeps a path prefix of the base).
    func url(_ path: String) -> URL { Self.join(baseURL, path) }

    /// The media upload endpoint.
    var mediaUploadURL: URL { Self.join(mediaBaseURL, "/media/upload") }

    static func join(_ base: URL, _ path: String) -> URL {
        var text = base.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        return URL(string: text + path) ?? base
    }

    /// Parses `channels.clawchat.accounts.<id>`, reporting problems with their JSON paths.
    static func parse(_ config: ConfigObject) -> ClawChatAccountSettings? {
        let baseURL = config.url("baseUrl", schemes: ["https", "http"], required: true)
        let websocketURL = config.url("websocketUrl", schemes: ["wss", "ws"])
        let accessToken = config.secret("accessToken", required: true)
        let refreshToken = config.secret("refreshToken", required: true)
        let deviceID = deviceIDField(config, "deviceId")
        let wsDeviceID = deviceIDField(config, "wsDeviceId")
        let userID = config.string("userId")
        if let userID, userID.isEmpty { config.error("must not be empty", at: "userId") }
        let mediaBaseURL = config.url("mediaBaseUrl", schemes: ["https", "http"])
        let enabled = config.bool("enabled") ?? true
        config.rejectUnknownKeys()
        guard let baseURL, let accessToken, let refreshToken else { return nil }
        if let userID, userID.isEmpty { return nil }
        return ClawChatAccountSettings(
            baseURL: baseURL, websocketURL: websocketURL, accessToken: accessToken, refreshToken: refreshToken,
            deviceID: deviceID, wsDeviceID: wsDeviceID, userID: userID, mediaBaseURL: mediaBaseURL, enabled: enabled)
    }

    /// A device id: 1–128 bytes, no control characters.
    private static func deviceIDField(_ config: ConfigObject, _ key: String) -> String? {
        guard let value = config.string(key) else { return nil }
        if value.isEmpty || value.utf8.count > 128 {
            config.error("must be 1–128 bytes, found \(value.utf8.count)", at: key)
            return nil
        }
        if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            config.error("must not contain control characters", at: key)
            return nil
        }
        return value
    }
}
