/// A frame opcode (RFC 6455 §5.2). Opcodes 3–7 and 11–15 are reserved; the decoder
/// rejects them with ``WebSocketCloseCode/protocolError``.
public enum WebSocketOpcode: UInt8, Sendable, Hashable, CaseIterable {
    /// 0: continues a fragmented text or binary message.
    case continuation = 0x0
    /// 1: the first (or only) frame of a text message.
    case text = 0x1
    /// 2: the first (or only) frame of a binary message.
    case binary = 0x2
    /// 8: close; payload is empty or a 2-byte code plus a UTF-8 reason.
    case close = 0x8
    /// 9: ping; the peer answers with a pong carrying the same payload.
    case ping = 0x9
    /// 10: pong.
    case pong = 0xA

    /// `true` for close, ping and pong: at most 125 payload bytes, never fragmented.
    public var isControl: Bool { rawValue & 0x8 != 0 }
}
