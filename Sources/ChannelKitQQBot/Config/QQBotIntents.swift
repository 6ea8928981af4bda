/// The gateway intents an account subscribes to (Identify `intents`), as a bit set.
///
/// Config accepts a number or a list of names (``names``):
/// `"intents": ["GROUP_AND_C2C_EVENT", "PUBLIC_GUILD_MESSAGES"]` or `"intents": 33558528`.
public struct QQBotIntents: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Guild create/update/delete (1 << 0).
    public static let guilds = QQBotIntents(rawValue: 1 << 0)
    /// Guild member events (1 << 1).
    public static let guildMembers = QQBotIntents(rawValue: 1 << 1)
    /// All guild messages; private-domain bots only (1 << 9).
    public static let guildMessages = QQBotIntents(rawValue: 1 << 9)
    /// Guild message reactions (1 << 10).
    public static let guildMessageReactions = QQBotIntents(rawValue: 1 << 10)
    /// Guild direct messages, `DIRECT_MESSAGE_CREATE` (1 << 12).
    public static let directMessage = QQBotIntents(rawValue: 1 << 12)
    /// Forum events, public domain (1 << 18).
    public static let openForums = QQBotIntents(rawValue: 1 << 18)
    /// Audio/live channel member events (1 << 19).
    public static let audioOrLiveMember = QQBotIntents(rawValue: 1 << 19)
    /// Group @-messages and C2C messages plus their lifecycle events (1 << 25).
    public static let groupAndC2CEvent = QQBotIntents(rawValue: 1 << 25)
    /// Interactions (buttons) (1 << 26).
    public static let interaction = QQBotIntents(rawValue: 1 << 26)
    /// Message audit results (1 << 27).
    public static let messageAudit = QQBotIntents(rawValue: 1 << 27)
    /// Forum events, private domain (1 << 28).
    public static let forums = QQBotIntents(rawValue: 1 << 28)
    /// Audio actions (1 << 29).
    public static let audioAction = QQBotIntents(rawValue: 1 << 29)
    /// Guild @-messages, `AT_MESSAGE_CREATE` (1 << 30).
    public static let publicGuildMessages = QQBotIntents(rawValue: 1 << 30)

    /// The default: group + C2C, public guild messages and direct messages
    /// (`1<<25 | 1<<30 | 1<<12` = 1107300352).
    public static let `default`: QQBotIntents = [.groupAndC2CEvent, .publicGuildMessages, .directMessage]

    /// The names accepted in configuration, as in the platform documentation.
    public static let names: [String: QQBotIntents] = [
        "GUILDS": .guilds,
        "GUILD_MEMBERS": .guildMembers,
        "GUILD_MESSAGES": .guildMessages,
        "GUILD_MESSAGE_REACTIONS": .guildMessageReactions,
        "DIRECT_MESSAGE": .directMessage,
        "OPEN_FORUMS_EVENT": .openForums,
        "AUDIO_OR_LIVE_CHANNEL_MEMBER": .audioOrLiveMember,
        "GROUP_AND_C2C_EVENT": .groupAndC2CEvent,
        "INTERACTION": .interaction,
        "MESSAGE_AUDIT": .messageAudit,
        "FORUMS_EVENT": .forums,
        "AUDIO_ACTION": .audioAction,
        "PUBLIC_GUILD_MESSAGES": .publicGuildMessages,
    ]
}
