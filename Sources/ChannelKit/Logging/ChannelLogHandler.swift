/// The sink for ChannelKit's log lines, shaped like swift-log's `LogHandler` so a bridge
/// is a few lines (see README).
///
/// ChannelKit calls the handler only for lines at or above the logger's level, after the
/// message and every metadata value went through ``Redactor``. Handlers must be cheap
/// and must not block; they may be called from any task.
public protocol ChannelLogHandler: Sendable {
    /// Receives one log line.
    /// - Parameters:
    ///   - level: The severity.
    ///   - message: The redacted message text.
    ///   - metadata: Redacted structured data (`channel.account`, …).
    ///   - source: The ChannelKit component, e.g. `"TokenCache"`.
    func log(level: LogLevel, message: String, metadata: LogMetadata, source: String)
}
