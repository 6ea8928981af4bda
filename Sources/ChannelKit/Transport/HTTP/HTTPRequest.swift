import Foundation

/// An HTTP request: method, URL, headers, optional body and an optional per-request
/// timeout.
///
/// ``description`` is safe to log: query values whose names look secret (`token`,
/// `ticket`, `secret`, …), URL passwords and credential headers are redacted, and the
/// body is summarised by its size only.
public struct HTTPRequest: Sendable, Hashable, CustomStringConvertible, CustomReflectable {
    /// The method, e.g. ``HTTPMethod/post``.
    public var method: HTTPMethod
    /// The absolute `http`/`https` URL.
    public var url: URL
    /// The request headers in order. The transport adds `User-Agent` when absent.
    public var headers: HTTPHeaders
    /// The body bytes, or `nil` for none.
    public var body: Data?
    /// The whole-request deadline (connect, send, wait, receive), or `nil` for the
    /// transport's default (``URLSessionHTTPTransport/Configuration/timeout``, 30 s).
    public var timeout: Duration?

    /// Creates a request.
    /// - Parameters:
    ///   - method: The method. Defaults to `GET`.
    ///   - url: The absolute URL.
    ///   - headers: Headers in order. Defaults to none.
    ///   - body: Body bytes. Defaults to none.
    ///   - timeout: Per-request deadline. Defaults to `nil` (the transport's default).
    public init(method: HTTPMethod = .get, url: URL, headers: HTTPHeaders = [:], body: Data? = nil, timeout: Duration? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }

    /// The URL as text with secret-looking query values, the URL password and
    /// `/bot<token>/` path parts replaced by ``Redactor/marker``.
    public var redactedURL: String { Self.redact(url: url) }

    /// `METHOD url headers body-size`, secrets redacted.
    public var description: String {
        var text = "\(method) \(redactedURL) headers: \(headers)"
        if let body { text += " body: \(body.count) bytes" }
        if let timeout { text += " timeout: \(timeout)" }
        return text
    }

    /// `dump` and debuggers see the redacted URL and headers, not the raw values.
    public var customMirror: Mirror {
        Mirror(self, children: ["method": method.rawValue, "url": redactedURL, "headers": headers.description,
                                "body": body.map { "\($0.count) bytes" } as Any, "timeout": timeout as Any])
    }

    /// `METHOD redacted-url`, the short label used in error messages.
    var label: String { "\(method) \(redactedURL)" }

    /// Redacts a URL for printing: the password, query values whose names look secret,
    /// then everything ``Redactor`` recognises.
    static func redact(url: URL) -> String {
        var text = url.absoluteString
        if let password = url.password(percentEncoded: true), !password.isEmpty,
           let range = text.range(of: ":" + password + "@") {
            text.replaceSubrange(range, with: ":" + Redactor.marker + "@")
        }
        if let queryStart = text.firstIndex(of: "?") {
            let afterMark = text.index(after: queryStart)
            let queryEnd = text[afterMark...].firstIndex(of: "#") ?? text.endIndex
            let query = text[afterMark..<queryEnd]
            let items = query.split(separator: "&", omittingEmptySubsequences: false).map { item -> String in
                guard let eq = item.firstIndex(of: "=") else { return String(item) }
                let rawName = item[..<eq]
                let name = (String(rawName).removingPercentEncoding ?? String(rawName)).lowercased()
                let value = item[item.index(after: eq)...]
                guard !value.isEmpty, Redactor.isSensitiveName(name) else { return String(item) }
                return String(rawName) + "=" + Redactor.marker
            }
            text.replaceSubrange(afterMark..<queryEnd, with: items.joined(separator: "&"))
        }
        return Redactor.redact(text)
    }
}
