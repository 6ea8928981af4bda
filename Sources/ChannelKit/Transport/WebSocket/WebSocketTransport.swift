import Foundation

/// What to connect to: a `ws://` or `wss://` URL plus handshake headers.
public struct WebSocketRequest: Sendable, CustomStringConvertible {
    /// The endpoint. `ws`/`wss` (and `http`/`https`, mapped to them) are accepted.
    public var url: URL
    /// Extra handshake headers (e.g. `Authorization`, a device id). Redacted when printed.
    public var headers: HTTPHeaders
    /// Subprotocols to offer in `Sec-WebSocket-Protocol`. Default none.
    public var subprotocols: [String]

    /// Creates a request.
    public init(url: URL, headers: HTTPHeaders = [:], subprotocols: [String] = []) {
        self.url = url
        self.headers = headers
        self.subprotocols = subprotocols
    }

    /// The URL with query values that look secret redacted, and the headers redacted.
    public var description: String { "WebSocketRequest(\(Redactor.redact(url.absoluteString)), headers: \(headers))" }
}

/// How a connection ended.
public struct WebSocketCloseStatus: Sendable, Hashable, CustomStringConvertible {
    /// The close code: the peer's (or ours, if we closed first and the peer echoed it);
    /// `1005` when a close frame carried no code, `1006` when the connection dropped
    /// without a close frame.
    public var code: WebSocketCloseCode
    /// The close reason (may be empty).
    public var reason: String
    /// `true` when the peer started the closing handshake (or dropped the connection).
    public var initiatedByPeer: Bool

    public init(code: WebSocketCloseCode, reason: String, initiatedByPeer: Bool) {
        self.code = code
        self.reason = reason
        self.initiatedByPeer = initiatedByPeer
    }

    public var description: String { "\(code)\(reason.isEmpty ? "" : " \(Redactor.redact(reason))")\(initiatedByPeer ? " (by peer)" : "")" }
}

/// Opens WebSocket connections. Every adapter owns its connections: a transport holds
/// no per-account state.
///
/// Defaults: on Linux ``CurlWebSocketTransport`` (libcurl connect-only + ChannelKit's
/// RFC 6455 codec); on Apple platforms `URLSessionWebSocketTask`.
public protocol WebSocketTransport: Sendable {
    /// Connects and completes the opening handshake.
    ///
    /// - Throws: ``ChannelError`` — `.handshakeRejected` with the server's status, headers
    ///   and body in ``ChannelError/response`` (OpenIM and Feishu put the reason there);
    ///   `.transport` for DNS/TCP/TLS failures; `.timeout`; `.cancelled` when the calling
    ///   task is cancelled (the half-open connection is torn down).
    func connect(_ request: WebSocketRequest) async throws -> any WebSocketConnection
}

/// One open WebSocket connection.
///
/// Inbound data messages arrive through ``messages``. Pings from the peer are answered
/// automatically. When the peer closes, the close is echoed, ``messages`` finishes and
/// ``closeStatus`` tells the code and reason; when the connection drops or the peer
/// breaks the protocol, ``messages`` finishes by throwing a ``ChannelError``.
public protocol WebSocketConnection: AnyObject, Sendable {
    /// Inbound messages, in order. Iterate it from one task.
    var messages: AsyncThrowingStream<WebSocketMessage, any Error> { get }

    /// Sends a text or binary message.
    /// - Throws: ``ChannelError`` `.connectionClosed` once closing started, `.transport`.
    func send(_ message: WebSocketMessage) async throws

    /// Sends a ping and waits for the matching pong.
    /// - Parameter payload: At most 125 bytes.
    /// - Throws: `.connectionClosed` if the connection ends first; cancellation of the
    ///   caller stops the wait (the ping is already sent).
    func ping(_ payload: Data) async throws

    /// Starts the closing handshake with `code` and `reason` and waits (up to the
    /// transport's close timeout) for the peer's close, then closes the socket.
    /// Idempotent.
    func close(code: WebSocketCloseCode, reason: String) async

    /// How the connection ended, once it has.
    var closeStatus: WebSocketCloseStatus? { get }

    /// The server's `101` response head (status and headers, e.g. a negotiated
    /// subprotocol).
    var handshakeResponse: HTTPResponse { get }
}

extension WebSocketConnection {
    /// Sends a text message.
    public func send(text: String) async throws { try await send(.text(text)) }
    /// Sends a binary message.
    public func send(binary: Data) async throws { try await send(.binary(binary)) }
}
