import ChannelKit

/// Where one outbound message goes on the QQ REST API, worked out from a
/// ``DeliveryTarget``.
///
/// Replies (``DeliveryTarget/reply`` set) use the inbound origin's scene
/// (`replyContext["scene"]`) and pass its message id as `msg_id`. Proactive sends use
/// the peer:
///
/// | peer | endpoint |
/// |---|---|
/// | `.direct`, id = user openid | `POST /v2/users/{openid}/messages` |
/// | `.direct`, id = `dms:<guild_id>` | `POST /dms/{guild_id}/messages` (guild DM) |
/// | `.group`, id = group openid | `POST /v2/groups/{group_openid}/messages` |
/// | `.channel`, id = channel id | `POST /channels/{channel_id}/messages` |
///
/// A guild DM is addressed proactively as `Peer(.direct, "dms:" + guildID)`, where
/// `guildID` is the `replyContext["guildId"]` of an earlier message from that user.
public struct QQBotOutboundRoute: Sendable, Hashable {
    /// The prefix of a proactive guild-DM peer id: `dms:<guild_id>`.
    public static let guildDMPrefix = "dms:"

    /// The scene.
    public var scene: QQBotScene
    /// The path segment id: openid, group openid, channel id or DM guild id.
    public var targetID: String
    /// The inbound message answered (`msg_id`), for passive replies.
    public var replyToMessageID: String?

    /// The send path, e.g. `/v2/users/ABC/messages`.
    public var messagesPath: String {
        let id = QQBotRESTClient.segment(targetID)
        switch scene {
        case .c2c: return "/v2/users/\(id)/messages"
        case .group: return "/v2/groups/\(id)/messages"
        case .guild: return "/channels/\(id)/messages"
        case .guildDM: return "/dms/\(id)/messages"
        }
    }

    /// The rich-media upload path (C2C and groups only).
    public var filesPath: String? {
        let id = QQBotRESTClient.segment(targetID)
        switch scene {
        case .c2c: return "/v2/users/\(id)/files"
        case .group: return "/v2/groups/\(id)/files"
        case .guild, .guildDM: return nil
        }
    }

    /// Whether the endpoint is a v2 one (`msg_seq`, `msg_type`, media by `file_info`).
    public var isV2: Bool { scene == .c2c || scene == .group }

    /// Creates a route.
    public init(scene: QQBotScene, targetID: String, replyToMessageID: String? = nil) {
        self.scene = scene
        self.targetID = targetID
        self.replyToMessageID = replyToMessageID
    }

    /// The route for `target` sent by `account`.
    /// - Throws: ``ChannelError`` `.invalidState` when the reply origin belongs to another
    ///   account (a reply can only leave through the account that received the message)
    ///   or lacks what its scene needs; `.invalidConfiguration` for an empty peer id.
    public init(target: DeliveryTarget, account: AccountKey) throws(ChannelError) {
        if let origin = target.reply {
            guard origin.account == account else {
                throw ChannelError(.invalidState, "reply to a message received by \(origin.account) cannot be sent by \(account)", account: account)
            }
            let scene = origin.replyContext[QQBotScene.ContextKey.scene].flatMap(QQBotScene.init(rawValue:)) ?? Self.scene(of: origin.peer)
            let id: String
            if scene == .guildDM {
                guard let guild = origin.replyContext[QQBotScene.ContextKey.guildID], !guild.isEmpty else {
                    throw ChannelError(.invalidState, "guild DM reply without replyContext[\"guildId\"]", account: account)
                }
                id = guild
            } else {
                id = origin.peer.id
            }
            guard !id.isEmpty else { throw ChannelError(.invalidState, "reply origin has an empty peer id", account: account) }
            self.init(scene: scene, targetID: id, replyToMessageID: origin.messageID.isEmpty ? nil : origin.messageID)
            return
        }
        let peer = target.peer
        guard !peer.id.isEmpty else { throw ChannelError(.invalidConfiguration, "empty peer id", account: account) }
        if peer.kind == .direct, peer.id.hasPrefix(Self.guildDMPrefix) {
            let guild = String(peer.id.dropFirst(Self.guildDMPrefix.count))
            guard !guild.isEmpty else { throw ChannelError(.invalidConfiguration, "empty guild id in \(peer)", account: account) }
            self.init(scene: .guildDM, targetID: guild)
            return
        }
        self.init(scene: Self.scene(of: peer), targetID: peer.id)
    }

    private static func scene(of peer: Peer) -> QQBotScene {
        switch peer.kind {
        case .direct: .c2c
        case .group: .group
        case .channel: .guild
        }
    }
}
