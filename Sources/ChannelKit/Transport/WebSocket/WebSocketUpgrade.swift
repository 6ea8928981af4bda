/// A server's accepted upgrade, as read by ``WebSocketClientHandshake``.
public struct WebSocketUpgrade: Sendable, Hashable {
    /// The `101` response's header fields.
    public var headers: HTTPHeaders
    /// The subprotocol the server chose (one the client offered), or `nil`.
    public var subprotocol: String?
    /// Bytes that arrived after the response head: the first WebSocket frames. Feed them
    /// to the ``WebSocketEventDecoder`` before anything read later.
    public var leftover: [UInt8]

    /// Creates an upgrade result.
    public init(headers: HTTPHeaders, subprotocol: String?, leftover: [UInt8]) {
        self.headers = headers
        self.subprotocol = subprotocol
        self.leftover = leftover
    }
}
