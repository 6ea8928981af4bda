import Foundation

/// Joins frames into messages and checks the rules that span frames (RFC 6455 §5.4,
/// §5.5.1, §8.1).
///
/// Feed it the frames of a ``WebSocketFrameDecoder`` in order:
/// - a text or binary frame without FIN opens a message, `continuation` frames extend
///   it, the one with FIN completes it; control frames may come in between;
/// - `continuation` with no open message, or a new text/binary frame while one is open — 1002;
/// - a message longer than `maxMessageSize` in total — 1009, as soon as a fragment
///   crosses the limit;
/// - text that is not UTF-8 — 1007, checked fragment by fragment (a code point split
///   between fragments is fine; one left unfinished at the end is not);
/// - a close payload of 1 byte, or a code not allowed on the wire
///   (``WebSocketCloseCode/isValidOnWire``) — 1002; a reason that is not UTF-8 — 1007.
///
/// Reserved bits and control-frame limits are the decoder's checks; frames built by
/// hand are taken as they are.
public struct WebSocketMessageAssembler: Sendable {
    /// The largest message accepted, in bytes (all fragments together).
    public let maxMessageSize: Int

    /// The data opcode of the open fragmented message, `nil` when none is open.
    private var openOpcode: WebSocketOpcode?
    private var fragments: [UInt8] = []
    private var validator = UTF8Validator()

    /// The default ``maxMessageSize``: 16 MiB.
    public static let defaultMaxMessageSize = 16 << 20

    /// Creates an assembler.
    /// - Parameter maxMessageSize: The largest message accepted, in bytes; larger ones
    ///   fail with 1009. Defaults to ``defaultMaxMessageSize`` (16 MiB).
    public init(maxMessageSize: Int = WebSocketMessageAssembler.defaultMaxMessageSize) {
        self.maxMessageSize = max(0, maxMessageSize)
    }

    /// `true` while a fragmented message is open (its first frame came, its last has not).
    public var isAssembling: Bool { openOpcode != nil }

    /// Processes one frame; returns an event when the frame completes one (a message, a
    /// ping, a pong or a close), `nil` when it only extended an open message.
    /// - Throws: ``WebSocketProtocolViolation`` when the frame breaks a rule above.
    public mutating func process(_ frame: WebSocketFrame) throws(WebSocketProtocolViolation) -> WebSocketEvent? {
        try frame.payload.withUnsafeBytes(typed: { (payload) throws(WebSocketProtocolViolation) -> WebSocketEvent? in
            try process(opcode: frame.opcode, fin: frame.fin, payload: payload)
        })
    }

    /// Processes one frame given by parts; the payload is only read during the call.
    mutating func process(opcode: WebSocketOpcode, fin: Bool, payload: UnsafeRawBufferPointer) throws(WebSocketProtocolViolation) -> WebSocketEvent? {
        switch opcode {
        case .text, .binary:
            if let openOpcode { throw .protocolError("new \(opcode) frame while a fragmented \(openOpcode) message is open") }
            try checkSize(payload.count)
            if fin { return .message(try Self.message(opcode, payload)) }
            if opcode == .text { try validateFragment(payload) }
            openOpcode = opcode
            fragments.append(contentsOf: payload)
            return nil
        case .continuation:
            guard let openOpcode else { throw .protocolError("continuation frame without a message to continue") }
            try checkSize(fragments.count + payload.count)
            if openOpcode == .text { try validateFragment(payload) }
            fragments.append(contentsOf: payload)
            guard fin else { return nil }
            if openOpcode == .text && !validator.isComplete {
                throw .invalidUTF8("text message ends inside a UTF-8 sequence")
            }
            let message: WebSocketMessage = openOpcode == .text
                ? .text(String(decoding: fragments, as: UTF8.self))
                : .binary(Data(fragments))
            self.openOpcode = nil
            fragments.removeAll(keepingCapacity: fragments.capacity <= WebSocketFrameDecoder.retainedCapacity)
            validator = UTF8Validator()
            return .message(message)
        case .ping:
            return .ping(Data(payload))
        case .pong:
            return .pong(Data(payload))
        case .close:
            return try Self.closeEvent(payload)
        }
    }

    private func checkSize(_ count: Int) throws(WebSocketProtocolViolation) {
        if count > maxMessageSize {
            throw .tooBig("message of \(count) bytes so far exceeds the limit of \(maxMessageSize)")
        }
    }

    private mutating func validateFragment(_ payload: UnsafeRawBufferPointer) throws(WebSocketProtocolViolation) {
        if !validator.validate(payload) { throw .invalidUTF8("text message is not valid UTF-8") }
    }

    /// A whole single-frame message.
    private static func message(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer) throws(WebSocketProtocolViolation) -> WebSocketMessage {
        guard opcode == .text else { return .binary(Data(payload)) }
        guard UTF8Validator.isValid(payload) else { throw .invalidUTF8("text message is not valid UTF-8") }
        return .text(String(decoding: payload.assumingMemoryBound(to: UInt8.self), as: UTF8.self))
    }

    /// Parses a close payload: empty, or a 2-byte code plus a UTF-8 reason.
    static func closeEvent(_ payload: UnsafeRawBufferPointer) throws(WebSocketProtocolViolation) -> WebSocketEvent {
        if payload.isEmpty { return .close(code: nil, reason: "") }
        guard payload.count >= 2 else { throw .protocolError("close frame with a 1-byte payload") }
        let code = WebSocketCloseCode(UInt16(payload[0]) << 8 | UInt16(payload[1]))
        guard code.isValidOnWire else { throw .protocolError("close code \(code) is not allowed on the wire") }
        let reasonBytes = UnsafeRawBufferPointer(rebasing: payload[2...])
        guard UTF8Validator.isValid(reasonBytes) else { throw .invalidUTF8("close reason is not valid UTF-8") }
        return .close(code: code, reason: String(decoding: reasonBytes.assumingMemoryBound(to: UInt8.self), as: UTF8.self))
    }
}
