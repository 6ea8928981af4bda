/// Which end of a WebSocket connection this endpoint is.
///
/// The role decides masking (RFC 6455 §5.1): a client masks every frame it sends and
/// rejects masked frames from the server; a server sends unmasked frames and rejects
/// unmasked frames from the client.
public enum WebSocketRole: Sendable, Hashable {
    /// The endpoint that sent the HTTP Upgrade request.
    case client
    /// The endpoint that answered it with `101 Switching Protocols`.
    case server
}
