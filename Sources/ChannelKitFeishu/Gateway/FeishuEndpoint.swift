import Foundation
import ChannelKit

/// Endpoint discovery: `POST {base}/callback/ws/endpoint` with the app's credentials
/// (PascalCase body, no Authorization) → a single-use ticketed WebSocket URL and the
/// server's ``FeishuClientConfig``.
///
/// Outcomes: code 0 with a URL → ``Reply``; HTTP ≠ 200, an empty `data.URL`, code 1 or
/// 1000040343 → ``Failure/retryable(_:)``; any other code (bad credentials, app not
/// self-built) → ``Failure/fatal(_:)``.
struct FeishuEndpoint: Sendable {
    /// A discovered endpoint. The URL carries a ticket and keys: it is a ``Secret``.
    struct Reply: Sendable {
        var url: Secret
        var serviceID: Int32
        var deviceID: String
        var config: JSONValue?
    }

    /// Why discovery failed.
    enum Failure: Error, Sendable {
        case retryable(ChannelError)
        case fatal(ChannelError)
    }

    let settings: FeishuAccountSettings
    let http: any HTTPTransport
    let account: AccountKey
    let timeout: Duration

    private struct Body: Encodable {
        let AppID: String
        let AppSecret: String
    }

    func discover() async throws(Failure) -> Reply {
        let url = settings.url("/callback/ws/endpoint")
        let request: HTTPRequest
        let response: HTTPResponse
        do {
            request = try HTTPRequest.json(.post, url: url, body: Body(AppID: settings.appId, AppSecret: settings.appSecret.reveal()),
                                           headers: ["locale": "zh"], timeout: timeout)
            response = try await http.send(request)
        } catch let error as ChannelError {
            throw .retryable(error.scoped(to: account))
        } catch {
            throw .retryable(ChannelError(.transport, "endpoint discovery failed", account: account, underlying: SendableErrorBox(error)))
        }
        guard response.status == 200 else {
            throw .retryable(ChannelError(.platform, "endpoint discovery answered HTTP \(response.status)", account: account,
                                          platformCode: response.status, response: response))
        }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: response.body), let code = value["code"]?.intValue else {
            throw .retryable(ChannelError(.malformedInput, "endpoint discovery reply is not {code, msg, data}", account: account,
                                          location: "$.code", response: response))
        }
        let message = value["msg"]?.stringValue.map(Redactor.redact)
        guard code == 0 else {
            let error = ChannelError(.platform, "endpoint discovery rejected with code \(code)", account: account, platformCode: code,
                                     platformMessage: message)
            if FeishuErrorCode.isRetryableEndpointCode(code) { throw .retryable(error) }
            throw .fatal(ChannelError(.unauthorized, "endpoint discovery rejected the app's credentials or mode (code \(code))",
                                      account: account, platformCode: code, platformMessage: message))
        }
        guard let raw = value["data"]?["URL"]?.stringValue, !raw.isEmpty else {
            throw .retryable(ChannelError(.malformedInput, "endpoint discovery reply without data.URL", account: account, location: "$.data.URL"))
        }
        guard let components = URLComponents(string: raw), let scheme = components.scheme?.lowercased(), ["ws", "wss"].contains(scheme),
              components.host?.isEmpty == false else {
            throw .retryable(ChannelError(.malformedInput, "endpoint discovery returned an unusable URL", account: account, location: "$.data.URL"))
        }
        let items = components.queryItems ?? []
        let serviceID = items.first { $0.name == "service_id" }?.value.flatMap { Int32($0) } ?? 0
        let deviceID = items.first { $0.name == "device_id" }?.value ?? ""
        return Reply(url: Secret(raw), serviceID: serviceID, deviceID: deviceID, config: value["data"]?["ClientConfig"])
    }
}
