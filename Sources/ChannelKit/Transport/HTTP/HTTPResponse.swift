import Foundation

/// An HTTP response: status, headers and the whole body.
public struct HTTPResponse: Sendable, Hashable, CustomStringConvertible {
    /// The status code, e.g. `200`.
    public var status: Int
    /// The response headers in order.
    public var headers: HTTPHeaders
    /// The body bytes (empty when there is none).
    public var body: Data

    public init(status: Int, headers: HTTPHeaders = [:], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// `true` for 2xx.
    public var isSuccess: Bool { (200..<300).contains(status) }

    /// Up to `limit` bytes of the body as text (lossy UTF-8), secrets redacted — for
    /// errors and logs.
    public func bodyExcerpt(limit: Int = 512) -> String {
        let slice = body.prefix(limit)
        var text = String(decoding: slice, as: UTF8.self)
        if body.count > limit { text += "…(\(body.count) bytes)" }
        return Redactor.redact(text)
    }

    public var description: String { "HTTPResponse(\(status), headers: \(headers), body: \(bodyExcerpt(limit: 200)))" }
}
