import Foundation
import ChannelKit

/// A refusal: the status to answer with and why.
struct LoopbackHTTPParseError: Error, Sendable {
    var status: Int
    var reason: String
}

/// A parsed HTTP/1.x request head.
struct LoopbackHTTPHead: Sendable {
    enum Framing: Sendable, Equatable {
        case none
        case length(Int)
        case chunked
    }

    var method: HTTPMethod
    var target: String
    var path: String
    var query: String?
    var version: String
    var headers: HTTPHeaders
    var keepAlive: Bool
    var expectsContinue: Bool
    var framing: Framing
}

/// Strict HTTP/1.1 request parsing (RFC 9112) for the loopback server: anything it
/// does not understand is refused with a 4xx/5xx instead of guessed at.
enum LoopbackHTTPParser {
    static let crlf: [UInt8] = [13, 10]
    static let headEnd: [UInt8] = [13, 10, 13, 10]

    /// Parses a head that ends with `\r\n\r\n`.
    static func parseHead(_ data: Data, maxBodyBytes: Int) throws -> LoopbackHTTPHead {
        var bytes = [UInt8](data)
        // RFC 9112 §2.2: ignore empty lines before the request line.
        var leading = 0
        while leading + 1 < bytes.count && bytes[leading] == 13 && bytes[leading + 1] == 10 { leading += 2 }
        if leading > 0 { bytes.removeFirst(leading) }
        guard bytes.count >= 4 else { throw LoopbackHTTPParseError(status: 400, reason: "empty request") }
        bytes.removeLast(4)
        let lines = split(bytes)
        guard let requestLine = lines.first else { throw LoopbackHTTPParseError(status: 400, reason: "empty request") }
        for line in lines {
            if line.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) {
                throw LoopbackHTTPParseError(status: 400, reason: "control character in request head")
            }
        }

