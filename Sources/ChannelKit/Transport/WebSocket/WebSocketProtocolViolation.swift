/// A peer broke RFC 6455: the connection must be failed, sending a close frame with
/// ``closeCode`` (§7.1.7).
///
/// Thrown (typed) by ``WebSocketFrameDecoder``, ``WebSocketMessageAssembler`` and
/// ``WebSocketEventDecoder``. ``channelError`` turns it into the library's error type.
public struct WebSocketProtocolViolation: Error, Sendable, Hashable, CustomStringConvertible {
    /// The code to send in our close frame: ``WebSocketCloseCode/protocolError`` (1002),
    /// ``WebSocketCloseCode/invalidFramePayloadData`` (1007) or
    /// ``WebSocketCloseCode/messageTooBig`` (1009).
    public var closeCode: WebSocketCloseCode
    /// What was wrong, e.g. `"reserved opcode 0x3"`. Never contains payload bytes.
    public var message: String

    /// Creates a violation.
    public init(_ closeCode: WebSocketCloseCode, _ message: String) {
        self.closeCode = closeCode
        self.message = message
    }

    static func protocolError(_ message: String) -> Self { Self(.protocolError, message) }
    static func invalidUTF8(_ message: String) -> Self { Self(.invalidFramePayloadData, message) }
    static func tooBig(_ message: String) -> Self { Self(.messageTooBig, message) }

    /// A ``ChannelError`` with code ``ChannelError/Code/malformedInput``, this violation
    /// as its underlying error and the close code as its platform code.
    public var channelError: ChannelError {
        ChannelError(.malformedInput, "WebSocket protocol violation: \(message)", platformCode: Int(closeCode.rawValue), underlying: self)
    }

    public var description: String { "WebSocketProtocolViolation(\(closeCode): \(message))" }
}
