import Foundation
import ChannelKit

extension ClawChatSimulator {
    /// A simulated account: its user id, current tokens and bound REST device id.
    public struct Account: Sendable, Hashable {
        /// The user id (`usr_…`), also the JWT `sub`.
        public var userID: String
        /// The display name returned by `/v1/users/me` and put on sent frames.
        public var nickname: String
        /// The current access token (a JWT with `sub`, `iat`, `exp`, `did`).
        public var accessToken: String
        /// The current refresh token (64 hex digits, single use).
        public var refreshToken: String
        /// The REST `X-Device-Id` the session is bound to.
        public var deviceID: String
    }

    /// Kinds of chat.
    public enum ChatType: String, Sendable, Hashable {
        /// A one-to-one chat (`chat_type: "direct"`).
        case direct
        /// A group chat (`chat_type: "group"`).
        case group
    }

    /// A `message.send`/`message.reply` frame the server accepted from a client.
    public struct SentRecord: Sendable, Hashable {
        /// The sending user (the socket's authenticated user).
        public var userID: String
        /// The socket's `device_id`.
        public var wsDeviceID: String
        /// The access token the socket authenticated with.
        public var token: String
        /// `message.send` or `message.reply`.
        public var event: String
        /// The chat.
        public var chatID: String
        /// `payload.message_id`.
        public var messageID: String
        /// `trace_id`.
        public var traceID: String
        /// The concatenated text fragments.
        public var text: String
        /// Every fragment's `kind`.
        public var fragmentKinds: [String]
        /// `context.reply.reply_to_msg_id`, for replies.
        public var replyTo: String?
        /// The frame exactly as received.
        public var frame: String
        /// `true` when the same `message_id` had already been accepted (a resend merged by
        /// `UNIQUE(recipient, message_id)`).
        public var wasDuplicate: Bool
    }

    /// One `POST /v1/auth/refresh`.
    public struct RefreshRecord: Sendable, Hashable {
        /// The user the refresh token belonged to, if it was known.
        public var userID: String?
        /// The refresh token sent.
        public var refreshToken: String
        /// The `X-Device-Id` sent.
        public var deviceID: String?
        /// Whether an `Authorization` header was sent (it must not be).
        public var hadAuthorization: Bool
        /// The envelope code answered (`nil` for a scripted non-envelope answer).
        public var code: Int?
    }

    /// One `connect` frame.
    public struct ConnectRecord: Sendable, Hashable {
        /// The user the token belonged to, if valid.
        public var userID: String?
        /// The token sent.
        public var token: String
        /// `device_id`.
        public var deviceID: String
        /// `protocol_version`.
        public var protocolVersion: Int?
        /// `capabilities`.
        public var capabilities: [String: Bool]
        /// `hello-ok`, or the `hello-fail` reason.
        public var result: String
    }

    /// A scripted answer to `POST /v1/auth/refresh`.
    public enum RefreshScript: Sendable, Hashable {
        /// Answer with this envelope code and message (HTTP 200), without rotating.
        case code(Int, String)
        /// Answer with this HTTP status and body, without rotating.
        case http(status: Int, body: String)
        /// Drop the connection without answering.
        case drop
    }

    /// A media upload the server stored.
    public struct UploadRecord: Sendable, Hashable {
        /// The uploading user (by bearer token).
        public var userID: String
        /// The part's `filename`.
        public var fileName: String
        /// The part's `Content-Type`.
        public var mimeType: String
        /// Size in bytes.
        public var size: Int
        /// The URL handed back in `data.url`.
        public var url: String
    }
}
