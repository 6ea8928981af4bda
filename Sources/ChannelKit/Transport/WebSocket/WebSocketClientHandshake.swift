import Foundation

/// The client side of the opening handshake: the request to send, then the server's
/// response read incrementally and checked (RFC 6455 §4.1).
///
/// ```swift
/// var handshake = try WebSocketClientHandshake(url: url, headers: ["Authorization": auth])
/// try send(handshake.requestBytes)
/// while true {
///     let bytes = try receive()                      // empty at end of stream
///     if bytes.isEmpty { throw handshake.failureAtEndOfStream() }
///     if case .upgraded(let upgrade) = try handshake.receive(bytes) {
///         inbound.feed(upgrade.leftover)
///         break
///     }
/// }
/// ```
///
/// A non-101 response is read to the end of its body (by `Content-Length`, chunked
/// encoding, or until the connection closes, capped at `maxErrorBodySize`) and then
/// thrown as a ``ChannelError`` whose underlying ``WebSocketHandshakeFailure`` holds the
/// status, headers and body. A 101 is accepted only with `Upgrade: websocket`,
/// `Connection` listing `upgrade`, the right `Sec-WebSocket-Accept`, no extension (we
/// offer none) and no subprotocol we did not offer.
public struct WebSocketClientHandshake: Sendable {
    /// The outcome of feeding response bytes.
    public enum Progress: Sendable, Hashable {
        /// The response (or the body of a refusal) is not complete: read more.
        case needMoreBytes
        /// The server accepted; switch to WebSocket framing.
        case upgraded(WebSocketUpgrade)
    }

    /// The `Sec-WebSocket-Key` sent.
    public let key: String
    /// The subprotocols offered, in order of preference.
    public let subprotocols: [String]
    /// The request to send, complete.
    public let requestBytes: [UInt8]
    /// The largest refusal body kept, in bytes.
    public let maxErrorBodySize: Int

    private var headParser: HTTPHeadParser
    /// Set while reading the body of a non-101 response.
    private var refusal: Refusal?
    private var finished = false

    /// A non-101 response whose body is being read.
    private struct Refusal: Sendable {
        var status: Int
        var reason: String
        var headers: HTTPHeaders
        var body: HTTPBodyReader

        /// The error reporting this response with the body read so far.
        var error: ChannelError {
            let response = HTTPResponse(status: status, headers: headers, body: Data(body.body))
            return WebSocketHandshakeFailure(reason: .unexpectedStatus, response: response, reasonPhrase: reason, isBodyTruncated: body.isTruncated).channelError
        }
    }

    /// The default `maxErrorBodySize`: 64 KiB.
    public static let defaultMaxErrorBodySize = 64 << 10

    /// Prepares a handshake with a key from `rng`.
    /// - Parameters:
    ///   - url: `ws://` or `wss://` URL (see ``WebSocketHandshake/requestBytes(url:key:headers:subprotocols:)``).
    ///   - headers: Extra request fields. Defaults to none.
    ///   - subprotocols: Subprotocols to offer. Defaults to none.
    ///   - maxHeadSize: The largest response head accepted, in bytes. Defaults to 64 KiB.
    ///   - maxErrorBodySize: The largest refusal body kept, in bytes. Defaults to 64 KiB.
    ///   - rng: The key's randomness (a seeded generator in tests).
    /// - Throws: ``ChannelError`` (``ChannelError/Code/invalidConfiguration``) for a bad
    ///   URL, header or subprotocol.
    public init(
        url: URL,
        headers: HTTPHeaders = [:],
        subprotocols: [String] = [],
        maxHeadSize: Int = 64 << 10,
        maxErrorBodySize: Int = WebSocketClientHandshake.defaultMaxErrorBodySize,
        using rng: inout some RandomNumberGenerator
    ) throws(ChannelError) {
        let key = WebSocketHandshake.makeKey(using: &rng)
        self.key = key
        self.subprotocols = subprotocols
        self.requestBytes = try WebSocketHandshake.requestBytes(url: url, key: key, headers: headers, subprotocols: subprotocols)
        self.maxErrorBodySize = maxErrorBodySize
        self.headParser = HTTPHeadParser(maxHeadSize: maxHeadSize)
    }

