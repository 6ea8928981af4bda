import Synchronization
import ChannelKit

/// A ``ChannelLogHandler`` that keeps every line in memory, for tests that check what
/// was logged — and that no secret value ever reaches a log line.
public final class CapturingLogHandler: ChannelLogHandler {
    /// One captured line.
    public struct Line: Sendable, CustomStringConvertible {
        public let level: LogLevel
        public let message: String
        public let metadata: LogMetadata
        public let source: String
        /// The line as one string: level, source, message and sorted metadata.
        public var description: String {
            let meta = metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            return "[\(level)] \(source): \(message) \(meta)"
        }
    }

    private let storage = Mutex<[Line]>([])

    public init() {}

    public func log(level: LogLevel, message: String, metadata: LogMetadata, source: String) {
        storage.withLock { $0.append(Line(level: level, message: message, metadata: metadata, source: source)) }
    }

    /// Every line so far.
    public var lines: [Line] { storage.withLock { $0 } }

    /// A logger at `level` writing into this handler.
    public func logger(level: LogLevel = .trace) -> ChannelLogger {
        ChannelLogger(handler: self, level: level)
    }

    /// The lines (rendered with metadata) that contain `needle`. Use it to prove a secret
    /// never appears: `#expect(handler.lines(containing: secret.reveal()).isEmpty)`.
    public func lines(containing needle: String) -> [Line] {
        lines.filter { $0.description.contains(needle) }
    }
}
