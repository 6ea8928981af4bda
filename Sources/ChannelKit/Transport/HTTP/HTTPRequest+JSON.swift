import Foundation

extension HTTPRequest {
    /// The `Content-Type` that ``json(_:url:body:headers:encoder:timeout:)`` sets.
    public static let jsonContentType = "application/json; charset=utf-8"

    /// Builds a request whose body is `body` encoded as JSON.
    ///
    /// Sets `Content-Type: application/json; charset=utf-8` and, when absent,
    /// `Accept: application/json`; headers given in `headers` win.
    ///
    /// - Parameters:
    ///   - method: The method, e.g. `.post`.
    ///   - url: The absolute URL.
    ///   - body: The value to encode.
    ///   - headers: Extra headers in order. Defaults to none.
    ///   - encoder: The encoder. Defaults to a plain `JSONEncoder()`.
    ///   - timeout: Per-request deadline. Defaults to `nil` (the transport's default).
    /// - Throws: ``ChannelError`` `.malformedInput` when `body` cannot be encoded (e.g. a
    ///   non-finite `Double`), with ``ChannelError/location`` naming the field.
    public static func json(
        _ method: HTTPMethod,
        url: URL,
        body: some Encodable,
        headers: HTTPHeaders = [:],
        encoder: JSONEncoder = JSONEncoder(),
        timeout: Duration? = nil
    ) throws -> HTTPRequest {
        let data: Data
        do {
            data = try encoder.encode(body)
        } catch let error as EncodingError {
            let (path, detail): (String, String)
            switch error {
            case .invalidValue(_, let context):
                (path, detail) = (JSONPath.render(context.codingPath), context.debugDescription)
            @unknown default:
                (path, detail) = ("$", String(describing: error))
            }
            throw ChannelError(.malformedInput, "request body for \(method) \(redact(url: url)) could not be encoded as JSON: \(detail)",
                               location: path)
        } catch {
            throw ChannelError(.malformedInput, "request body for \(method) \(redact(url: url)) could not be encoded as JSON",
                               underlying: SendableErrorBox(error))
        }
        var all = headers
        if !all.contains("Content-Type") { all["Content-Type"] = jsonContentType }
        if !all.contains("Accept") { all["Accept"] = "application/json" }
        return HTTPRequest(method: method, url: url, headers: all, body: data, timeout: timeout)
    }
}
