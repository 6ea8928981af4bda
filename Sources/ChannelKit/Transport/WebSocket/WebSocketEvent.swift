import Foundation

/// What a peer sent, once frames are joined into messages
/// (see ``WebSocketMessageAssembler`` and ``WebSocketEventDecoder``).
public enum WebSocketEvent: Sendable, Hashable {
    /// A complete text or binary message (fragments joined, text checked as UTF-8).
    case message(WebSocketMessage)
    /// A ping; answer with a pong carrying the same payload (at most 125 bytes).
    case ping(Data)
    /// A pong (answering our ping, or unsolicited as a heartbeat).
    case pong(Data)
    /// A close frame. `code` is `nil` when the frame had no payload (report that as
    /// ``WebSocketCloseCode/noStatusReceived``, 1005); `reason` is empty when absent.
    case close(code: WebSocketCloseCode?, reason: String)
}
