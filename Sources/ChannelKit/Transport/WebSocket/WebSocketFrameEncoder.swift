import Foundation

/// Writes RFC 6455 frames for one endpoint: masks with a fresh key per frame when the
/// role is ``WebSocketRole/client``, never when it is ``WebSocketRole/server``.
///
/// Frames are appended to a caller-owned `[UInt8]`, so a send loop can reuse one buffer
/// (`buffer.removeAll(keepingCapacity: true)`) and batch several frames into one write.
///
/// ```swift
/// var encoder = WebSocketFrameEncoder(role: .client)
/// var out: [UInt8] = []
/// encoder.encodeText("hello", into: &out)
/// try encoder.encodePing([1, 2, 3], into: &out)
/// ```
///
/// Masking keys come from `SystemRandomNumberGenerator` by default (RFC 6455 §5.3 asks
/// for unpredictable keys); each 64-bit draw yields two keys.
public struct WebSocketFrameEncoder: Sendable {
    /// The endpoint this encoder writes for.
    public let role: WebSocketRole
    private var keySource: any RandomNumberGenerator & Sendable
    /// The unused half of the last 64-bit draw.
    private var spareKey: UInt32?

    /// The largest payload of a control frame (close, ping, pong): 125 bytes.
    public static let maxControlPayloadCount = 125

    /// Creates an encoder drawing client masking keys from `SystemRandomNumberGenerator`.
    /// - Parameter role: ``WebSocketRole/client`` masks every frame; ``WebSocketRole/server`` never does.
    public init(role: WebSocketRole) {
        self.init(role: role, maskingKeyGenerator: SystemRandomNumberGenerator())
    }

    /// Creates an encoder drawing client masking keys from `maskingKeyGenerator` (e.g. a
    /// ``SeededRandomNumberGenerator`` in tests, for reproducible bytes).
    /// - Parameters:
    ///   - role: ``WebSocketRole/client`` masks every frame; ``WebSocketRole/server`` never does.
    ///   - maskingKeyGenerator: The key source; unused by a server.
    public init(role: WebSocketRole, maskingKeyGenerator: some RandomNumberGenerator & Sendable) {
        self.role = role
        self.keySource = maskingKeyGenerator
    }

    // MARK: Messages

    /// Appends one final text frame carrying `text` as UTF-8.
    public mutating func encodeText(_ text: String, into buffer: inout [UInt8]) {
        var text = text
        let key = nextKey()
        text.withUTF8 { Self.write(opcode: .text, fin: true, payload: UnsafeRawBufferPointer($0), maskingKey: key, into: &buffer) }
    }

    /// Appends one final binary frame carrying `bytes` (`[UInt8]`, `Data`, a slice…).
    public mutating func encodeBinary(_ bytes: some Collection<UInt8>, into buffer: inout [UInt8]) {
        encodeFrame(opcode: .binary, payload: bytes, into: &buffer)
    }

    /// Appends `message` as one final text or binary frame.
    public mutating func encode(_ message: WebSocketMessage, into buffer: inout [UInt8]) {
        switch message {
        case .text(let text): encodeText(text, into: &buffer)
        case .binary(let data): encodeBinary(data, into: &buffer)
        }
    }

    /// Appends one data frame with an explicit opcode and FIN bit, for sending a message
    /// in fragments: the first frame has opcode `.text` or `.binary`, the rest
    /// `.continuation`; only the last has `fin: true`.
    /// - Parameters:
    ///   - opcode: The frame's opcode.
    ///   - fin: `true` on the last fragment. Defaults to `true`.
    ///   - payload: The unmasked payload.
    ///   - buffer: Receives the frame bytes.
    public mutating func encodeFrame(opcode: WebSocketOpcode, fin: Bool = true, payload: some Collection<UInt8>, into buffer: inout [UInt8]) {
        let key = nextKey()
        let done: Void? = payload.withContiguousStorageIfAvailable {
            Self.write(opcode: opcode, fin: fin, payload: UnsafeRawBufferPointer($0), maskingKey: key, into: &buffer)
        }
        if done == nil {
            Array(payload).withUnsafeBytes { Self.write(opcode: opcode, fin: fin, payload: $0, maskingKey: key, into: &buffer) }
        }
    }

    // MARK: Control frames

    /// Appends a ping frame.
    /// - Parameter payload: At most 125 bytes (``maxControlPayloadCount``); the peer
    ///   echoes it in its pong. Defaults to empty.
    /// - Throws: ``ChannelError`` with code ``ChannelError/Code/malformedInput`` when the
    ///   payload is longer than 125 bytes (nothing is appended).
    public mutating func encodePing(_ payload: some Collection<UInt8> = [UInt8](), into buffer: inout [UInt8]) throws(ChannelError) {
        try Self.checkControlPayload(payload.count, "ping")
        encodeFrame(opcode: .ping, payload: payload, into: &buffer)
    }

    /// Appends a pong frame (the answer to a ping carries the ping's payload).
    /// - Parameter payload: At most 125 bytes (``maxControlPayloadCount``). Defaults to empty.
    /// - Throws: ``ChannelError`` with code ``ChannelError/Code/malformedInput`` when the
    ///   payload is longer than 125 bytes (nothing is appended).
    public mutating func encodePong(_ payload: some Collection<UInt8> = [UInt8](), into buffer: inout [UInt8]) throws(ChannelError) {
        try Self.checkControlPayload(payload.count, "pong")
        encodeFrame(opcode: .pong, payload: payload, into: &buffer)
    }

