/// A `message.error` the server answered a send with: its raw `code` (`chat_not_found`,
/// `not_member`, `bad_request`, `unsupported_version`, `capability_missing`,
/// `message_too_large`, `message_id_too_long`, or any other) and its reason (`reason`,
/// falling back to the legacy `message`). Every code is terminal for that frame.
///
/// It is the ``ChannelKit/ChannelError/underlying`` error of the `ChannelError` a send
/// throws; read it with ``ChannelKit/ChannelError/clawChatErrorCode``.
public struct ClawChatMessageError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The server's code, e.g. `not_member`.
    public var code: String
    /// The human-readable hint.
    public var reason: String
    /// The chat the frame was for.
    public var chatID: String?

    /// Creates the error.
    public init(code: String, reason: String, chatID: String? = nil) {
        self.code = code
        self.reason = reason
        self.chatID = chatID
    }

    public var description: String { "message.error \(code): \(reason)" }
}

import ChannelKit

extension ChannelError {
    /// The ClawChat `message.error` code behind this error, when it came from one.
    public var clawChatErrorCode: String? { (underlying as? ClawChatMessageError)?.code }
}
