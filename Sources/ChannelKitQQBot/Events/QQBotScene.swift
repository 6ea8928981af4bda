/// The four QQ conversation scenes a message can come from, and the name an
/// ``Origin/replyContext`` carries under `"scene"`.
public enum QQBotScene: String, Sendable, Hashable, CaseIterable {
    /// C2C (one-to-one with a QQ user): `C2C_MESSAGE_CREATE`, replies to `/v2/users/{openid}`.
    case c2c
    /// A QQ group that @-mentioned the bot: `GROUP_AT_MESSAGE_CREATE`, replies to `/v2/groups/{group_openid}`.
    case group
    /// A guild channel that @-mentioned the bot: `AT_MESSAGE_CREATE`, replies to `/channels/{channel_id}`.
    case guild
    /// A guild direct message: `DIRECT_MESSAGE_CREATE`, replies to `/dms/{guild_id}`.
    case guildDM = "guild-dm"

    /// The scene of a dispatch type, if it is a message event.
    public init?(eventType: String) {
        switch eventType {
        case "C2C_MESSAGE_CREATE": self = .c2c
        case "GROUP_AT_MESSAGE_CREATE": self = .group
        case "AT_MESSAGE_CREATE": self = .guild
        case "DIRECT_MESSAGE_CREATE": self = .guildDM
        default: return nil
        }
    }

    /// The dispatch type (`t`) of the scene's message event.
    public var eventType: String {
        switch self {
        case .c2c: "C2C_MESSAGE_CREATE"
        case .group: "GROUP_AT_MESSAGE_CREATE"
        case .guild: "AT_MESSAGE_CREATE"
        case .guildDM: "DIRECT_MESSAGE_CREATE"
        }
    }

    /// The scene of a dispatch type given as UTF-8 bytes, without building a `String`.
    init?(eventType bytes: UnsafeBufferPointer<UInt8>) {
        for scene in QQBotScene.allCases {
            var name = scene.eventType
            if name.withUTF8({ $0.elementsEqual(bytes) }) {
                self = scene
                return
            }
        }
        return nil
    }

    /// `Origin.replyContext` keys this adapter writes and reads.
    public enum ContextKey {
        /// The scene's raw value.
        public static let scene = "scene"
        /// The guild id: for a guild DM the DM's own guild (the reply goes to `/dms/{guildId}`).
        public static let guildID = "guildId"
        /// The event id (top-level `id` of the dispatch), when the platform sent one.
        public static let eventID = "eventId"
    }
}