    /// Prepares a handshake with a key from `SystemRandomNumberGenerator` (see
    /// ``init(url:headers:subprotocols:maxHeadSize:maxErrorBodySize:using:)``).
    public init(
        url: URL,
        headers: HTTPHeaders = [:],
        subprotocols: [String] = [],
        maxHeadSize: Int = 64 << 10,
        maxErrorBodySize: Int = WebSocketClientHandshake.defaultMaxErrorBodySize
    ) throws(ChannelError) {
        var rng = SystemRandomNumberGenerator()
        try self.init(url: url, headers: headers, subprotocols: subprotocols, maxHeadSize: maxHeadSize, maxErrorBodySize: maxErrorBodySize, using: &rng)
    }

    /// The `Sec-WebSocket-Accept` value the server must send.
    public var expectedAccept: String { WebSocketHandshake.acceptValue(forKey: key) }

    /// Feeds response bytes.
    /// - Returns: ``Progress/upgraded(_:)`` once a valid 101 head is complete (its
    ///   ``WebSocketUpgrade/leftover`` holds any frame bytes that came with it), else
    ///   ``Progress/needMoreBytes``.
    /// - Throws: ``ChannelError``: the refusal (via ``WebSocketHandshakeFailure/channelError``)
    ///   once a non-101 response's body is complete, or at once for an invalid 101;
    ///   ``ChannelError/Code/malformedInput`` for a head that is not HTTP or too large;
    ///   ``ChannelError/Code/invalidState`` when called after the handshake ended.
    public mutating func receive(_ bytes: some Collection<UInt8>) throws(ChannelError) -> Progress {
        guard !finished else { throw ChannelError(.invalidState, "WebSocket handshake already finished") }
        do {
            return try advance(bytes)
        } catch {
            finished = true
            throw error
        }
    }

    /// The error to report when the connection closed before the handshake finished:
    /// the refusal with the body read so far (for a body that runs until close, that
    /// is the whole body), or ``ChannelError/Code/transport`` when no response head
    /// was complete.
    public mutating func failureAtEndOfStream() -> ChannelError {
        defer { finished = true }
        if !finished, let refusal { return refusal.error }
        return ChannelError(.transport, "connection closed before the WebSocket upgrade response was complete")
    }

    private mutating func advance(_ bytes: some Collection<UInt8>) throws(ChannelError) -> Progress {
        if var refusal {
            let complete = try refusal.body.feed(bytes)
            self.refusal = refusal
            if complete { throw refusal.error }
            return .needMoreBytes
        }
        guard let head = try headParser.feed(bytes) else { return .needMoreBytes }
        guard let (_, status, reason) = HTTPHead.parseStatusLine(head.startLine) else {
            throw ChannelError(.malformedInput, "WebSocket upgrade response has no valid HTTP status line")
        }
        guard status == 101 else {
            var body = try HTTPBodyReader(status: status, headers: head.headers, maxBodySize: maxErrorBodySize)
            let complete = try body.feed(head.leftover)
            let refusal = Refusal(status: status, reason: reason, headers: head.headers, body: body)
            self.refusal = refusal
            if complete { throw refusal.error }
            return .needMoreBytes
        }
        finished = true
        return .upgraded(try validate(head, reason: reason))
    }

    /// Checks a 101 response.
    private func validate(_ head: HTTPHead, reason: String) throws(ChannelError) -> WebSocketUpgrade {
        func fail(_ why: WebSocketHandshakeFailure.Reason) -> ChannelError {
            WebSocketHandshakeFailure(reason: why, response: HTTPResponse(status: 101, headers: head.headers), reasonPhrase: reason).channelError
        }
        let headers = head.headers
        guard WebSocketHandshake.hasToken(headers, "Upgrade", "websocket") else { throw fail(.missingUpgradeHeader) }
        guard WebSocketHandshake.hasToken(headers, "Connection", "upgrade") else { throw fail(.missingConnectionUpgrade) }
        guard let accept = headers["Sec-WebSocket-Accept"] else { throw fail(.missingAccept) }
        guard accept.trimmingCharacters(in: .whitespaces) == expectedAccept else { throw fail(.incorrectAccept) }
        guard WebSocketHandshake.tokens(headers, "Sec-WebSocket-Extensions").isEmpty else { throw fail(.unrequestedExtension) }
        let chosen = WebSocketHandshake.tokens(headers, "Sec-WebSocket-Protocol")
        guard chosen.count <= 1 else { throw fail(.unrequestedSubprotocol) }
        if let proto = chosen.first, !subprotocols.contains(proto) { throw fail(.unrequestedSubprotocol) }
        return WebSocketUpgrade(headers: headers, subprotocol: chosen.first, leftover: head.leftover)
    }
}
