import Foundation
import ChannelKit

/// One gateway frame, decoded.
public enum QQBotGatewayEvent: Sendable {
    /// op 10, with the heartbeat interval.
    case hello(heartbeatInterval: Duration)
    /// op 11.
    case heartbeatAck
    /// op 1 from the server: send a heartbeat now.
    case heartbeatRequest
    /// op 7.
    case reconnect
    /// op 9 with `d` (whether the session can be resumed).
    case invalidSession(canResume: Bool)
    /// READY: a new session and the bot's own identity.
    case ready(seq: Int?, sessionID: String, user: AccountIdentity)
    /// RESUMED: the missed events have been replayed.
    case resumed(seq: Int?)
    /// A chat message, decoded.
    case message(seq: Int?, InboundMessage)
    /// Any other dispatch: a lifecycle event ChannelKit knows (`isKnown`) or one it does
    /// not, with its raw `d`.
    case event(seq: Int?, type: String, payload: JSONValue, isKnown: Bool)
    /// A dispatch whose envelope was readable but whose body was not; the seq must still
    /// be committed so a resume does not replay it forever.
    case malformedDispatch(seq: Int?, type: String, error: ChannelError)
    /// An opcode this adapter does not handle.
    case unknownOpcode(Int)

    /// Lifecycle dispatch types surfaced as known platform events.
    public static let knownEventTypes: Set<String> = [
        "GROUP_ADD_ROBOT", "GROUP_DEL_ROBOT", "GROUP_MSG_REJECT", "GROUP_MSG_RECEIVE",
        "FRIEND_ADD", "FRIEND_DEL", "C2C_MSG_REJECT", "C2C_MSG_RECEIVE", "INTERACTION_CREATE",
        "GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE", "CHANNEL_CREATE", "CHANNEL_UPDATE", "CHANNEL_DELETE",
        "GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE", "GUILD_MEMBER_REMOVE", "MESSAGE_DELETE",
        "PUBLIC_MESSAGE_DELETE", "DIRECT_MESSAGE_DELETE", "MESSAGE_REACTION_ADD", "MESSAGE_REACTION_REMOVE",
    ]
}