        // Request line: method SP target SP version.
        let parts = requestLine.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty }) else {
            throw LoopbackHTTPParseError(status: 400, reason: "malformed request line")
        }
        guard parts[0].allSatisfy(isTokenByte) else {
            throw LoopbackHTTPParseError(status: 400, reason: "invalid method")
        }
        let method = HTTPMethod(rawValue: String(decoding: parts[0], as: UTF8.self))
        let target = String(decoding: parts[1], as: UTF8.self)
        let version = String(decoding: parts[2], as: UTF8.self)
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
            let looksLikeHTTP = version.hasPrefix("HTTP/") && version.count == 8
            throw LoopbackHTTPParseError(status: looksLikeHTTP ? 505 : 400, reason: "unsupported version")
        }
        let (path, query) = try splitTarget(target, method: method)

        // Header fields.
        var headers = HTTPHeaders()
        for line in lines.dropFirst() {
            if line.first == 0x20 || line.first == 0x09 {
                throw LoopbackHTTPParseError(status: 400, reason: "obsolete line folding")
            }
            guard let colon = line.firstIndex(of: 0x3A), colon > line.startIndex else {
                throw LoopbackHTTPParseError(status: 400, reason: "malformed header line")
            }
            let name = line[line.startIndex..<colon]
            guard name.allSatisfy(isTokenByte) else {
                throw LoopbackHTTPParseError(status: 400, reason: "invalid header name")
            }
            var value = line[(colon + 1)...]
            while let first = value.first, first == 0x20 || first == 0x09 { value = value.dropFirst() }
            while let last = value.last, last == 0x20 || last == 0x09 { value = value.dropLast() }
            headers.add(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
        }
        if version == "HTTP/1.1" && headers.values(for: "Host").count != 1 {
            throw LoopbackHTTPParseError(status: 400, reason: "HTTP/1.1 request needs exactly one Host header")
        }

        // Connection management.
        let connectionTokens = tokens(headers.values(for: "Connection"))
        let keepAlive = version == "HTTP/1.1" ? !connectionTokens.contains("close") : connectionTokens.contains("keep-alive")
        let expectsContinue = tokens(headers.values(for: "Expect")).contains("100-continue")

        // Body framing (RFC 9112 §6.3).
        let transferCodings = tokens(headers.values(for: "Transfer-Encoding"))
        let lengths = headers.values(for: "Content-Length")
            .flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
        let framing: LoopbackHTTPHead.Framing
        if !transferCodings.isEmpty {
            guard lengths.isEmpty else {
                throw LoopbackHTTPParseError(status: 400, reason: "both Transfer-Encoding and Content-Length")
            }
            guard version == "HTTP/1.1" else {
                throw LoopbackHTTPParseError(status: 400, reason: "Transfer-Encoding in an HTTP/1.0 request")
            }
            guard transferCodings == ["chunked"] else {
                throw LoopbackHTTPParseError(status: 501, reason: "unsupported Transfer-Encoding")
            }
            framing = .chunked
        } else if let first = lengths.first {
            guard lengths.allSatisfy({ $0 == first }), !first.isEmpty, first.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
                throw LoopbackHTTPParseError(status: 400, reason: "invalid Content-Length")
            }
            guard let length = Int(first), length <= maxBodyBytes else {
                throw LoopbackHTTPParseError(status: 413, reason: "body larger than \(maxBodyBytes) bytes")
            }
            framing = length > 0 ? .length(length) : .none
        } else {
            framing = .none
        }
        return LoopbackHTTPHead(method: method, target: target, path: path, query: query, version: version, headers: headers,
                                keepAlive: keepAlive, expectsContinue: expectsContinue, framing: framing)
    }

    /// Reads a chunked body (RFC 9112 §7.1), trailers included and discarded.
    static func readChunkedBody(from connection: LoopbackTCPConnection, maxBodyBytes: Int, maxHeadBytes: Int) async throws -> Data {
        var body = Data()
        while true {
            guard let line = try await readLine(connection, maxBytes: 4096) else { throw LoopbackTCPError.unexpectedEndOfStream }
            let sizeField = line.split(separator: 0x3B, maxSplits: 1, omittingEmptySubsequences: false)[0]
            var digits = sizeField[...]
            while let last = digits.last, last == 0x20 || last == 0x09 { digits = digits.dropLast() }
            guard !digits.isEmpty, digits.count <= 16, digits.allSatisfy(isHexDigit),
                  let size = Int(String(decoding: digits, as: UTF8.self), radix: 16) else {
                throw LoopbackHTTPParseError(status: 400, reason: "invalid chunk size")
            }
            if size == 0 { break }
            guard body.count + size <= maxBodyBytes else {
                throw LoopbackHTTPParseError(status: 413, reason: "body larger than \(maxBodyBytes) bytes")
            }
            body.append(try await connection.read(exactly: size))
            guard try await connection.read(exactly: 2) == Data(crlf) else {
                throw LoopbackHTTPParseError(status: 400, reason: "chunk not followed by CRLF")
            }
        }
        var trailerBytes = 0
        while true {
            guard let line = try await readLine(connection, maxBytes: maxHeadBytes) else { throw LoopbackTCPError.unexpectedEndOfStream }
            if line.isEmpty { return body }
            trailerBytes += line.count + 2
            if trailerBytes > maxHeadBytes {
                throw LoopbackHTTPParseError(status: 431, reason: "trailers larger than \(maxHeadBytes) bytes")
            }
        }
    }

    /// One CRLF-terminated line without its CRLF; `nil` at a clean end of stream.
    private static func readLine(_ connection: LoopbackTCPConnection, maxBytes: Int) async throws -> [UInt8]? {
        do {
            guard let data = try await connection.read(until: crlf, maxBytes: maxBytes) else { return nil }
            return Array(data.dropLast(2))
        } catch LoopbackTCPError.limitExceeded {
            throw LoopbackHTTPParseError(status: 400, reason: "line longer than \(maxBytes) bytes")
        }
    }

    private static func splitTarget(_ target: String, method: HTTPMethod) throws -> (path: String, query: String?) {
        var rest = Substring(target)
        if target == "*" {
            guard method.rawValue == "OPTIONS" else { throw LoopbackHTTPParseError(status: 400, reason: "invalid request target") }
            return ("*", nil)
        }
        if !target.hasPrefix("/") {
            // absolute-form: scheme://authority/path?query
            guard let schemeEnd = target.range(of: "://") else {
                throw LoopbackHTTPParseError(status: 400, reason: "invalid request target")
            }
            let afterAuthority = target[schemeEnd.upperBound...]
            rest = afterAuthority.firstIndex(where: { $0 == "/" || $0 == "?" }).map { afterAuthority[$0...] } ?? "/"
            if rest.first == "?" { rest = "/" + rest }
        }
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        if let mark = rest.firstIndex(of: "?") {
            return (String(rest[..<mark]), String(rest[rest.index(after: mark)...]))
        }
        return (String(rest), nil)
    }

    /// Splits at CRLF; a bare CR or LF inside a line is refused.
    private static func split(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        var i = 0
        while i + 1 < bytes.count {
            if bytes[i] == 13 && bytes[i + 1] == 10 {
                lines.append(bytes[start..<i])
                i += 2
                start = i
            } else {
                i += 1
            }
        }
        lines.append(bytes[start..<bytes.count])
        return lines
    }

    /// Lower-cased, comma-separated tokens of header values.
    private static func tokens(_ values: [String]) -> [String] {
        values.flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            .filter { !$0.isEmpty }
    }

    /// RFC 9110 `tchar`.
    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(b)
        }
    }

    private static func isHexDigit(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || (b >= 65 && b <= 70) || (b >= 97 && b <= 102)
    }
}
