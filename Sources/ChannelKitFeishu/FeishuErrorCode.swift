import Foundation
import ChannelKit

/// The Feishu/Lark platform codes that ChannelKit acts on, and the mapping of a failed
/// REST reply to a ``ChannelError``.
///
/// Errors are ``ChannelError`` values carrying the raw code in
/// ``ChannelError/platformCode``; this type only names the codes.
public enum FeishuErrorCode {
    /// Success.
    public static let ok = 0
    /// Endpoint discovery: system busy (retryable).
    public static let endpointSystemBusy = 1
    /// Endpoint discovery: internal error (retryable).
    public static let endpointInternalError = 1_000_040_343
    /// WebSocket handshake (`Handshake-Autherrcode` with status 514): too many connections
    /// for this app (fatal).
    public static let exceedConnectionLimit = 1_000_040_350
    /// WebSocket handshake status: auth failed (fatal only with ``exceedConnectionLimit``).
    public static let handshakeAuthFailed = 514
    /// WebSocket handshake status: forbidden (fatal).
    public static let handshakeForbidden = 403
    /// Tenant access token invalid.
    public static let tenantTokenInvalid = 99_991_663
    /// App access token invalid.
    public static let appTokenInvalid = 99_991_664
    /// Access token invalid.
    public static let accessTokenInvalid = 99_991_671
    /// Request trigger frequency limit (with HTTP 429; `x-ogw-ratelimit-reset` seconds).
    public static let rateLimited = 99_991_400

    /// Codes after which the cached tenant token is dropped, a new one fetched and the
    /// request retried once.
    public static func isInvalidToken(_ code: Int) -> Bool {
        code == tenantTokenInvalid || code == appTokenInvalid || code == accessTokenInvalid
    }

    /// Endpoint-discovery codes that a later attempt may fix.
    public static func isRetryableEndpointCode(_ code: Int) -> Bool {
        code == endpointSystemBusy || code == endpointInternalError
    }

    /// The `{"code","msg"}` of a reply body, when it has one.
    static func parseBody(_ body: Data) -> (code: Int?, message: String?) {
        guard !body.isEmpty, let value = try? JSONDecoder().decode(JSONValue.self, from: body) else { return (nil, nil) }
        return (value["code"]?.intValue, value["msg"]?.stringValue ?? value["message"]?.stringValue)
    }

    /// The wait the platform asked for: `x-ogw-ratelimit-reset` (seconds), else
    /// `Retry-After`.
    static func retryAfter(_ response: HTTPResponse, time: TimeSource) -> Duration? {
        if let raw = response.headers["x-ogw-ratelimit-reset"]?.trimmingCharacters(in: .whitespaces),
           let seconds = Double(raw), seconds.isFinite, seconds >= 0, seconds < 86_400 {
            return .milliseconds(Int64((seconds * 1000).rounded(.up)))
        }
        return response.retryAfter(now: time.now())
    }

    /// The ``ChannelError`` for a REST reply that failed (non-2xx, or a body with a
    /// non-zero `code`): `.rateLimited` for HTTP 429 / 99991400 (with
    /// ``ChannelError/retryAfter`` from `x-ogw-ratelimit-reset`), `.unauthorized` for
    /// 401/403 and the token codes, `.platform` otherwise; the raw code and message kept.
    static func error(for response: HTTPResponse, request: String, account: AccountKey?, time: TimeSource) -> ChannelError {
        let (code, message) = parseBody(response.body)
        let kind: ChannelError.Code
        if response.status == 429 || code == rateLimited {
            kind = .rateLimited
        } else if response.status == 401 || response.status == 403 || code.map(isInvalidToken) == true {
            kind = .unauthorized
        } else if code == nil && response.isSuccess {
            kind = .malformedInput
        } else {
            kind = .platform
        }
        var text = "Feishu \(request) failed with HTTP \(response.status)"
        if let code { text += ", code \(code)" }
        var error = ChannelError(kind, text, account: account, platformCode: code, platformMessage: message.map(Redactor.redact),
                                 response: response)
        if kind == .rateLimited, let wait = retryAfter(response, time: time) { error.retryAfter = wait }
        return error
    }
}
