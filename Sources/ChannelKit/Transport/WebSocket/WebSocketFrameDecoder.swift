/// Splits a byte stream into RFC 6455 frames, checking every rule that one frame can
/// break (§5.2–§5.5) for the given role.
///
/// Feed bytes as they arrive, in chunks of any size (one byte at a time works), then pull
/// frames until ``nextFrame()`` returns `nil`:
///
/// ```swift
/// var decoder = WebSocketFrameDecoder(role: .client)
/// decoder.feed(received)
/// while let frame = try decoder.nextFrame() { … }
/// ```
///
/// Rules (each throws a ``WebSocketProtocolViolation``, after which the decoder must not
/// be used again):
/// - a client rejects masked frames, a server unmasked ones — 1002;
/// - reserved bits set (ChannelKit negotiates no extensions) — 1002;
/// - reserved opcodes 3–7 and 11–15 — 1002;
/// - a control frame that is fragmented or longer than 125 bytes — 1002;
/// - a 64-bit length with its top bit set — 1002;
/// - a frame longer than `maxFrameSize` — 1009, as soon as its header arrives.
///
/// Non-minimal length encodings (e.g. 5 written in 16 bits) are accepted, as RFC 6455
/// allows. Rules across frames (fragmentation, UTF-8, close payloads) belong to
/// ``WebSocketMessageAssembler``.
///
/// Bytes are kept in one growing buffer with a read index, compacted when more than
/// half is consumed and emptied (its memory released above 16 KiB) as soon as every
/// byte is consumed; a frame's payload is unmasked in place.
public struct WebSocketFrameDecoder: Sendable {
    /// The endpoint this decoder reads for.
    public let role: WebSocketRole
    /// The largest frame payload accepted, in bytes.
    public let maxFrameSize: Int

    /// Unparsed bytes live in `buffer[readIndex...]`.
    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// The header returned by ``nextHeader()`` and not yet consumed (its payload is
    /// already unmasked, so it must not be parsed again).
    private var pending: WebSocketFrameHeader?

    /// The default ``maxFrameSize``: 16 MiB.
    public static let defaultMaxFrameSize = 16 << 20

    /// Capacity kept after the buffer drains; larger buffers are released at once so an
    /// idle connection holds little memory after a large message.
    static let retainedCapacity = 16 << 10

    /// Creates a decoder.
    /// - Parameters:
    ///   - role: Our role: ``WebSocketRole/client`` expects unmasked frames,
    ///     ``WebSocketRole/server`` masked ones.
    ///   - maxFrameSize: The largest payload accepted, in bytes; larger frames fail with
    ///     1009. Defaults to ``defaultMaxFrameSize`` (16 MiB).
    public init(role: WebSocketRole, maxFrameSize: Int = WebSocketFrameDecoder.defaultMaxFrameSize) {
        self.role = role
        self.maxFrameSize = max(0, maxFrameSize)
    }

    /// The number of received bytes not yet returned as frames.
    public var bufferedCount: Int { buffer.count - readIndex }

    /// The receive buffer's capacity in bytes (for memory tests).
    var bufferCapacity: Int { buffer.capacity }

