import Foundation
import ChannelKit

/// The protocol's decisions about a session, as pure functions (tested without I/O).
enum ClawChatSessionRules {
    /// The only `hello-fail` reason that means the token is dead.
    static let authenticationFailed = "authentication failed"

    /// What a `hello-fail` asks for.
    enum HelloFailAction: Equatable, Sendable {
        /// Exactly `"authentication failed"`: refresh, then reconnect with the new token.
        case refreshToken
        /// Anything else (`remote auth service unavailable`, `nonce mismatch`, unknown):
        /// back off and reconnect with the same token.
        case reconnectSameToken
    }

    /// Classifies a `hello-fail` reason. Only the exact text triggers a refresh.
    static func helloFail(reason: String) -> HelloFailAction {
        reason == authenticationFailed ? .refreshToken : .reconnectSameToken
    }

    /// What a socket close asks for.
    struct CloseAction: Equatable, Sendable {
        /// The least wait before reconnecting (`nil`: the runtime's jittered backoff).
        var after: Duration?
        /// Why, for the runtime's status (no secrets).
        var reason: String
        /// 1009: the frame last put on the wire was too large and must not be resent.
        var dropLastFrame: Bool = false
    }

    /// Maps a close status to the reconnect rule. A non-auth close never refreshes.
    static func closeAction(_ status: WebSocketCloseStatus?, configuration: ClawChatAdapter.Configuration) -> CloseAction {
        guard let status else { return CloseAction(after: nil, reason: "connection lost") }
        switch status.code.rawValue {
        case 4001:
            return CloseAction(after: configuration.takeoverWait,
                               reason: "close 4001: another session took over this device; waiting \(configuration.takeoverWait)")
        case 4002:
            let wait = retryAfter(fromCloseReason: status.reason) ?? configuration.throttleFallbackWait
            return CloseAction(after: wait, reason: "close 4002: throttled; retry after \(wait)")
        case 1009:
            return CloseAction(after: nil, reason: "close 1009: frame too large; it is not resent", dropLastFrame: true)
        default:
            return CloseAction(after: nil, reason: "closed \(status)")
        }
    }

    /// `retry_after_ms` from a 4002 close reason: a JSON object
    /// (`{"retry_after_ms":120000}`), or a bare number of milliseconds.
    static func retryAfter(fromCloseReason reason: String) -> Duration? {
        let trimmed = reason.trimmingCharacters(in: .whitespaces)
        if let ms = Int64(trimmed), ms >= 0 { return .milliseconds(ms) }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(trimmed.utf8)),
              let ms = value["retry_after_ms"]?.doubleValue, ms.isFinite, ms >= 0, ms < 86_400_000 else { return nil }
        return .milliseconds(Int64(ms))
    }

    /// `cnv_` + a 26-character ULID: the only chat ids production issues. Anything else
    /// is refused locally (the server would drop an empty one silently).
    static func isValidChatID(_ chatID: String) -> Bool {
        guard chatID.hasPrefix("cnv_") else { return false }
        return ULID(string: String(chatID.dropFirst(4))) != nil
    }

    /// `message.error` codes after which sends to the chat are blocked.
    static let blockingErrorCodes: Set<String> = ["chat_not_found", "not_member"]

    /// `message.error` codes reported as `.rateLimited` (INFERRED names; the documented
    /// codes are all terminal).
    static let rateLimitCodes: Set<String> = ["rate_limited", "too_many_requests", "throttled"]

    /// Events the adapter knows but does not turn into messages.
    static let knownEvents: Set<String> = [
        "replay.done", "sync.mark", "typing.update", "chat.metadata.invalidated", "notify.signal",
        "message.created", "message.add", "message.done", "message.failed", "message.reaction",
        "message.read", "message.delivered", "presence.update", "permission.updated",
    ]
}
