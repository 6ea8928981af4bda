import Foundation
import ChannelKit

/// Fetches tenant access tokens from
/// `POST {base}/open-apis/auth/v3/tenant_access_token/internal` for one App ID.
///
/// The fetcher is bound to its own App ID and secret: asked for any other credential key
/// it refuses, so a token of one app can never be minted for (or cached under) another.
/// The lifetime handed to the cache is `expire − 3 min` (the SDKs' expiry delta), so the
/// cache's own refresh margin comes on top and a token is never used in its last three
/// minutes.
struct FeishuTokenFetcher: Sendable {
    let appId: String
    let appSecret: Secret
    let url: URL
    let http: any HTTPTransport
    let account: AccountKey
    let timeout: Duration
    let time: TimeSource

    /// How long before the platform's expiry a token stops being used: 3 min.
    static let expiryDelta = 180

    /// The cache key of this App ID's token.
    var key: CredentialKey { CredentialKey(.feishu, appId) }

    private struct RequestBody: Encodable {
        let app_id: String
        let app_secret: String
    }

    /// Fetches a token for `key`.
    /// - Throws: ``ChannelError`` `.invalidState` for a key of another App ID;
    ///   `.unauthorized` (with the platform code) when the platform answers a non-zero
    ///   code; `.rateLimited` for 429/99991400; `.tokenFetchFailed` or `.malformedInput`
    ///   otherwise.
    func fetch(_ requested: CredentialKey) async throws -> IssuedToken {
        guard requested == key else {
            throw ChannelError(.invalidState, "token fetcher of \(key) asked for \(requested)", account: account)
        }
        let request = try HTTPRequest.json(.post, url: url, body: RequestBody(app_id: appId, app_secret: appSecret.reveal()),
                                           timeout: timeout)
        let response: HTTPResponse
        do {
            response = try await http.send(request)
        } catch let error as ChannelError {
            throw error.scoped(to: account)
        }
        let parsed = try? JSONDecoder().decode(JSONValue.self, from: response.body)
        let code = parsed?["code"]?.intValue
        if response.status == 200, code == 0, let token = parsed?["tenant_access_token"]?.stringValue, !token.isEmpty {
            guard let expire = parsed?["expire"]?.intValue, expire > 0, expire < 1_000_000_000 else {
                throw ChannelError(.malformedInput, "token reply for App ID \(appId) has an unreadable expire", account: account, location: "$.expire")
            }
            let usable = expire > 2 * Self.expiryDelta ? expire - Self.expiryDelta : max(1, expire / 2)
            return IssuedToken(value: Secret(token), lifetime: .seconds(usable))
        }
        let message = parsed?["msg"]?.stringValue.map(Redactor.redact)
        let kind: ChannelError.Code
        if response.status == 429 || code == FeishuErrorCode.rateLimited {
            kind = .rateLimited
        } else if parsed == nil && response.status == 200 {
            kind = .malformedInput
        } else if response.status == 200, let code, code != 0 {
            kind = .unauthorized
        } else {
            kind = .tokenFetchFailed
        }
        var error = ChannelError(kind, "tenant token fetch for App ID \(appId) failed with HTTP \(response.status)",
                                 account: account, platformCode: code, platformMessage: message, response: response)
        if let wait = FeishuErrorCode.retryAfter(response, time: time) { error.retryAfter = wait }
        throw error
    }
}
