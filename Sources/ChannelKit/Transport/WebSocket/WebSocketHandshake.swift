import Foundation

/// The pieces of the RFC 6455 opening handshake (§4) that both roles share: keys, the
/// accept value, and the HTTP/1.1 messages' bytes.
///
/// The stateful sides are ``WebSocketClientHandshake`` (send the request, read the
/// response) and ``WebSocketServerHandshake`` (read the request, answer it).
public enum WebSocketHandshake {
    /// The GUID appended to the key before hashing (RFC 6455 §1.3).
    public static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// The only protocol version RFC 6455 defines: `13`.
    public static let version = "13"

    /// Header names the handshake sets itself; a caller may not pass them as extra headers.
    static let reservedRequestHeaders: Set<String> = [
        "host", "upgrade", "connection", "sec-websocket-key", "sec-websocket-version",
        "sec-websocket-protocol", "sec-websocket-extensions", "content-length", "transfer-encoding",
    ]

    /// A fresh `Sec-WebSocket-Key`: 16 random bytes from `rng`, base64 (24 characters).
    /// Use a secure generator outside tests (the default overload does).
    public static func makeKey(using rng: inout some RandomNumberGenerator) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        for _ in 0..<2 {
            let word = rng.next()
            for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        return Data(bytes).base64EncodedString()
    }

    /// A fresh `Sec-WebSocket-Key` from `SystemRandomNumberGenerator`.
    public static func makeKey() -> String {
        var rng = SystemRandomNumberGenerator()
        return makeKey(using: &rng)
    }

    /// The `Sec-WebSocket-Accept` value for `key`: base64(SHA-1(key + ``guid``)).
    /// `dGhlIHNhbXBsZSBub25jZQ==` gives `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`.
    public static func acceptValue(forKey key: String) -> String {
        Data(SHA1.hash((key + guid).utf8)).base64EncodedString()
    }

    /// The bytes of a client's upgrade request (RFC 6455 §4.1).
    ///
    /// - Parameters:
    ///   - url: `ws://` or `wss://` (`http://` and `https://` are taken as the same). The
    ///     request target is the path (`/` when empty) plus `?query`; the fragment is
    ///     dropped. `Host` gets the port only when it is not the scheme's default (80, 443).
    ///   - key: The `Sec-WebSocket-Key` (see ``makeKey(using:)``).
    ///   - headers: Extra fields, sent after the handshake's own (e.g. `Authorization`,
    ///     `Origin`, `User-Agent`). Defaults to none.
    ///   - subprotocols: Values for `Sec-WebSocket-Protocol`, in order of preference;
    ///     none sends no such field. Defaults to none.
    /// - Throws: ``ChannelError`` with code ``ChannelError/Code/invalidConfiguration``
    ///   for a URL that is not ws/wss or has no host, an extra header the handshake sets
    ///   itself (`Host`, `Upgrade`, `Connection`, `Sec-WebSocket-*`, `Content-Length`,
    ///   `Transfer-Encoding`), a header name that is not an HTTP token, a value with CR,
    ///   LF or NUL, or an invalid subprotocol.
    public static func requestBytes(url: URL, key: String, headers: HTTPHeaders = [:], subprotocols: [String] = []) throws(ChannelError) -> [UInt8] {
        let scheme = url.scheme?.lowercased() ?? ""
        let defaultPort: Int
        switch scheme {
        case "ws", "http": defaultPort = 80
        case "wss", "https": defaultPort = 443
        default: throw ChannelError(.invalidConfiguration, "WebSocket URL scheme must be ws or wss, not '\(scheme)'", location: "url")
        }
        guard var host = url.host(percentEncoded: true), !host.isEmpty else {
            throw ChannelError(.invalidConfiguration, "WebSocket URL has no host", location: "url")
        }
        if host.contains(":") && !host.hasPrefix("[") { host = "[\(host)]" }
        if let port = url.port, port != defaultPort { host += ":\(port)" }
        var target = url.path(percentEncoded: true)
        if target.isEmpty { target = "/" }
        if let query = url.query(percentEncoded: true) { target += "?" + query }

        var fields: [(name: String, value: String)] = [
            ("Host", host), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", version),
        ]
        if !subprotocols.isEmpty {
            for proto in subprotocols where proto.isEmpty || !proto.utf8.allSatisfy(HTTPHeadParser.isTokenByte) {
                throw ChannelError(.invalidConfiguration, "invalid WebSocket subprotocol '\(proto)'", location: "subprotocols")
            }
            fields.append(("Sec-WebSocket-Protocol", subprotocols.joined(separator: ", ")))
        }
        for field in headers {
            if reservedRequestHeaders.contains(field.name.lowercased()) {
                throw ChannelError(.invalidConfiguration, "header '\(field.name)' is set by the WebSocket handshake", location: "headers.\(field.name)")
            }
            try checkField(field.name, field.value, location: "headers")
            fields.append(field)
        }
        return head(startLine: "GET \(target) HTTP/1.1", fields: fields, body: [])
    }

