/// Turns received bytes into WebSocket events: a ``WebSocketFrameDecoder`` and a
/// ``WebSocketMessageAssembler`` in one, reading each payload where it lies in the
/// receive buffer (no per-frame copy).
///
/// ```swift
/// var inbound = WebSocketEventDecoder(role: .client)
/// inbound.feed(upgrade.leftover)          // bytes that came with the 101 response
/// inbound.feed(received)
/// do {
///     while let event = try inbound.nextEvent() {
///         switch event {
///         case .message(let m): deliver(m)
///         case .ping(let payload): try encoder.encodePong(payload, into: &out)
///         case .pong: heartbeatAcknowledged()
///         case .close(let code, _): reply(closeHandshake.receivedClose(code: code))
///         }
///     }
/// } catch {
///     // error.closeCode: 1002, 1007 or 1009 — fail the connection with it.
/// }
/// ```
///
/// After a close event, ``nextEvent()`` returns `nil` for ever (RFC 6455 §5.5.1: nothing
/// follows a close frame). After a violation, it throws the same violation again.
public struct WebSocketEventDecoder: Sendable {
    private var frames: WebSocketFrameDecoder
    private var assembler: WebSocketMessageAssembler
    private var failure: WebSocketProtocolViolation?
    /// `true` once a close frame was returned.
    public private(set) var closeReceived = false

    /// Creates a decoder.
    /// - Parameters:
    ///   - role: Our role (decides which masking the peer must use).
    ///   - maxFrameSize: The largest frame payload, in bytes. Defaults to 16 MiB.
    ///   - maxMessageSize: The largest message (all fragments), in bytes. Defaults to 16 MiB.
    public init(
        role: WebSocketRole,
        maxFrameSize: Int = WebSocketFrameDecoder.defaultMaxFrameSize,
        maxMessageSize: Int = WebSocketMessageAssembler.defaultMaxMessageSize
    ) {
        frames = WebSocketFrameDecoder(role: role, maxFrameSize: maxFrameSize)
        assembler = WebSocketMessageAssembler(maxMessageSize: maxMessageSize)
    }

    /// Our role.
    public var role: WebSocketRole { frames.role }

    /// The number of received bytes not yet turned into events.
    public var bufferedCount: Int { frames.bufferedCount }

    /// Appends received bytes.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) { frames.feed(bytes) }

    /// Appends received bytes (`[UInt8]`, `Data`, an `ArraySlice`…).
    public mutating func feed(_ bytes: some Collection<UInt8>) { frames.feed(bytes) }

    /// Returns the next event, or `nil` until more bytes arrive (and for ever after a
    /// close event).
    /// - Throws: ``WebSocketProtocolViolation``: fail the connection with its
    ///   ``WebSocketProtocolViolation/closeCode``.
    public mutating func nextEvent() throws(WebSocketProtocolViolation) -> WebSocketEvent? {
        if let failure { throw failure }
        do {
            while !closeReceived, let header = try frames.nextHeader() {
                let event = try frames.withPayload(of: header) { (payload) throws(WebSocketProtocolViolation) in
                    try assembler.process(opcode: header.opcode, fin: header.fin, payload: payload)
                }
                frames.consume(header)
                guard let event else { continue }
                if case .close = event { closeReceived = true }
                return event
            }
            return nil
        } catch {
            failure = error
            throw error
        }
    }
}
