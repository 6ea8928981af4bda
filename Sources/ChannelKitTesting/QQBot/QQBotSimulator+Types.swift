import Foundation
import ChannelKit

extension QQBotSimulator {
    /// Behaviour of a simulator; every field has the platform's documented value as its
    /// default.
    public struct Configuration: Sendable {
        /// Clock and wall clock (token expiry, reply windows). Tests pass
        /// `TestClock.timeSource`. Default ``TimeSource/system``.
        public var time: TimeSource
        /// Lifetime of a fresh access token. Default 7200 s.
        public var tokenLifetime: Duration
        /// The last part of a token's life during which a fetch returns a new token
        /// (the old one staying valid until it expires). Default 60 s.
        public var rotationWindow: Duration
        /// The `heartbeat_interval` sent in Hello. Default 41.25 s.
        public var heartbeatInterval: Duration
        /// Send `expires_in` as a string (`"7200"`, as the platform's example does) or as
        /// a number. Default `true`.
        public var expiresInAsString: Bool
        /// Passive-reply window of C2C messages. Default 60 min.
        public var c2cReplyWindow: Duration
        /// Passive-reply window of group messages. Default 5 min.
        public var groupReplyWindow: Duration
        /// Passive-reply window of guild channel and guild DM messages. Default 5 min.
        public var guildReplyWindow: Duration
        /// Whether sends without `msg_id` are accepted (else 40034102). Default `true`.
        public var allowProactive: Bool
        /// How many dispatches per session are kept for replay on resume. Default 1000.
        public var replayLimit: Int

        /// Creates a configuration; every parameter has the documented default.
        public init(
            time: TimeSource = .system,
            tokenLifetime: Duration = .seconds(7200),
            rotationWindow: Duration = .seconds(60),
            heartbeatInterval: Duration = .milliseconds(41_250),
            expiresInAsString: Bool = true,
            c2cReplyWindow: Duration = .seconds(3600),
            groupReplyWindow: Duration = .seconds(300),
            guildReplyWindow: Duration = .seconds(300),
            allowProactive: Bool = true,
            replayLimit: Int = 1000
        ) {
            self.time = time
            self.tokenLifetime = tokenLifetime
            self.rotationWindow = rotationWindow
            self.heartbeatInterval = heartbeatInterval
            self.expiresInAsString = expiresInAsString
            self.c2cReplyWindow = c2cReplyWindow
            self.groupReplyWindow = groupReplyWindow
            self.guildReplyWindow = guildReplyWindow
            self.allowProactive = allowProactive
            self.replayLimit = replayLimit
        }
    }

    /// A bot registered with ``QQBotSimulator/addBot(appId:clientSecret:username:markdownAllowed:permittedIntents:)``.
    public struct Bot: Sendable, Hashable {
        /// The AppID.
        public var appId: String
        /// The AppSecret.
        public var clientSecret: String
        /// The bot's user id (READY `user.id`, `/users/@me`).
        public var userID: String
        /// The bot's name.
        public var username: String
        /// Whether `msg_type` 2 is permitted (else 40034012).
        public var markdownAllowed: Bool
        /// The intents the bot may subscribe to; `nil`: all. Others → close 4014.
        public var permittedIntents: Int?
    }

    /// One attachment of an injected message, as the platform sends it.
    public struct InboundAttachment: Sendable, Hashable {
        public var contentType: String
        public var filename: String
        public var url: String
        public var size: Int
        /// Creates an attachment; `url` may be protocol-relative (`//…`) like the platform's.
        public init(contentType: String = "image/png", filename: String = "a.png", url: String, size: Int = 100) {
            self.contentType = contentType
            self.filename = filename
            self.url = url
            self.size = size
        }
    }

    /// One send or upload request a bot made, accepted or not.
    public struct Send: Sendable, Hashable, CustomStringConvertible {
        /// The app whose token authorised the request (`nil` when the token was unknown).
        public var appId: String?
        /// The token value used (the simulator's own fake token).
        public var token: String
        /// `c2c`, `group`, `guild`, `guild-dm`; for uploads `c2c-file`, `group-file`.
        public var scene: String
        /// The openid, group openid, channel id or DM guild id in the path.
        public var targetID: String
        /// `msg_id`, when sent.
        public var msgID: String?
        /// `msg_seq`, when sent.
        public var msgSeq: Int?
        /// `msg_type`, when sent.
        public var msgType: Int?
        /// `content`.
        public var content: String?
        /// `markdown.content`.
        public var markdown: String?
        /// `media.file_info` (messages) or the minted `file_info` (uploads).
        public var fileInfo: String?
        /// The HTTP status answered.
        public var status: Int
        /// The platform code answered on failure.
        public var errorCode: Int?
        /// The id given to an accepted message.
        public var messageID: String?

        /// Whether the platform accepted it.
        public var accepted: Bool { errorCode == nil && (200..<300).contains(status) }

        public var description: String {
            "Send(app: \(appId ?? "?"), \(scene) \(targetID), msg_id: \(msgID ?? "-"), msg_seq: \(msgSeq.map(String.init) ?? "-"), status: \(status)\(errorCode.map { ", code \($0)" } ?? ""))"
        }
    }
}
