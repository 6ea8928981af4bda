import ChannelKit

/// The adapters this build of `channelkit` serves.
enum AvailableAdapters {
    static var all: [any ChannelAdapter] {
        []
    }
}
