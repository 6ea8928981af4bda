import ChannelKit
import ChannelKitClawChat
import ChannelKitQQBot

/// The adapters this build of `channelkit` serves.
enum AvailableAdapters {
    static var all: [any ChannelAdapter] {
        [QQBotAdapter(), ClawChatAdapter()]
    }
}