    /// Appends a close frame.
    /// - Parameters:
    ///   - code: The status code; `nil` (or a code that may not appear on the wire, such
    ///     as 1005 or 1006, see ``WebSocketCloseCode/isValidOnWire``) sends an empty
    ///     payload and drops the reason.
    ///   - reason: UTF-8 text, cut at a Unicode scalar boundary to fit the 123 bytes left
    ///     after the code. Defaults to empty.
    ///   - buffer: Receives the frame bytes.
    public mutating func encodeClose(code: WebSocketCloseCode?, reason: String = "", into buffer: inout [UInt8]) {
        encodeFrame(opcode: .close, payload: Self.closePayload(code: code, reason: reason), into: &buffer)
    }

    /// The payload of a close frame: 2-byte big-endian code, then the reason cut to fit
    /// 125 bytes in all; empty when `code` is `nil` or not valid on the wire.
    public static func closePayload(code: WebSocketCloseCode?, reason: String) -> [UInt8] {
        guard let code, code.isValidOnWire else { return [] }
        var payload: [UInt8] = [UInt8(truncatingIfNeeded: code.rawValue >> 8), UInt8(truncatingIfNeeded: code.rawValue)]
        var room = maxControlPayloadCount - 2
        for scalar in reason.unicodeScalars {
            let utf8 = scalar.utf8
            guard utf8.count <= room else { break }
            payload.append(contentsOf: utf8)
            room -= utf8.count
        }
        return payload
    }

    // MARK: Raw frames

    /// Appends `frame` exactly as described: its FIN and reserved bits, opcode, and
    /// masking by ``WebSocketFrame/maskingKey`` when non-`nil`. Does not check the
    /// frame against RFC 6455 (test servers use this to send malformed frames).
    public static func encode(_ frame: WebSocketFrame, into buffer: inout [UInt8]) {
        var first = frame.opcode.rawValue
        if frame.fin { first |= 0x80 }
        if frame.rsv1 { first |= 0x40 }
        if frame.rsv2 { first |= 0x20 }
        if frame.rsv3 { first |= 0x10 }
        frame.payload.withUnsafeBytes { write(firstByte: first, payload: $0, maskingKey: frame.maskingKey, into: &buffer) }
    }

    /// The bytes of `frame` (see ``encode(_:into:)``).
    public static func encode(_ frame: WebSocketFrame) -> [UInt8] {
        var buffer: [UInt8] = []
        encode(frame, into: &buffer)
        return buffer
    }

    /// The header size of a frame: 2 bytes, plus 2 (payload 126–65,535 bytes) or 8
    /// (larger), plus 4 when masked.
    public static func headerCount(payloadCount: Int, masked: Bool) -> Int {
        let length = payloadCount <= 125 ? 0 : (payloadCount <= 0xFFFF ? 2 : 8)
        return 2 + length + (masked ? 4 : 0)
    }

    // MARK: Internals

    private static func checkControlPayload(_ count: Int, _ kind: String) throws(ChannelError) {
        guard count <= maxControlPayloadCount else {
            throw ChannelError(.malformedInput, "\(kind) payload is \(count) bytes; control frames carry at most \(maxControlPayloadCount)", location: "\(kind).payload")
        }
    }

    /// The next masking key for a client, `nil` for a server.
    private mutating func nextKey() -> WebSocketMaskingKey? {
        guard role == .client else { return nil }
        if let spare = spareKey {
            spareKey = nil
            return WebSocketMaskingKey(rawValue: spare)
        }
        let bits = keySource.next()
        spareKey = UInt32(truncatingIfNeeded: bits >> 32)
        return WebSocketMaskingKey(rawValue: UInt32(truncatingIfNeeded: bits))
    }

    private static func write(opcode: WebSocketOpcode, fin: Bool, payload: UnsafeRawBufferPointer, maskingKey: WebSocketMaskingKey?, into buffer: inout [UInt8]) {
        write(firstByte: (fin ? 0x80 : 0) | opcode.rawValue, payload: payload, maskingKey: maskingKey, into: &buffer)
    }

    private static func write(firstByte: UInt8, payload: UnsafeRawBufferPointer, maskingKey: WebSocketMaskingKey?, into buffer: inout [UInt8]) {
        let count = payload.count
        let needed = headerCount(payloadCount: count, masked: maskingKey != nil) + count
        if buffer.capacity - buffer.count < needed {
            buffer.reserveCapacity(max(buffer.count + needed, buffer.capacity * 2))
        }
        buffer.append(firstByte)
        let maskBit: UInt8 = maskingKey == nil ? 0 : 0x80
        if count <= 125 {
            buffer.append(maskBit | UInt8(truncatingIfNeeded: count))
        } else if count <= 0xFFFF {
            buffer.append(maskBit | 126)
            buffer.append(UInt8(truncatingIfNeeded: count >> 8))
            buffer.append(UInt8(truncatingIfNeeded: count))
        } else {
            buffer.append(maskBit | 127)
            let length = UInt64(count)
            for shift in stride(from: 56, through: 0, by: -8) {
                buffer.append(UInt8(truncatingIfNeeded: length >> UInt64(shift)))
            }
        }
        guard let key = maskingKey else {
            buffer.append(contentsOf: payload)
            return
        }
        let raw = key.rawValue
        buffer.append(UInt8(truncatingIfNeeded: raw >> 24))
        buffer.append(UInt8(truncatingIfNeeded: raw >> 16))
        buffer.append(UInt8(truncatingIfNeeded: raw >> 8))
        buffer.append(UInt8(truncatingIfNeeded: raw))
        let start = buffer.count
        buffer.append(contentsOf: payload)
        if count > 0 {
            buffer.withUnsafeMutableBytes { key.apply(to: UnsafeMutableRawBufferPointer(rebasing: $0[start...])) }
        }
    }
}
