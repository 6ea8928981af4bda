import Foundation

/// The server side of the opening handshake: reads a client's upgrade request
/// incrementally and checks it (RFC 6455 §4.2.1). Answer a valid request with
/// ``WebSocketHandshake/switchingProtocolsBytes(for:subprotocol:headers:)`` (or refuse it
/// with ``WebSocketHandshake/responseBytes(status:reason:headers:body:)``).
///
/// ```swift
/// var handshake = WebSocketServerHandshake()
/// while true {
///     if let request = try handshake.receive(try read()) {
///         try write(WebSocketHandshake.switchingProtocolsBytes(for: request))
///         inbound.feed(request.leftover)
///         break
///     }
/// }
/// ```
public struct WebSocketServerHandshake: Sendable {
    private var headParser: HTTPHeadParser

    /// Creates a handshake reader.
    /// - Parameter maxHeadSize: The largest request head accepted, in bytes. Defaults to 64 KiB.
    public init(maxHeadSize: Int = 64 << 10) {
        headParser = HTTPHeadParser(maxHeadSize: maxHeadSize)
    }

    /// Feeds request bytes; returns the request once its head is complete and valid.
    /// - Throws: ``ChannelError`` with code ``ChannelError/Code/malformedInput`` for a
    ///   head that is too large or not HTTP, or a request that is not a valid upgrade:
    ///   not `GET`, not HTTP/1.1 or later, no `Host`, no `Upgrade: websocket`,
    ///   `Connection` without `upgrade`, a `Sec-WebSocket-Key` that is not 16 bytes in
    ///   base64, or a `Sec-WebSocket-Version` other than 13. ``ChannelError/location``
    ///   names the offending part; answer 400, or 426 with `Sec-WebSocket-Version: 13`
    ///   when the location is `Sec-WebSocket-Version`.
    public mutating func receive(_ bytes: some Collection<UInt8>) throws(ChannelError) -> WebSocketUpgradeRequest? {
        guard let head = try headParser.feed(bytes) else { return nil }
        return try Self.validate(head)
    }

    private static func validate(_ head: HTTPHead) throws(ChannelError) -> WebSocketUpgradeRequest {
        func invalid(_ message: String, _ location: String) -> ChannelError {
            ChannelError(.malformedInput, "invalid WebSocket upgrade request: \(message)", location: location)
        }
        guard let (method, target, version) = HTTPHead.parseRequestLine(head.startLine) else {
            throw invalid("no valid request line", "request-line")
        }
        guard method == "GET" else { throw invalid("method \(method) is not GET", "method") }
        guard version == "HTTP/1.1" || (version.hasPrefix("HTTP/") && version > "HTTP/1.1") else {
            throw invalid("\(version) is older than HTTP/1.1", "version")
        }
        let headers = head.headers
        guard headers.contains("Host") else { throw invalid("no Host field", "Host") }
        guard WebSocketHandshake.hasToken(headers, "Upgrade", "websocket") else { throw invalid("no 'Upgrade: websocket'", "Upgrade") }
        guard WebSocketHandshake.hasToken(headers, "Connection", "upgrade") else { throw invalid("'Connection' does not list upgrade", "Connection") }
        guard let key = headers["Sec-WebSocket-Key"]?.trimmingCharacters(in: .whitespaces),
              let decoded = Data(base64Encoded: key), decoded.count == 16 else {
            throw invalid("Sec-WebSocket-Key is not 16 bytes in base64", "Sec-WebSocket-Key")
        }
        guard headers["Sec-WebSocket-Version"]?.trimmingCharacters(in: .whitespaces) == WebSocketHandshake.version else {
            throw invalid("Sec-WebSocket-Version is not 13", "Sec-WebSocket-Version")
        }
        return WebSocketUpgradeRequest(
            target: target, headers: headers, key: key,
            subprotocols: WebSocketHandshake.tokens(headers, "Sec-WebSocket-Protocol"),
            leftover: head.leftover
        )
    }
}
