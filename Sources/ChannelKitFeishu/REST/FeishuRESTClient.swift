import Foundation
import ChannelKit

/// The Feishu REST calls of one account: every request carries
/// `Authorization: Bearer <tenant token>` with the token of this account's own App ID.
///
/// On 99991663 / 99991664 / 99991671 the token is dropped from the shared cache (only
/// if it is still the one that was rejected), a new one fetched, and the request
/// retried once.
struct FeishuRESTClient: Sendable {
    let settings: FeishuAccountSettings
    let http: any HTTPTransport
    let tokens: TokenSource
    let account: AccountKey
    let time: TimeSource
    let timeout: Duration

    /// The current token, checked to belong to this App ID.
    func token() async throws -> AccessToken {
        let token = try await tokens.token()
        guard token.key == CredentialKey(.feishu, settings.appId) else {
            throw ChannelError(.invalidState, "token of \(token.key) offered to App ID \(settings.appId)", account: account)
        }
        return token
    }

    /// Sends an authenticated request and returns the decoded body of a `code: 0` reply.
    /// - Parameters:
    ///   - pathAndQuery: Starts with `/open-apis/`; dynamic segments already escaped.
    ///   - body: The body and its content type, or `nil`.
    ///   - label: A short name for errors (`POST /im/v1/messages`).
    /// - Throws: ``ChannelError`` mapped by ``FeishuErrorCode`` (rate limits as
    ///   `.rateLimited` with the platform's wait), transport errors, token errors.
    func call(_ method: HTTPMethod, _ pathAndQuery: String, body: (data: Data, contentType: String)? = nil, label: String) async throws -> JSONValue {
        let url = settings.url(pathAndQuery)
        var attempt = 0
        while true {
            attempt += 1
            let token = try await token()
            var headers: HTTPHeaders = ["Authorization": "Bearer " + token.value.reveal(), "Accept": "application/json"]
            if let body { headers["Content-Type"] = body.contentType }
            let request = HTTPRequest(method: method, url: url, headers: headers, body: body?.data, timeout: timeout)
            let response: HTTPResponse
            do {
                response = try await http.send(request)
            } catch let error as ChannelError {
                throw error.scoped(to: account)
            }
            let parsed = try? JSONDecoder().decode(JSONValue.self, from: response.body)
            let code = parsed?["code"]?.intValue
            if let code, FeishuErrorCode.isInvalidToken(code), attempt == 1 {
                tokens.invalidate(ifValue: token.value)
                continue
            }
            if response.status == 200, code == 0, let parsed { return parsed }
            throw FeishuErrorCode.error(for: response, request: label, account: account, time: time)
        }
    }

    /// `GET /open-apis/bot/v3/info`: the bot's open_id and name (top-level `bot`, not
    /// under `data`).
    func botInfo() async throws -> AccountIdentity {
        let reply = try await call(.get, "/open-apis/bot/v3/info", label: "GET /bot/v3/info")
        let bot = reply["bot"] ?? reply["data"]?["bot"]
        guard let openID = bot?["open_id"]?.stringValue, !openID.isEmpty else {
            throw ChannelError(.malformedInput, "bot info without open_id", account: account, location: "$.bot.open_id")
        }
        let name = bot?["app_name"]?.stringValue ?? bot?["bot_name"]?.stringValue
        return AccountIdentity(id: openID, name: name?.isEmpty == true ? nil : name)
    }
}
