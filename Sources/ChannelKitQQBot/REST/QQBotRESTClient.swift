import Foundation
import ChannelKit

/// The QQ Bot REST calls of one account: every request carries
/// `Authorization: QQBot <token>` with the token of this account's own AppID.
///
/// On HTTP 401 or code 11244 the token is dropped from the shared cache (only if it is
/// still the one that was rejected) and the request is retried once with a fresh one.
struct QQBotRESTClient: Sendable {
    let baseURL: URL
    let http: any HTTPTransport
    let tokens: TokenSource
    let appId: String
    let account: AccountKey
    let time: TimeSource
    let timeout: Duration

    /// `baseURL` + `path` (`path` starts with `/`; its dynamic segments already escaped).
    func url(_ path: String) throws -> URL {
        var base = baseURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        guard let url = URL(string: base + path) else {
            throw ChannelError(.invalidState, "cannot form a URL from \(Redactor.redact(base)) and \(path)", account: account)
        }
        return url
    }

    /// Escapes one dynamic path segment (an openid, a channel id) so it cannot add segments.
    static func segment(_ raw: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return raw.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// The current token, checked to belong to this AppID.
    private func token() async throws -> AccessToken {
        let token = try await tokens.token()
        guard token.key == CredentialKey(.qqbot, appId) else {
            throw ChannelError(.invalidState, "token of \(token.key) offered to AppID \(appId)", account: account)
        }
        return token
    }

    /// Sends an authenticated request and returns a 2xx response.
    /// - Throws: ``ChannelError`` mapped by ``QQBotErrorCode`` (rate limits as
    ///   `.rateLimited`), transport errors, token errors.
    func send(_ method: HTTPMethod, _ path: String, json body: Data? = nil, label: String) async throws -> HTTPResponse {
        let url = try url(path)
        var attempt = 0
        while true {
            attempt += 1
            let token = try await token()
            var headers: HTTPHeaders = ["Authorization": "QQBot " + token.value.reveal(), "X-Union-Appid": appId,
                                        "Accept": "application/json"]
            if body != nil { headers["Content-Type"] = HTTPRequest.jsonContentType }
            let request = HTTPRequest(method: method, url: url, headers: headers, body: body, timeout: timeout)
            let response: HTTPResponse
            do {
                response = try await http.send(request)
            } catch let error as ChannelError {
                throw error.scoped(to: account)
            }
            let (code, _) = response.isSuccess && response.status == 200 ? (nil, nil) : QQBotErrorCode.parseBody(response.body)
            let expired = response.status == 401 || code.map(QQBotErrorCode.isExpiredToken) == true
            if expired && attempt == 1 {
                tokens.invalidate(ifValue: token.value)
                continue
            }
            if response.isSuccess && (code == nil || code == 0 || response.status != 200) { return response }
            throw QQBotErrorCode.error(for: response, request: label, account: account, time: time)
        }
    }

    /// Decodes a 2xx reply as `T`.
    func decode<T: Decodable>(_ type: T.Type, from response: HTTPResponse) throws -> T {
        do {
            return try response.decodeJSON(T.self)
        } catch let error as ChannelError {
            throw error.scoped(to: account)
        }
    }

    private struct GatewayReply: Decodable { let url: String }
    private struct MeReply: Decodable { let id: String; let username: String? }

    /// `GET /gateway`: the WebSocket URL.
    func gatewayURL() async throws -> URL {
        let reply = try decode(GatewayReply.self, from: try await send(.get, "/gateway", label: "GET /gateway"))
        guard let url = URL(string: reply.url), let scheme = url.scheme?.lowercased(), ["ws", "wss"].contains(scheme) else {
            throw ChannelError(.malformedInput, "GET /gateway returned an unusable URL", account: account, location: "$.url")
        }
        return url
    }

    /// `GET /users/@me`: the bot's own user id and name.
    func me() async throws -> AccountIdentity {
        let reply = try decode(MeReply.self, from: try await send(.get, "/users/@me", label: "GET /users/@me"))
        return AccountIdentity(id: reply.id, name: reply.username)
    }
}
