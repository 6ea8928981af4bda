import Foundation
@testable import ChannelKit

/// Shared helpers for the WebSocket codec tests.
enum WS {
    /// `"81 05 48"` → `[0x81, 0x05, 0x48]`.
    static func hex(_ text: String) -> [UInt8] {
        text.split(separator: " ").compactMap { UInt8($0, radix: 16) }
    }

    /// Splits `bytes` into chunks whose sizes come from `rng` (1…`maxChunk`).
    static func randomChunks(_ bytes: [UInt8], maxChunk: Int, using rng: inout SeededRandomNumberGenerator) -> [ArraySlice<UInt8>] {
        var chunks: [ArraySlice<UInt8>] = []
        var i = 0
        while i < bytes.count {
            let n = Int.random(in: 1...maxChunk, using: &rng)
            chunks.append(bytes[i..<min(bytes.count, i + n)])
            i += n
        }
        return chunks
    }

    /// Feeds `chunks` one at a time into an event decoder, pulling events after each.
    static func events(
        _ chunks: [ArraySlice<UInt8>], role: WebSocketRole,
        maxFrameSize: Int = WebSocketFrameDecoder.defaultMaxFrameSize,
        maxMessageSize: Int = WebSocketMessageAssembler.defaultMaxMessageSize
    ) throws(WebSocketProtocolViolation) -> [WebSocketEvent] {
        var decoder = WebSocketEventDecoder(role: role, maxFrameSize: maxFrameSize, maxMessageSize: maxMessageSize)
        var events: [WebSocketEvent] = []
        for chunk in chunks {
            decoder.feed(chunk)
            while let event = try decoder.nextEvent() { events.append(event) }
        }
        return events
    }

    /// All events from `bytes` fed in one piece.
    static func events(_ bytes: [UInt8], role: WebSocketRole, maxFrameSize: Int = WebSocketFrameDecoder.defaultMaxFrameSize, maxMessageSize: Int = WebSocketMessageAssembler.defaultMaxMessageSize) throws(WebSocketProtocolViolation) -> [WebSocketEvent] {
        try events([bytes[...]], role: role, maxFrameSize: maxFrameSize, maxMessageSize: maxMessageSize)
    }

    /// The violation `bytes` cause when fed one byte at a time, or `nil` if none.
    static func violation(_ bytes: [UInt8], role: WebSocketRole, maxFrameSize: Int = WebSocketFrameDecoder.defaultMaxFrameSize, maxMessageSize: Int = WebSocketMessageAssembler.defaultMaxMessageSize) -> WebSocketProtocolViolation? {
        do {
            _ = try events(bytes.indices.map { bytes[$0...$0] }, role: role, maxFrameSize: maxFrameSize, maxMessageSize: maxMessageSize)
            return nil
        } catch {
            return error
        }
    }

    /// All frames from `bytes` (frame decoder only).
    static func frames(_ bytes: [UInt8], role: WebSocketRole) throws(WebSocketProtocolViolation) -> [WebSocketFrame] {
        var decoder = WebSocketFrameDecoder(role: role)
        decoder.feed(bytes)
        var frames: [WebSocketFrame] = []
        while let frame = try decoder.nextFrame() { frames.append(frame) }
        return frames
    }

    /// The bytes of a frame as the peer of `role` would send it (masked towards a server).
    static func frame(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true, rsv1: Bool = false, to role: WebSocketRole) -> [UInt8] {
        let key: WebSocketMaskingKey? = role == .server ? WebSocketMaskingKey(rawValue: 0x37FA_213D) : nil
        return WebSocketFrameEncoder.encode(WebSocketFrame(fin: fin, rsv1: rsv1, opcode: opcode, maskingKey: key, payload: payload))
    }

    /// The payload bytes of a close frame with a raw code.
    static func closePayload(_ code: UInt16, _ reason: [UInt8] = []) -> [UInt8] {
        [UInt8(code >> 8), UInt8(code & 0xFF)] + reason
    }
}
