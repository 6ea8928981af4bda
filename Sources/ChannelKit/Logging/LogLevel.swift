/// Severity of a log line, ordered like swift-log's `Logger.Level`.
public enum LogLevel: Int, Comparable, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case trace, debug, info, notice, warning, error, critical

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .trace: "trace"
        case .debug: "debug"
        case .info: "info"
        case .notice: "notice"
        case .warning: "warning"
        case .error: "error"
        case .critical: "critical"
        }
    }
}

/// Structured log metadata. ChannelKit's keys: `channel.account` (`"<channel>:<account>"`),
/// `channel.adapter`, `gateway.connection_id`, `credential.key`.
public typealias LogMetadata = [String: String]
