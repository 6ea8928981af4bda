import Foundation
import ChannelKit

/// Uplink frames, encoded with fixed field types (integers stay integers) so the bytes
/// of a frame are decided once and a resend is byte-identical.
enum ClawChatWire {
    /// Every uplink carries `version: "2"`.
    static let version = "2"

    /// The capabilities an agent advertises (never `reliable_delivery*`).
    static let capabilities: [String: Bool] = [
        "multi_device": false, "device_replay": true, "chat_meta_events": true,
        "notify_signals": true, "permission_events": true,
    ]

    struct Envelope<Payload: Encodable>: Encodable {
        var version = ClawChatWire.version
        var event: String
        var trace_id: String
        var chat_id: String?
        var payload: Payload
    }

    struct ConnectPayload: Encodable {
        var token: String
        var nonce: String
        var device_id: String
        var client_version: String
        var protocol_version: Int?
        var capabilities: [String: Bool]
    }

    struct DseqAckPayload: Encodable {
        var dseq: Int
        var ack_epoch: AckEpoch?
    }

    /// `ack_epoch` echoed as the server sent it (an integer or a string).
    enum AckEpoch: Encodable, Sendable, Equatable {
        case int(Int)
        case string(String)

        init?(_ value: JSONValue?) {
            if let i = value?.intValue { self = .int(i) } else if let s = value?.stringValue { self = .string(s) } else { return nil }
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .int(let i): try c.encode(i)
            case .string(let s): try c.encode(s)
            }
        }
    }

    struct EmptyPayload: Encodable {}

    /// A message fragment (text, mention, image, file, audio, video).
    struct Fragment: Codable, Sendable, Hashable {
        var kind: String
        var text: String?
        var user_id: String?
        var display: String?
        var url: String?
        var name: String?
        var mime: String?
        var size: Int?
        var width: Int?
        var height: Int?
        var duration: Int?

        static func text(_ text: String) -> Fragment { Fragment(kind: "text", text: text) }
    }

    struct ReplyPreview: Encodable {
        var id: String
        var nick_name: String
        var fragments: [Fragment]
    }

    struct ReplyContext: Encodable {
        var reply_to_msg_id: String
        var reply_preview: ReplyPreview
    }

    struct MessageContext: Encodable {
        var mentions: [String]
        var reply: ReplyContext?

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(mentions, forKey: .mentions)
            if let reply { try c.encode(reply, forKey: .reply) } else { try c.encodeNil(forKey: .reply) }
        }
        enum CodingKeys: String, CodingKey { case mentions, reply }
    }

    struct MessageBody: Encodable { var fragments: [Fragment] }
    struct Message: Encodable { var body: MessageBody; var context: MessageContext }
    struct MessagePayload: Encodable {
        var message_id: String
        var message_mode = "normal"
        var message: Message
    }

    /// Encodes a frame as compact JSON text.
    static func encode(_ frame: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data: Data
        do { data = try encoder.encode(frame) } catch {
            throw ChannelError(.malformedInput, "ClawChat frame could not be encoded: \(error)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
