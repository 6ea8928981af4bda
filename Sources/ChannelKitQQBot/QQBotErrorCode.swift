import Foundation
import ChannelKit

/// The QQ Bot platform's numeric error codes that ChannelKit acts on, and the mapping
/// of a failed REST reply to a ``ChannelError``.
///
/// Errors are ``ChannelError`` values carrying the raw code in
/// ``ChannelError/platformCode`` and the platform's message in
/// ``ChannelError/platformMessage``; this type only names the codes.
public enum QQBotErrorCode {
    /// Token missing.
    public static let tokenMissing = 11241
    /// Token check failed.
    public static let tokenCheckFailed = 11242
    /// Token rejected.
    public static let tokenRejected = 11243
    /// Token expired: drop the cached token and retry once.
    public static let tokenExpired = 11244
    /// The legacy fixed `Bot <appId>.<token>` form is disabled.
    public static let fixedTokenDisabled = 11245
    /// Bad AppID.
    public static let badAppID = 11251
    /// Invalid request: HTTP 500, typically one bot's token used with another bot's openid.
    public static let invalidRequest = 11255
    /// Markdown not permitted for this bot.
    public static let markdownNotAllowed = 40034012
    /// `msg_id` invalid.
    public static let invalidMessageID = 40034024
    /// Proactive messages not permitted.
    public static let proactiveNotAllowed = 40034102
    /// The same `msg_id` + `msg_seq` was sent before.
    public static let duplicateMessageSeq = 40054005
    /// The passive-reply window of the `msg_id` has passed.
    public static let replyWindowExpired = 304027
    /// Empty message.
    public static let emptyMessage = 50006
    /// Token endpoint: too many requests.
    public static let tokenRateLimited = 100001
    /// Token endpoint: AppID invalid or banned.
    public static let appIDInvalid = 100007
    /// Token endpoint: bad AppID or secret.
    public static let badCredentials = 100016
    /// Token endpoint: no such bot.
    public static let noSuchBot = 10004

    /// Codes that mean "slow down" (HTTP 429 is one too).
    public static func isRateLimit(_ code: Int) -> Bool {
        code == 22009 || code == 20028 || (304045...304050).contains(code) || code == 1_100_100 || code == tokenRateLimited
    }

    /// Codes after which the token must be dropped and the request retried once.
    public static func isExpiredToken(_ code: Int) -> Bool {
        code == tokenExpired
    }

    /// Codes that reject the credential itself.
    public static func isAuthFailure(_ code: Int) -> Bool {
        (11241...11245).contains(code) || code == badAppID
    }

    /// Token-endpoint codes that no retry can fix (the configuration must change).
    public static func isPermanentCredentialFailure(_ code: Int) -> Bool {
        code == badCredentials || code == appIDInvalid || code == noSuchBot || code == badAppID
    }

    /// The `{"code","message"}` of an error body, when it has one (the gateway may answer
    /// with HTML or nothing).
    static func parseBody(_ body: Data) -> (code: Int?, message: String?) {
        guard !body.isEmpty, let value = try? JSONDecoder().decode(JSONValue.self, from: body) else { return (nil, nil) }
        let code = value["code"]?.intValue ?? value["err_code"]?.intValue ?? value["code"]?.stringValue.flatMap { Int($0) }
        return (code, value["message"]?.stringValue)
    }

    /// The ``ChannelError`` for a REST reply that failed (non-2xx, or a 2xx whose body
    /// carries a non-zero `code`).
    ///
    /// `.rateLimited` for HTTP 429 and the rate-limit codes (``ChannelError/retryAfter``
    /// from `Retry-After` when sent), `.unauthorized` for 401/403 and the token codes,
    /// `.platform` for everything else; the raw code and message are kept.
    static func error(for response: HTTPResponse, request: String, account: AccountKey?, time: TimeSource) -> ChannelError {
        let (code, message) = parseBody(response.body)
        let kind: ChannelError.Code
        if response.status == 429 || code.map(isRateLimit) == true {
            kind = .rateLimited
        } else if response.status == 401 || response.status == 403 || code.map(isAuthFailure) == true {
            kind = .unauthorized
        } else {
            kind = .platform
        }
        var text = "QQ Bot \(request) failed with HTTP \(response.status)"
        if let code { text += ", code \(code)" }
        var error = ChannelError(kind, text, account: account, platformCode: code, platformMessage: message.map(Redactor.redact),
                                 response: response)
        if let wait = response.retryAfter(now: time.now()) { error.retryAfter = wait }
        return error
    }
}
