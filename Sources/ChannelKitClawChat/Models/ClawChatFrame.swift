import Foundation
import ChannelKit

/// One downlink JSON text frame, decoded just enough to dispatch it. The whole frame is
/// kept in ``raw`` so unknown events are surfaced with their payload.
struct ClawChatFrame: Sendable {
    /// `event` (e.g. `message.send`, `hello-ok`).
    var event: String
    /// `trace_id`, echoed on `hello-*`, `message.ack`, `message.error`, `pong`.
    var traceID: String?
    /// `chat_id`, on business frames.
    var chatID: String?
    /// `chat_type`: `direct` or `group` (downlink only).
    var chatType: String?
    /// `emitted_at`, milliseconds since 1970.
    var emittedAt: Double?
    /// `dseq` (Protocol v2 delivery sequence), when present.
    var dseq: Int?
    /// `payload` (an empty object when absent).
    var payload: JSONValue
    /// The whole frame.
    var raw: JSONValue

    /// Decodes a text frame.
    /// - Throws: ``ChannelError`` `.malformedInput` (never traps) when the text is not a
    ///   JSON object, or `event` is missing or not a string; `location` names the field.
    static func decode(_ text: String) throws -> ClawChatFrame {
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        } catch {
            throw ChannelError(.malformedInput, "ClawChat frame is not JSON (\(text.utf8.count) bytes)", location: "$")
        }
        guard case .object(let members) = value else {
            throw ChannelError(.malformedInput, "ClawChat frame is not a JSON object", location: "$")
        }
        let event: String
        if let e = members["event"]?.stringValue, !e.isEmpty {
            event = e
        } else if members["type"]?.stringValue == "res" {
            event = "res"   // legacy shape: type:"res", requestId, payload.data
        } else {
            throw ChannelError(.malformedInput, "ClawChat frame has no string \"event\"", location: "$.event")
        }
        let payload = members["payload"] ?? .object([:])
        return ClawChatFrame(
            event: event,
            traceID: members["trace_id"]?.stringValue ?? members["requestId"]?.stringValue,
            chatID: members["chat_id"]?.stringValue,
            chatType: members["chat_type"]?.stringValue,
            emittedAt: members["emitted_at"]?.doubleValue,
            dseq: members["dseq"]?.intValue,
            payload: payload.isNull ? .object([:]) : payload,
            raw: value)
    }

    /// The challenge nonce: `payload.nonce`, or the legacy `payload.data.nonce`.
    var nonce: String? {
        payload["nonce"]?.stringValue ?? payload["data"]?["nonce"]?.stringValue
    }
}
