import ChannelKit
import Foundation

/// One `http`-mode refresh attempt: fill in the templates, send the request, read the
/// token (and the write-back fields) from the reply, write the fields back.
///
/// Classification: network errors, timeouts, HTTP 408/429/5xx and a busy state-file
/// lock are transient; any other non-2xx status, a reply that is not JSON, a reply
/// without a token at `responseTokenPath`, and a broken template or state file are
/// terminal. Reasons name the endpoint (redacted) and the status, never the token or
/// the body.
struct OpenIMHTTPTokenRefresher: Sendable {
    let settings: OpenIMTokenRefresh.HTTP
    let accountID: String
    let http: any HTTPTransport
    let logger: ChannelLogger

    struct Success: Sendable {
        let token: Secret
    }

    func attempt() async throws(OpenIMTokenRefreshFailure) -> Success {
        let stateFile = settings.stateFile.map { OpenIMRefreshStateFile(path: $0) }
        let state = try stateFile?.entry(for: accountID) ?? [:]
        let endpoint = try OpenIMTokenTemplate.fill(settings.endpoint, accountID: accountID, state: state)
        guard let url = URL(string: endpoint), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host != nil else {
            throw .terminal("the refresh endpoint is not an http(s) URL once filled in: \(Redactor.redact(endpoint))")
        }
        var headers = HTTPHeaders()
        for (name, template) in settings.headers.sorted(by: { $0.key < $1.key }) {
            headers[name] = try OpenIMTokenTemplate.fill(template, accountID: accountID, state: state)
        }
        var body: Data?
        if let template = settings.body, settings.method != "GET" {
            let filled = try OpenIMTokenTemplate.fill(template, accountID: accountID, state: state)
            if case .string(let text) = filled {
                body = Data(text.utf8)
            } else {
                body = Data(filled.jsonText.utf8)
                if headers["Content-Type"] == nil { headers["Content-Type"] = "application/json" }
            }
        }
        let request = HTTPRequest(method: HTTPMethod(rawValue: settings.method), url: url, headers: headers, body: body, timeout: settings.timeout)
        let where_ = "\(settings.method) \(request.redactedURL)"

        let response: HTTPResponse
        do {
            response = try await http.send(request)
        } catch let error as ChannelError {
            if error.code == .cancelled { throw .transient("refresh cancelled") }
            throw .transient("refresh request \(where_) failed: \(error.code) \(Redactor.redact(error.message))")
        } catch {
            throw .transient("refresh request \(where_) failed: \(Redactor.redact(String(describing: error)))")
        }
        guard response.isSuccess else {
            let reason = "refresh endpoint \(where_) answered HTTP \(response.status)"
            if response.status == 408 || response.status == 429 || response.status >= 500 { throw .transient(reason) }
            throw .terminal(reason)
        }
        guard let reply = try? JSONDecoder().decode(JSONValue.self, from: response.body) else {
            throw .terminal("refresh endpoint \(where_) returned a body that is not JSON (\(response.body.count) bytes)")
        }
        // Write back first: a rotated refresh token must be kept even if no usable
        // access token came with it.
        var writeBack: [String: JSONValue] = [:]
        for (field, paths) in settings.stateWriteBack.sorted(by: { $0.key < $1.key }) {
            if let value = paths.lazy.compactMap({ reply.value(atDotPath: $0) }).first(where: { !$0.isNull }) {
                writeBack[field] = value
            } else {
                logger.warning("refresh reply has nothing at \(paths.joined(separator: " | ")) for state field \"\(field)\"; left unchanged", source: "OpenIMTokenRecovery")
            }
        }
        if let stateFile, !writeBack.isEmpty {
            try await stateFile.write(writeBack, for: accountID)
        }
        guard let token = settings.responseTokenPath.lazy.compactMap({ reply.value(atDotPath: $0)?.stringValue }).first(where: { !$0.isEmpty }) else {
            throw .terminal("refresh endpoint \(where_) returned no token at \(settings.responseTokenPath.joined(separator: " | "))")
        }
        return Success(token: Secret(token))
    }
}
