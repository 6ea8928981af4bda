/// An HTTP/1.1 message head as read off the wire: the start line, the header fields and
/// the bytes that followed the head (for a WebSocket upgrade, the first frames).
struct HTTPHead: Sendable, Hashable {
    /// The request line or status line, without its line ending.
    var startLine: String
    /// The header fields in order; folded (obs-fold) lines are joined with one space.
    var headers: HTTPHeaders
    /// Bytes received after the blank line that ends the head.
    var leftover: [UInt8]

    /// Parses a status line `HTTP/1.1 101 Switching Protocols` into version, status and
    /// reason (which may be empty); `nil` if it is not one.
    static func parseStatusLine(_ line: String) -> (version: String, status: Int, reason: String)? {
        let utf8 = Array(line.utf8)
        guard let space = utf8.firstIndex(of: UInt8(ascii: " ")) else { return nil }
        let version = String(decoding: utf8[..<space], as: UTF8.self)
        guard version.hasPrefix("HTTP/1.") else { return nil }
        let digits = utf8[(space + 1)...].prefix(3)
        guard digits.count == 3, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        let status = digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        let rest = utf8[(space + 4)...]
        if let next = rest.first, next != UInt8(ascii: " ") { return nil }
        let reason = String(decoding: rest.dropFirst(), as: UTF8.self)
        return (version, status, reason)
    }

    /// Parses a request line `GET /chat?x=1 HTTP/1.1` into method, target and version;
    /// `nil` if it is not one.
    static func parseRequestLine(_ line: String) -> (method: String, target: String, version: String)? {
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty, parts[2].hasPrefix("HTTP/") else { return nil }
        return (String(parts[0]), String(parts[1]), String(parts[2]))
    }
}
