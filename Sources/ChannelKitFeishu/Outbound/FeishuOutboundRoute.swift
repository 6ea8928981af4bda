import Foundation
import ChannelKit

/// Where one outbound chunk goes on Feishu.
///
/// - A reply (``DeliveryTarget/reply`` set) → `POST /open-apis/im/v1/messages/{message_id}/reply`:
///   it lands in the chat the message came from (the origin's own message id; an origin
///   of another account is refused).
/// - Proactive, `direct` peer → `POST /open-apis/im/v1/messages?receive_id_type=open_id`
///   with the user's open_id (open_ids are app-scoped).
/// - Proactive, `group`/`channel` peer → `receive_id_type=chat_id` with the chat id.
struct FeishuOutboundRoute: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        case reply(messageID: String)
        case send(receiveIDType: String, receiveID: String)
    }
    let kind: Kind
    let inThread: Bool

    init(target: DeliveryTarget, account: AccountKey) throws {
        if let origin = target.reply {
            guard origin.account == account else {
                throw ChannelError(.invalidState, "reply origin belongs to \(origin.account), not \(account)", account: account)
            }
            kind = .reply(messageID: origin.messageID)
            inThread = origin.thread != nil
            return
        }
        guard !target.peer.id.isEmpty else { throw ChannelError(.invalidState, "empty peer id", account: account) }
        switch target.peer.kind {
        case .direct: kind = .send(receiveIDType: "open_id", receiveID: target.peer.id)
        case .group, .channel: kind = .send(receiveIDType: "chat_id", receiveID: target.peer.id)
        }
        inThread = false
    }

    /// The request path and query.
    var pathAndQuery: String {
        switch kind {
        case .reply(let id): "/open-apis/im/v1/messages/\(FeishuEventDecoder.segment(id))/reply"
        case .send(let type, _): "/open-apis/im/v1/messages?receive_id_type=\(type)"
        }
    }

    /// A stable description for idempotency fingerprints.
    var fingerprint: String {
        switch kind {
        case .reply(let id): "reply:\(id)"
        case .send(let type, let id): "send:\(type):\(id)"
        }
    }

    /// The request body for `msgType` and `content` (the content's JSON text).
    func body(msgType: String, content: String, uuid: String) -> String {
        var fields: [String: JSONValue] = ["msg_type": .string(msgType), "content": .string(content), "uuid": .string(uuid)]
        switch kind {
        case .reply:
            if inThread { fields["reply_in_thread"] = true }
        case .send(_, let id):
            fields["receive_id"] = .string(id)
        }
        return JSONValue.object(fields).jsonText
    }
}
