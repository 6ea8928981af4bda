/// Failures of the loopback TCP layer (``LoopbackTCPServer``, ``LoopbackTCPConnection``).
public enum LoopbackTCPError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The connection (or server) was closed on our side.
    case closed
    /// The peer closed the connection before the expected bytes arrived.
    case unexpectedEndOfStream
    /// A delimited read found no delimiter within the given number of bytes.
    case limitExceeded(Int)
    /// A system call failed.
    case system(operation: String, errno: Int32)

    public var description: String {
        switch self {
        case .closed: "connection closed"
        case .unexpectedEndOfStream: "unexpected end of stream"
        case .limitExceeded(let limit): "no delimiter within \(limit) bytes"
        case .system(let operation, let code): "\(operation) failed: \(Posix.describe(code))"
        }
    }
}
