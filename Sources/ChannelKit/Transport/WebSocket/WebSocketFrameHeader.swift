/// The parsed header of a frame whose bytes are all in a decoder's buffer.
///
/// Internal: lets ``WebSocketEventDecoder`` read a payload where it lies instead of
/// copying it into a ``WebSocketFrame``.
struct WebSocketFrameHeader: Sendable, Hashable {
    /// The first header byte: FIN, RSV1–3 and the opcode bits.
    var firstByte: UInt8
    /// The opcode (already checked to be a known one).
    var opcode: WebSocketOpcode
    /// The peer's key, `nil` when unmasked.
    var maskingKey: WebSocketMaskingKey?
    /// Payload length in bytes.
    var payloadCount: Int
    /// Header length in bytes (2–14).
    var headerCount: Int

    var fin: Bool { firstByte & 0x80 != 0 }
    var rsv1: Bool { firstByte & 0x40 != 0 }
    var rsv2: Bool { firstByte & 0x20 != 0 }
    var rsv3: Bool { firstByte & 0x10 != 0 }
    /// Header plus payload.
    var frameCount: Int { headerCount + payloadCount }
}
