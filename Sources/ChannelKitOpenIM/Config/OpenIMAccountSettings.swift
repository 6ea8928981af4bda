import Foundation
import ChannelKit

/// One OpenIM account's configuration: `channels.openim.accounts.<id>` (see SCHEMA.md).
///
/// Named accounts only; there is no channel-level token and no default account. The
/// user id and platform id come from the configuration or, when absent, from the token's
/// `UserID` / `PlatformID` JWT claims; a configured value that disagrees with the claim
/// is a configuration error (the msg gateway would answer 1502 anyway).
public struct OpenIMAccountSettings: AccountSettings, Equatable, CustomStringConvertible {
    /// The user token (a JWT issued by `/auth/get_user_token`).
    public var token: Secret
    /// The msg gateway, e.g. `ws://im.example.com:10001`.
    public var wsAddr: URL
    /// The REST API base, e.g. `http://im.example.com:10002`.
    public var apiAddr: URL
    /// The account's own user id (`sendID`).
    public var userID: String
    /// The platform id the token was issued for (1 iOS … 5 Web … 7 Linux … 11 HarmonyOS).
    public var platformID: Int
    /// Whether the account runs. Default `true`.
    public var enabled: Bool
    /// Whether group messages must @-mention the account to be delivered. Default `true`.
    public var requireMention: Bool
    /// User ids allowed to reach the account; empty allows everyone. A non-empty list also
    /// makes an @-mention mandatory in groups (as the official plugin does).
    public var inboundWhitelist: [String]
    /// Whether the friend/blacklist operations are disabled (they then throw
    /// `OPENIM_FRIEND_API_DISABLED`). Default `true`; the account's value wins over the
    /// channel's.
    public var disableFriendSdk: Bool
    /// The channel's `tokenRefresh` (stored per account so a change restarts it).
    public var tokenRefresh: OpenIMTokenRefresh

    /// Creates settings.
    public init(token: Secret, wsAddr: URL, apiAddr: URL, userID: String, platformID: Int, enabled: Bool = true,
                requireMention: Bool = true, inboundWhitelist: [String] = [], disableFriendSdk: Bool = true,
                tokenRefresh: OpenIMTokenRefresh = .off) {
        self.token = token
        self.wsAddr = wsAddr
        self.apiAddr = apiAddr
        self.userID = userID
        self.platformID = platformID
        self.enabled = enabled
        self.requireMention = requireMention
        self.inboundWhitelist = inboundWhitelist
        self.disableFriendSdk = disableFriendSdk
        self.tokenRefresh = tokenRefresh
    }

    /// Every field; the token redacted.
    public var description: String {
        "OpenIMAccountSettings(token: <redacted>, wsAddr: \(wsAddr.absoluteString), apiAddr: \(apiAddr.absoluteString), "
            + "userID: \(userID), platformID: \(platformID), enabled: \(enabled), requireMention: \(requireMention), "
            + "inboundWhitelist: \(inboundWhitelist), disableFriendSdk: \(disableFriendSdk))"
    }

    /// The REST URL of `path` (keeps a path prefix of ``apiAddr``).
    func api(_ path: String) -> URL {
        var text = apiAddr.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        return URL(string: text + path) ?? apiAddr
    }

    /// Parses `channels.openim.accounts.<id>`; `channel` is `channels.openim` (its
    /// `disableFriendSdk` is the default; `tokenRefresh` was parsed by the adapter).
    static func parse(_ config: ConfigObject, channelDisableFriendSdk: Bool?, tokenRefresh: OpenIMTokenRefresh) -> OpenIMAccountSettings? {
        let token = config.secret("token", required: true)
        let wsAddr = config.url("wsAddr", schemes: ["ws", "wss"], required: true)
        let apiAddr = config.url("apiAddr", schemes: ["http", "https"], required: true)
        var userID = config.string("userID")
        if let u = userID, u.isEmpty { config.error("must not be empty", at: "userID"); userID = nil }
        var platformID = config.int("platformID", in: 1...11)
        let enabled = config.bool("enabled") ?? true
        let requireMention = config.bool("requireMention") ?? true
        var whitelist: [String] = []
        if let items = config.array("inboundWhitelist") {
            for (i, item) in items.enumerated() {
                if let s = item.stringValue, !s.isEmpty { whitelist.append(s) }
                else { config.error("expected a non-empty user id string", atPath: config.path(of: "inboundWhitelist") + "[\(i)]") }
            }
        }
        let disableFriendSdk = config.bool("disableFriendSdk") ?? channelDisableFriendSdk ?? true
        config.rejectUnknownKeys()
        guard let token, let wsAddr, let apiAddr else { return nil }

        let claims = JWTClaims(token: token.reveal())
        var ok = true
        if let claimUser = claims?.string("UserID"), !claimUser.isEmpty {
            if let configured = userID, configured != claimUser {
                config.error("\"\(configured)\" does not match the token's UserID claim \"\(claimUser)\" (the msg gateway would answer 1502)", at: "userID")
                ok = false
            }
            userID = userID ?? claimUser
        }
        if let claimPlatform = claims?.int("PlatformID") {
            if let configured = platformID, configured != claimPlatform {
                config.error("\(configured) does not match the token's PlatformID claim \(claimPlatform) (the msg gateway would answer 1502)", at: "platformID")
                ok = false
            }
            platformID = platformID ?? claimPlatform
        }
        if userID == nil {
            config.error("missing userID: give \"userID\" or a token with a UserID claim", at: "userID")
            ok = false
        }
        if platformID == nil {
            config.error("missing platformID: give \"platformID\" or a token with a PlatformID claim", at: "platformID")
            ok = false
        }
        guard ok, let userID, let platformID else { return nil }
        return OpenIMAccountSettings(token: token, wsAddr: wsAddr, apiAddr: apiAddr, userID: userID, platformID: platformID,
                                     enabled: enabled, requireMention: requireMention, inboundWhitelist: whitelist,
                                     disableFriendSdk: disableFriendSdk, tokenRefresh: tokenRefresh)
    }
}
