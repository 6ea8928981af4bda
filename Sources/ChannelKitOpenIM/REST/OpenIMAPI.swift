import Foundation
import ChannelKit

/// The account's client of the OpenIM REST API (`apiAddr`): POST JSON with the
/// `operationID` and `token` headers, replies `{"errCode":0,"errMsg":"","data":{…}}`.
struct OpenIMAPI: Sendable {
    let settings: OpenIMAccountSettings
    let account: AccountKey
    let http: any HTTPTransport
    let time: TimeSource
    let timeout: Duration
    /// The token to send (the current one after a recovery).
    let token: @Sendable () async -> Secret?

    /// POSTs `body` to `path` and returns the reply's `data`.
    /// - Parameter authenticated: Whether to send the `token` header (not for
    ///   `/auth/parse_token`).
    /// - Throws: ``ChannelError``: `.unauthorized` for 1501–1507, `.platform` for other
    ///   codes (raw code and message kept), `.malformedInput` for a reply that is not the
    ///   envelope, transport errors.
    func post(_ path: String, _ body: JSONValue, authenticated: Bool = true) async throws -> JSONValue {
        var headers: HTTPHeaders = ["operationID": Self.operationID(), "Content-Type": "application/json", "Accept": "application/json"]
        if authenticated {
            guard let token = await token() else {
                throw ChannelError(.unauthorized, "no usable OpenIM token (manual login required)", account: account)
            }
            headers["token"] = token.reveal()
        }
        let request = HTTPRequest(method: .post, url: settings.api(path), headers: headers, body: Data(body.jsonText.utf8), timeout: timeout)
        let response = try await http.send(request)
        guard response.isSuccess else {
            throw ChannelError(.platform, "OpenIM \(path) answered HTTP \(response.status)", account: account, response: response)
        }
        guard let reply = try? JSONDecoder().decode(JSONValue.self, from: response.body), let object = reply.objectValue else {
            throw ChannelError(.malformedInput, "OpenIM \(path) reply is not a JSON object", account: account, location: "$", response: response)
        }
        let code = object["errCode"]?.intValue ?? 0
        if code != 0 {
            let message = Redactor.redact(object["errMsg"]?.stringValue ?? "")
            let kind: ChannelError.Code = (1501...1507).contains(code) ? .unauthorized : .platform
            throw ChannelError(kind, "OpenIM \(path) failed with errCode \(code)", account: account, platformCode: code, platformMessage: message)
        }
        return object["data"] ?? .null
    }

    /// A PUT of raw bytes to a signed upload URL.
    func put(_ url: URL, headers: HTTPHeaders, body: Data) async throws {
        let response = try await http.send(HTTPRequest(method: .put, url: url, headers: headers, body: body, timeout: timeout))
        guard response.isSuccess else {
            throw ChannelError(.platform, "upload part PUT answered HTTP \(response.status)", account: account, response: response)
        }
    }

    static func operationID() -> String {
        "ck-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
    }
}
