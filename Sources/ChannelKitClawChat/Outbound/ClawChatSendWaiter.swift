import ChannelKit

/// The one-shot result of one outbound frame (`message.ack` or `message.error`), which
/// the sending task awaits in slices so it can resend after an ack timeout.
typealias ClawChatSendWaiter = OneShot<Result<SentMessage, ChannelError>>
