import Foundation
import ChannelKit

extension FeishuSimulator {
    /// Behaviour of a simulator; every field has the platform's documented value as its
    /// default.
    public struct Configuration: Sendable {
        /// Clock and wall clock (token expiry, ack deadlines). Tests pass
        /// `TestClock.timeSource`. Default ``TimeSource/system``.
        public var time: TimeSource
        /// Lifetime of a fresh tenant token. Default 7200 s.
        public var tokenLifetime: Duration
        /// With less than this left, a token fetch returns a new token (the old one
        /// stays valid until it expires). Default 30 min.
        public var rotationWindow: Duration
        /// How long an event may go unacked before it is pushed again. Default 3 s.
        public var ackTimeout: Duration
        /// How often an unacked event is pushed again before the platform gives up.
        /// Default 3.
        public var maximumRedeliveries: Int
        /// The `ClientConfig` the endpoint returns and pongs carry (PascalCase, seconds).
        /// Default the SDKs' values: `ReconnectCount` −1, `ReconnectInterval` 120,
        /// `ReconnectNonce` 30, `PingInterval` 120.
        public var clientConfig: JSONValue
        /// The `service_id` in ticketed URLs. Default 33554678.
        public var serviceID: Int32

        /// Creates a configuration; every parameter has the documented default.
        public init(time: TimeSource = .system, tokenLifetime: Duration = .seconds(7200), rotationWindow: Duration = .seconds(1800),
                    ackTimeout: Duration = .seconds(3), maximumRedeliveries: Int = 3,
                    clientConfig: JSONValue = ["ReconnectCount": -1, "ReconnectInterval": 120, "ReconnectNonce": 30, "PingInterval": 120],
                    serviceID: Int32 = 33_554_678) {
            self.time = time
            self.tokenLifetime = tokenLifetime
            self.rotationWindow = rotationWindow
            self.ackTimeout = ackTimeout
            self.maximumRedeliveries = maximumRedeliveries
            self.clientConfig = clientConfig
            self.serviceID = serviceID
        }
    }

    /// An app registered with ``FeishuSimulator/addApp(appId:appSecret:name:)``.
    public struct App: Sendable, Hashable {
        /// The App ID (`cli_…`).
        public var appId: String
        /// The App Secret.
        public var appSecret: String
        /// The bot's app name (bot info `app_name`).
        public var name: String
        /// The bot's open_id (app-scoped, `ou_…`).
        public var botOpenID: String
    }

    /// One send, reply or upload request an app made, accepted or not.
    public struct Send: Sendable, Hashable, CustomStringConvertible {
        /// The app whose token authorised the request (`nil` when the token was unknown).
        public var appId: String?
        /// The tenant token used (the simulator's own fake token).
        public var token: String = ""
        /// `send`, `reply`, `image-upload`, `file-upload`.
        public var kind: String
        /// `chat_id` / `open_id` for sends; the replied message id for replies.
        public var receiveIDType: String?
        /// The receive id (sends) or replied message id (replies).
        public var target: String
        /// The chat the message landed in (accepted sends and replies).
        public var chatID: String?
        /// `msg_type`.
        public var msgType: String?
        /// `content` (a JSON string).
        public var content: String?
        /// The text of a `text` message, or of the `md`/`text` elements of a `post`.
        public var text: String?
        /// `uuid`.
        public var uuid: String?
        /// The HTTP status answered.
        public var status: Int
        /// The platform code answered on failure.
        public var errorCode: Int?
        /// The id given to an accepted message.
        public var messageID: String?

        /// Whether the platform accepted it.
        public var accepted: Bool { errorCode == nil && status == 200 }

        public var description: String {
            "Send(app: \(appId ?? "?"), \(kind) \(receiveIDType ?? "") \(target), \(msgType ?? "-"), status: \(status)\(errorCode.map { ", code \($0)" } ?? ""))"
        }
    }

    /// One ack a client sent for a pushed event.
    public struct Ack: Sendable, Hashable {
        /// The app.
        public var appId: String
        /// The event id acked.
        public var eventID: String
        /// The ack payload's `code`.
        public var code: Int?
        /// The `biz_rt` header, when sent.
        public var bizRT: String?
        /// Whether the ack echoed the pushed frame's SeqID, LogID, service and headers.
        public var echoedFrame: Bool
        /// When the ack arrived, measured from the first push of the event.
        public var latency: Duration
    }
}