    /// Appends received bytes.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        prepareForAppend()
        buffer.append(contentsOf: bytes)
    }

    /// Appends received bytes (`[UInt8]`, `Data`, an `ArraySlice`…).
    public mutating func feed(_ bytes: some Collection<UInt8>) {
        prepareForAppend()
        // Contiguous input is appended as raw memory, fast even from another module
        // where this generic function is not specialised.
        let appended: Void? = bytes.withContiguousStorageIfAvailable { buffer.append(contentsOf: UnsafeRawBufferPointer($0)) }
        if appended == nil { buffer.append(contentsOf: bytes) }
    }

    /// Returns the next complete frame (payload unmasked), or `nil` until more bytes arrive.
    /// - Throws: ``WebSocketProtocolViolation`` when the bytes break a frame rule.
    public mutating func nextFrame() throws(WebSocketProtocolViolation) -> WebSocketFrame? {
        guard let header = try nextHeader() else { return nil }
        let start = readIndex + header.headerCount
        let payload = Array(buffer[start..<(start + header.payloadCount)])
        consume(header)
        return WebSocketFrame(
            fin: header.fin, rsv1: header.rsv1, rsv2: header.rsv2, rsv3: header.rsv3,
            opcode: header.opcode, maskingKey: header.maskingKey, payload: payload
        )
    }

    // MARK: Zero-copy access (internal)

    /// Parses the header of the next frame; when the whole frame is buffered, unmasks
    /// its payload in place and returns the header, without consuming the frame. Call
    /// ``withPayload(of:_:)`` to read the payload, then ``consume(_:)``.
    mutating func nextHeader() throws(WebSocketProtocolViolation) -> WebSocketFrameHeader? {
        if let pending { return pending }
        let available = buffer.count - readIndex
        guard available >= 1 else { return nil }
        let first = buffer[readIndex]
        if first & 0x70 != 0 {
            throw .protocolError("reserved bits set (0x\(String(first & 0x70, radix: 16))) without a negotiated extension")
        }
        guard let opcode = WebSocketOpcode(rawValue: first & 0x0F) else {
            throw .protocolError("reserved opcode 0x\(String(first & 0x0F, radix: 16))")
        }
        if opcode.isControl && first & 0x80 == 0 {
            throw .protocolError("fragmented \(opcode) frame")
        }
        guard available >= 2 else { return nil }
        let second = buffer[readIndex + 1]
        let masked = second & 0x80 != 0
        switch role {
        case .client where masked: throw .protocolError("masked frame from the server")
        case .server where !masked: throw .protocolError("unmasked frame from the client")
        default: break
        }
        var headerCount = 2
        var length = UInt64(second & 0x7F)
        if length == 126 {
            guard available >= 4 else { return nil }
            length = UInt64(buffer[readIndex + 2]) << 8 | UInt64(buffer[readIndex + 3])
            headerCount = 4
        } else if length == 127 {
            guard available >= 10 else { return nil }
            length = 0
            for i in 2..<10 { length = length << 8 | UInt64(buffer[readIndex + i]) }
            if length & (1 << 63) != 0 { throw .protocolError("64-bit payload length with the most significant bit set") }
            headerCount = 10
        }
        if opcode.isControl && length > 125 {
            throw .protocolError("\(opcode) frame with a \(length)-byte payload (control frames carry at most 125)")
        }
        if length > UInt64(maxFrameSize) {
            throw .tooBig("frame payload of \(length) bytes exceeds the limit of \(maxFrameSize)")
        }
        let payloadCount = Int(length)
        var maskingKey: WebSocketMaskingKey?
        if masked {
            guard available >= headerCount + 4 else { return nil }
            let i = readIndex + headerCount
            maskingKey = WebSocketMaskingKey(buffer[i], buffer[i + 1], buffer[i + 2], buffer[i + 3])
            headerCount += 4
        }
        guard available - headerCount >= payloadCount else { return nil }
        let header = WebSocketFrameHeader(firstByte: first, opcode: opcode, maskingKey: maskingKey, payloadCount: payloadCount, headerCount: headerCount)
        if let maskingKey, payloadCount > 0 {
            let start = readIndex + headerCount
            buffer.withUnsafeMutableBytes { maskingKey.apply(to: UnsafeMutableRawBufferPointer(rebasing: $0[start..<(start + payloadCount)])) }
        }
        pending = header
        return header
    }

    /// Calls `body` with the payload of the frame `header` describes (as returned by
    /// ``nextHeader()``, not yet consumed).
    func withPayload<R, E: Error>(of header: WebSocketFrameHeader, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let start = readIndex + header.headerCount
        return try buffer.withUnsafeBytes(typed: { (raw) throws(E) -> R in
            try body(UnsafeRawBufferPointer(rebasing: raw[start..<(start + header.payloadCount)]))
        })
    }

    /// Drops the frame `header` describes from the buffer.
    mutating func consume(_ header: WebSocketFrameHeader) {
        readIndex += header.frameCount
        pending = nil
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= Self.retainedCapacity)
            readIndex = 0
        }
    }

    /// Compacts the buffer before new bytes are appended once more than half of it is
    /// consumed, so each byte is moved at most once on average.
    private mutating func prepareForAppend() {
        if readIndex > 0 && readIndex >= buffer.count / 2 {
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
    }
}
