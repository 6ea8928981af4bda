/// One RFC 6455 frame (§5.2), payload unmasked.
///
/// Decoded frames carry the key the peer masked with in ``maskingKey`` (their
/// ``payload`` is already unmasked). When encoding, a non-`nil` ``maskingKey`` masks the
/// payload on the wire; clients must mask, servers must not.
public struct WebSocketFrame: Sendable, Hashable {
    /// `true` on the last frame of a message (always `true` on control frames).
    public var fin: Bool
    /// Reserved bit 1 (per-message compression when negotiated; ChannelKit negotiates none).
    public var rsv1: Bool
    /// Reserved bit 2.
    public var rsv2: Bool
    /// Reserved bit 3.
    public var rsv3: Bool
    /// What the frame carries.
    public var opcode: WebSocketOpcode
    /// The masking key: the peer's key on decoded frames; the key to mask with when
    /// encoding; `nil` for unmasked frames.
    public var maskingKey: WebSocketMaskingKey?
    /// The application data, unmasked.
    public var payload: [UInt8]

    /// Creates a frame. Defaults: final, no reserved bits, unmasked.
    public init(
        fin: Bool = true,
        rsv1: Bool = false,
        rsv2: Bool = false,
        rsv3: Bool = false,
        opcode: WebSocketOpcode,
        maskingKey: WebSocketMaskingKey? = nil,
        payload: [UInt8] = []
    ) {
        self.fin = fin
        self.rsv1 = rsv1
        self.rsv2 = rsv2
        self.rsv3 = rsv3
        self.opcode = opcode
        self.maskingKey = maskingKey
        self.payload = payload
    }
}
