import ChannelKit
import Foundation
import Synchronization

/// Writes whole lines to stdout or stderr, one `write(2)` per line, safe from any task.
final class LineWriter: Sendable {
    static let standardOutput = LineWriter(fileDescriptor: 1)
    static let standardError = LineWriter(fileDescriptor: 2)

    private let fileDescriptor: Int32
    private let lock = Mutex(())

    init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
    }

    func line(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.append(0x0A)
        lock.withLock { _ in
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { write(fileDescriptor, $0.baseAddress, $0.count) }
                if written <= 0 {
                    if written < 0 && errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}

/// Log lines to stderr: `2026-11-23T10:00:00Z info [qqbot:main] message key=value`.
/// Messages and metadata arrive already redacted by ``ChannelLogger``.
struct StandardErrorLogHandler: ChannelLogHandler {
    func log(level: LogLevel, message: String, metadata: LogMetadata, source: String) {
        let account = metadata["channel.account"].map { " [\($0)]" } ?? ""
        let rest = metadata.filter { $0.key != "channel.account" && $0.key != "channel.adapter" }
            .sorted { $0.key < $1.key }
            .map { " \($0.key)=\($0.value)" }
            .joined()
        let stamp = TimeSource.system.now().formatted(.iso8601)
        LineWriter.standardError.line("\(stamp) \(level)\(account) \(message)\(rest)")
    }
}
