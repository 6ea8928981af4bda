/// A client's valid WebSocket upgrade request, as read by ``WebSocketServerHandshake``.
public struct WebSocketUpgradeRequest: Sendable, Hashable {
    /// The request target: path plus `?query`, e.g. `/gateway?v=1`.
    public var target: String
    /// The header fields in order.
    public var headers: HTTPHeaders
    /// The `Sec-WebSocket-Key` (24 base64 characters).
    public var key: String
    /// The subprotocols offered, in the client's order of preference.
    public var subprotocols: [String]
    /// Bytes received after the request head (a client should send nothing before the
    /// 101; feed these to the server's ``WebSocketEventDecoder`` if present).
    public var leftover: [UInt8]

    /// Creates a request.
    public init(target: String, headers: HTTPHeaders, key: String, subprotocols: [String] = [], leftover: [UInt8] = []) {
        self.target = target
        self.headers = headers
        self.key = key
        self.subprotocols = subprotocols
        self.leftover = leftover
    }

    /// The target's path, without the query.
    public var path: String {
        target.firstIndex(of: "?").map { String(target[..<$0]) } ?? target
    }

    /// The target's query (after `?`, still percent-encoded), or `nil` without one.
    public var query: String? {
        target.firstIndex(of: "?").map { String(target[target.index(after: $0)...]) }
    }
}
