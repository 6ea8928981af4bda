/// What a QQ gateway close code means for the next connection.
public enum QQBotCloseAction: Sendable, Hashable {
    /// Reconnect and resume the session (4009, drops without a platform code).
    case resume
    /// Forget the session and identify anew (4006, 4007, 4900–4913, …).
    case identify
    /// Wait (4008 "sending too fast"), then resume.
    case waitThenResume
    /// Refresh the token, then identify (4004 authentication failed).
    case refreshTokenThenIdentify
    /// Stop for good: the account cannot work until its configuration changes
    /// (4001/4002 bad opcode/payload, 4010–4014 shard/intent problems, 4914 delisted,
    /// 4915 banned).
    case fatal
}

/// The QQ gateway close-code table (platform docs plus the codes botgo knows).
public enum QQBotCloseCode {
    /// The action for close `code` (`nil`: no close frame, the connection dropped).
    public static func action(for code: Int?) -> QQBotCloseAction {
        guard let code else { return .resume }
        switch code {
        case 4001, 4002, 4010...4014, 4914, 4915: return .fatal
        case 4004: return .refreshTokenThenIdentify
        case 4003, 4005, 4006, 4007, 4900...4913: return .identify
        case 4008: return .waitThenResume
        default: return .resume       // 4009, 4000, 1000, 1001, 1006, anything else
        }
    }

    /// A short description of a platform close code, for reasons and logs.
    public static func meaning(of code: Int) -> String {
        switch code {
        case 4001: "invalid opcode"
        case 4002: "invalid payload"
        case 4003: "not authenticated"
        case 4004: "authentication failed"
        case 4005: "already authenticated"
        case 4006: "invalid session"
        case 4007: "invalid seq"
        case 4008: "sending too fast"
        case 4009: "connection expired"
        case 4010: "invalid shard"
        case 4011: "too many guilds for one shard"
        case 4012: "invalid version"
        case 4013: "invalid intent"
        case 4014: "intent not permitted"
        case 4900...4913: "internal error"
        case 4914: "bot delisted (offline, sandbox only)"
        case 4915: "bot banned"
        default: "close code \(code)"
        }
    }
}
