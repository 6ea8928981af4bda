import ChannelKit
import ChannelKitClawChat
import ChannelKitFeishu
import ChannelKitQQBot

/// The adapters this build of `channelkit` serves.
enum AvailableAdapters {
    static var all: [any ChannelAdapter] {
        [QQBotAdapter(), ClawChatAdapter(), FeishuAdapter()]
    }
}