    /// The bytes of a server's `101 Switching Protocols` answer to `request`.
    /// - Parameters:
    ///   - request: The client's validated request.
    ///   - subprotocol: The chosen subprotocol; must be one the client offered. Defaults to none.
    ///   - headers: Extra fields. Defaults to none.
    public static func switchingProtocolsBytes(for request: WebSocketUpgradeRequest, subprotocol: String? = nil, headers: HTTPHeaders = [:]) -> [UInt8] {
        var fields: [(name: String, value: String)] = [
            ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Accept", acceptValue(forKey: request.key)),
        ]
        if let subprotocol { fields.append(("Sec-WebSocket-Protocol", subprotocol)) }
        fields.append(contentsOf: headers.fields)
        return head(startLine: "HTTP/1.1 101 Switching Protocols", fields: fields, body: [])
    }

    /// The bytes of a complete HTTP/1.1 response that refuses an upgrade (test servers
    /// use it to play a 401, 403, 429…). Adds `Content-Length` and
    /// `Connection: close` unless `headers` sets them.
    /// - Parameters:
    ///   - status: The status code, e.g. `401`.
    ///   - reason: The reason phrase. Defaults to the standard one for common codes.
    ///   - headers: Extra fields. Defaults to none.
    ///   - body: The body. Defaults to empty.
    public static func responseBytes(status: Int, reason: String? = nil, headers: HTTPHeaders = [:], body: [UInt8] = []) -> [UInt8] {
        var fields = headers.fields
        if !headers.contains("Content-Length") && !headers.contains("Transfer-Encoding") {
            fields.append(("Content-Length", String(body.count)))
        }
        if !headers.contains("Connection") { fields.append(("Connection", "close")) }
        return head(startLine: "HTTP/1.1 \(status) \(reason ?? reasonPhrase(for: status))", fields: fields, body: body)
    }

    /// The standard reason phrase of common status codes, empty for others.
    static func reasonPhrase(for status: Int) -> String {
        switch status {
        case 101: "Switching Protocols"
        case 200: "OK"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 426: "Upgrade Required"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        default: ""
        }
    }

    /// Every comma-separated element of every `name` field, trimmed, empty ones dropped.
    static func tokens(_ headers: HTTPHeaders, _ name: String) -> [String] {
        headers.values(for: name).flatMap { value in
            value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
    }

    /// `true` if a `name` field lists `token` (ASCII case-insensitive).
    static func hasToken(_ headers: HTTPHeaders, _ name: String, _ token: String) -> Bool {
        tokens(headers, name).contains { $0.caseInsensitiveEquals(token) }
    }

    private static func checkField(_ name: String, _ value: String, location: String) throws(ChannelError) {
        guard !name.isEmpty, name.utf8.allSatisfy(HTTPHeadParser.isTokenByte) else {
            throw ChannelError(.invalidConfiguration, "header name '\(name)' is not an HTTP token", location: location)
        }
        guard !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }) else {
            throw ChannelError(.invalidConfiguration, "header '\(name)' has a line break in its value", location: "\(location).\(name)")
        }
    }

    private static func head(startLine: String, fields: [(name: String, value: String)], body: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256 + body.count)
        bytes.append(contentsOf: startLine.utf8)
        bytes.append(contentsOf: [0x0D, 0x0A])
        for field in fields {
            bytes.append(contentsOf: field.name.utf8)
            bytes.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
            bytes.append(contentsOf: field.value.utf8)
            bytes.append(contentsOf: [0x0D, 0x0A])
        }
        bytes.append(contentsOf: [0x0D, 0x0A])
        bytes.append(contentsOf: body)
        return bytes
    }
}
