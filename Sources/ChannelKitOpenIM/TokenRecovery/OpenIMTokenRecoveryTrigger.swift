/// What made an OpenIM account ask for a new token — the SDK listener callbacks the
/// `multi-openim-channel` plugin reacts to.
public enum OpenIMTokenRecoveryTrigger: Sendable, Hashable, CustomStringConvertible {
    /// 1501 TokenExpired (SDK `OnUserTokenExpired`).
    case expired(code: Int, message: String)
    /// 1502–1505, 1507 (SDK `OnUserTokenInvalid`).
    case invalid(code: Int, message: String)
    /// 1506 TokenKicked or push 2002 (SDK `OnKickedOffline`).
    case kicked(code: Int, message: String)
    /// Repeated dial or network failures (SDK `OnConnectFailed`, e.g. 10001). Never
    /// ends in a manual-login marker: a network outage is not a credential problem.
    case connectFailed(code: Int, message: String)

    /// The reason handed to the token hook, as the plugin spells it:
    /// `OnUserTokenExpired`, `OnUserTokenInvalid`, `OnKickedOffline`,
    /// `OnConnectFailed errCode=10001`.
    public var reason: String {
        switch self {
        case .expired: return "OnUserTokenExpired"
        case .invalid: return "OnUserTokenInvalid"
        case .kicked: return "OnKickedOffline"
        case .connectFailed(let code, _): return "OnConnectFailed errCode=\(code)"
        }
    }

    /// Whether the server rejected the token itself (not a network failure).
    public var isTokenError: Bool {
        if case .connectFailed = self { return false }
        return true
    }

    /// `OnUserTokenExpired (1501 TokenExpiredError)`.
    public var description: String {
        switch self {
        case .expired(let code, let message), .invalid(let code, let message), .kicked(let code, let message):
            return message.isEmpty ? "\(reason) (\(code))" : "\(reason) (\(code) \(message))"
        case .connectFailed(_, let message):
            return message.isEmpty ? reason : "\(reason) (\(message))"
        }
    }
}

/// What token recovery decided.
public enum OpenIMTokenRecoveryResult: Sendable, Equatable {
    /// Connect with this token.
    case recovered(Secret)
    /// No token now; reconnect later with the runtime's backoff (a transient failure,
    /// or a connect failure that recovery could not fix).
    case retryLater(reason: String)
    /// Recovery failed for good: the marker is written; the account must stop until
    /// its token or configuration changes.
    case manualLoginRequired(reason: String)
}

import ChannelKit
