import ChannelKit
import ChannelKitClawChat
import ChannelKitFeishu
import ChannelKitOpenIM
import ChannelKitQQBot

/// The adapters this build of `channelkit` serves.
enum AvailableAdapters {
    static var all: [any ChannelAdapter] { all(tokenDidRefresh: nil) }

    /// The adapters, with `tokenDidRefresh` told about every refreshed OpenIM token
    /// (`channelkit run` writes it back into its config file).
    static func all(tokenDidRefresh: (@Sendable (AccountKey, Secret) async -> Void)?) -> [any ChannelAdapter] {
        [QQBotAdapter(), ClawChatAdapter(), FeishuAdapter(), OpenIMAdapter(configuration: .init(tokenDidRefresh: tokenDidRefresh))]
    }
}
