import Foundation
import ChannelKit

/// Fetches app access tokens from `POST /app/getAppAccessToken` for one AppID.
///
/// The fetcher is bound to its own AppID and secret: asked for any other credential key
/// it refuses, so a token of one bot can never be minted for (or cached under) another.
struct QQBotTokenFetcher: Sendable {
    let appId: String
    let clientSecret: Secret
    let tokenURL: URL
    let http: any HTTPTransport
    let account: AccountKey
    let timeout: Duration
    let time: TimeSource

    /// The cache key of this AppID's token.
    var key: CredentialKey { CredentialKey(.qqbot, appId) }

    private struct RequestBody: Encodable {
        let appId: String
        let clientSecret: String
    }

    /// Fetches a token for `key`.
    /// - Throws: ``ChannelError`` `.invalidState` for a key of another AppID;
    ///   `.unauthorized` (with the platform code) when the credentials are rejected;
    ///   `.rateLimited` for 100001; `.tokenFetchFailed` or `.malformedInput` otherwise.
    func fetch(_ requested: CredentialKey) async throws -> IssuedToken {
        guard requested == key else {
            throw ChannelError(.invalidState, "token fetcher of \(key) asked for \(requested)", account: account)
        }
        let request = try HTTPRequest.json(.post, url: tokenURL, body: RequestBody(appId: appId, clientSecret: clientSecret.reveal()),
                                           timeout: timeout)
        let response = try await http.send(request)
        let parsed = try? JSONDecoder().decode(JSONValue.self, from: response.body)
        if let token = parsed?["access_token"]?.stringValue, !token.isEmpty, response.isSuccess {
            let lifetime: Int
            switch parsed?["expires_in"] {
            case .some(.number(let n)) where n.isFinite && n > 0 && n < 1e9: lifetime = Int(n)
            case .some(.string(let s)) where Int(s.trimmingCharacters(in: .whitespaces)).map({ $0 > 0 }) == true:
                lifetime = Int(s.trimmingCharacters(in: .whitespaces)) ?? 7200
            case nil, .some(.null): lifetime = 7200
            default:
                throw ChannelError(.malformedInput, "token reply for AppID \(appId) has an unreadable expires_in",
                                   account: account, location: "$.expires_in")
            }
            return IssuedToken(value: Secret(token), lifetime: .seconds(lifetime))
        }
        let code = parsed?["code"]?.intValue
        let message = parsed?["message"]?.stringValue.map(Redactor.redact)
        let kind: ChannelError.Code
        if response.status == 429 || code == QQBotErrorCode.tokenRateLimited {
            kind = .rateLimited
        } else if let code, QQBotErrorCode.isPermanentCredentialFailure(code) {
            kind = .unauthorized
        } else if parsed == nil && response.isSuccess {
            kind = .malformedInput
        } else {
            kind = .tokenFetchFailed
        }
        var error = ChannelError(kind, "token fetch for AppID \(appId) failed with HTTP \(response.status)",
                                 account: account, platformCode: code, platformMessage: message, response: response)
        if let wait = response.retryAfter(now: time.now()) { error.retryAfter = wait }
        throw error
    }
}
