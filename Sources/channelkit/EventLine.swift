import ChannelKit
import Foundation

/// The JSON-lines contract of `channelkit run` (stdout, one object per line):
///
/// - `{"type":"message","channel":…,"account":…,"peer":{"kind":…,"id":…},"sender":{"id":…,"name":…},"messageId":…,"text":…,"sessionKey":…}`
/// - `{"type":"status","channel":…,"account":…,"state":…,"reason":…}`
///
/// Absent values are `null`, never omitted, so every line of a type has the same keys.
enum EventLine {
    static func json(for event: GatewayEvent) -> String? {
        switch event {
        case .message(let message):
            return encode(MessageLine(message))
        case .status(let account, let state):
            return encode(StatusLine(account: account, state: state))
        case .identity, .platform:
            return nil
        }
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    private static func encode(_ value: some Encodable) -> String? {
        guard let data = try? encoder.encode(value) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    struct MessageLine: Encodable {
        let message: InboundMessage
        init(_ message: InboundMessage) { self.message = message }

        enum Keys: String, CodingKey { case type, channel, account, peer, sender, messageId, text, sessionKey, kind, id, name }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode("message", forKey: .type)
            try container.encode(message.origin.channel.rawValue, forKey: .channel)
            try container.encode(message.origin.account.account.rawValue, forKey: .account)
            var peer = container.nestedContainer(keyedBy: Keys.self, forKey: .peer)
            try peer.encode(message.origin.peer.kind.rawValue, forKey: .kind)
            try peer.encode(message.origin.peer.id, forKey: .id)
            var sender = container.nestedContainer(keyedBy: Keys.self, forKey: .sender)
            try sender.encode(message.sender.id, forKey: .id)
            try sender.encode(message.sender.name, forKey: .name)
            try container.encode(message.origin.messageID, forKey: .messageId)
            try container.encode(message.text, forKey: .text)
            try container.encode(message.sessionKey, forKey: .sessionKey)
        }
    }

    struct StatusLine: Encodable {
        let account: AccountKey
        let state: AccountState

        enum Keys: String, CodingKey { case type, channel, account, state, reason }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode("status", forKey: .type)
            try container.encode(account.channel.rawValue, forKey: .channel)
            try container.encode(account.account.rawValue, forKey: .account)
            try container.encode(state.name, forKey: .state)
            try container.encode(state.reason, forKey: .reason)
        }
    }
}
