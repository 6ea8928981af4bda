import Foundation

/// A complete WebSocket data message (fragments already joined).
public enum WebSocketMessage: Sendable, Hashable {
    /// A text message (valid UTF-8 by construction).
    case text(String)
    /// A binary message.
    case binary(Data)
}
