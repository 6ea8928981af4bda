/// A logger value passed in through configuration. Default: ``disabled``.
///
/// ChannelKit never constructs a global logger. Components take a `ChannelLogger` in
/// their `Configuration`, attach their scope with ``scoped(to:)`` or
/// ``with(_:_:)``, and log through it. Every line is redacted at this sink
/// (``Redactor``), so a token that slipped into a platform error body still never
/// reaches the handler.
public struct ChannelLogger: Sendable {
    /// Where lines go; `nil` disables logging.
    public var handler: (any ChannelLogHandler)?
    /// Lines below this level are dropped before their message is built. Default `.info`.
    public var level: LogLevel
    /// Metadata attached to every line.
    public var metadata: LogMetadata

    /// Creates a logger.
    /// - Parameters:
    ///   - handler: The sink; `nil` disables logging.
    ///   - level: The minimum level. Defaults to `.info`.
    ///   - metadata: Metadata for every line. Defaults to none.
    public init(handler: (any ChannelLogHandler)?, level: LogLevel = .info, metadata: LogMetadata = [:]) {
        self.handler = handler
        self.level = level
        self.metadata = metadata
    }

    /// A logger that drops everything.
    public static let disabled = ChannelLogger(handler: nil)

    /// `true` when a line at `level` would reach the handler.
    @inlinable
    public func isEnabled(_ level: LogLevel) -> Bool { handler != nil && level >= self.level }

    /// Returns a copy with one more metadata entry.
    public func with(_ key: String, _ value: String) -> ChannelLogger {
        var copy = self
        copy.metadata[key] = value
        return copy
    }

    /// Returns a copy scoped to an account: adds `channel.account` and `channel.adapter`.
    public func scoped(to account: AccountKey) -> ChannelLogger {
        with("channel.account", account.description).with("channel.adapter", account.channel.rawValue)
    }

    /// Logs a line. The message is built only when the level is enabled.
    public func log(
        _ level: LogLevel,
        _ message: @autoclosure () -> String,
        metadata extra: @autoclosure () -> LogMetadata = [:],
        source: String = "ChannelKit"
    ) {
        guard let handler, level >= self.level else { return }
        var all = metadata
        for (k, v) in extra() { all[k] = v }
        handler.log(level: level, message: Redactor.redact(message()), metadata: Redactor.redact(all), source: source)
    }

    /// Logs at `.trace`.
    public func trace(_ message: @autoclosure () -> String, metadata: @autoclosure () -> LogMetadata = [:], source: String = "ChannelKit") {
        log(.trace, message(), metadata: metadata(), source: source)
    }
    /// Logs at `.debug`.
    public func debug(_ message: @autoclosure () -> String, metadata: @autoclosure () -> LogMetadata = [:], source: String = "ChannelKit") {
        log(.debug, message(), metadata: metadata(), source: source)
    }
    /// Logs at `.info`.
    public func info(_ message: @autoclosure () -> String, metadata: @autoclosure () -> LogMetadata = [:], source: String = "ChannelKit") {
        log(.info, message(), metadata: metadata(), source: source)
    }
    /// Logs at `.warning`.
    public func warning(_ message: @autoclosure () -> String, metadata: @autoclosure () -> LogMetadata = [:], source: String = "ChannelKit") {
        log(.warning, message(), metadata: metadata(), source: source)
    }
    /// Logs at `.error`.
    public func error(_ message: @autoclosure () -> String, metadata: @autoclosure () -> LogMetadata = [:], source: String = "ChannelKit") {
        log(.error, message(), metadata: metadata(), source: source)
    }
}
