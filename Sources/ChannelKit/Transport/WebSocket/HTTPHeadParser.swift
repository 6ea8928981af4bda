/// Reads an HTTP/1.1 message head incrementally: feed bytes as they arrive; it returns
/// `nil` until the blank line ending the head has been received.
///
/// - Lines end in CRLF; a bare LF is accepted too (RFC 9112 §2.2).
/// - Folded continuation lines (obs-fold, a line starting with a space or tab) are
///   joined to the previous field's value with one space (RFC 9112 §5.2).
/// - A field name with whitespace before the colon, an empty name, or a fold with no
///   field to continue is malformed.
/// - The head (with any blank lines before it) may be at most `maxHeadSize` bytes; more
///   is malformed input (bytes after the head do not count).
struct HTTPHeadParser: Sendable {
    /// The largest head accepted, in bytes.
    let maxHeadSize: Int
    private var buffer: [UInt8] = []
    /// Where the head starts (after blank lines skipped before the start line).
    private var headStart = 0
    /// Where the current (unterminated) line starts.
    private var lineStart = 0
    /// Where scanning for the next LF resumes.
    private var scanIndex = 0

    /// The default ``maxHeadSize``: 64 KiB.
    static let defaultMaxHeadSize = 64 << 10

    init(maxHeadSize: Int = HTTPHeadParser.defaultMaxHeadSize) {
        self.maxHeadSize = max(0, maxHeadSize)
    }

    /// Appends bytes; returns the head once complete (call no more after that).
    /// - Throws: ``ChannelError`` with code ``ChannelError/Code/malformedInput`` when
    ///   the head is too large or malformed.
    mutating func feed(_ bytes: some Collection<UInt8>) throws(ChannelError) -> HTTPHead? {
        buffer.append(contentsOf: bytes)
        while let lf = buffer[scanIndex...].firstIndex(of: UInt8(ascii: "\n")) {
            if lf + 1 > maxHeadSize { throw tooLarge() }
            var lineEnd = lf
            if lineEnd > lineStart && buffer[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
            scanIndex = lf + 1
            if lineEnd == lineStart {
                if lineStart > headStart {
                    return try Self.parse(buffer[headStart..<lineStart], leftover: Array(buffer[(lf + 1)...]))
                }
                // Blank lines before the start line are ignored (RFC 9112 §2.2).
                headStart = lf + 1
            }
            lineStart = lf + 1
        }
        scanIndex = buffer.count
        if buffer.count > maxHeadSize { throw tooLarge() }
        return nil
    }

    private func tooLarge() -> ChannelError {
        ChannelError(.malformedInput, "HTTP head exceeds \(maxHeadSize) bytes")
    }

    /// Splits a complete head (start line and field lines, without the blank line).
    private static func parse(_ head: ArraySlice<UInt8>, leftover: [UInt8]) throws(ChannelError) -> HTTPHead {
        var lines = head.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line -> ArraySlice<UInt8> in
            line.last == UInt8(ascii: "\r") ? line.dropLast() : line
        }
        if lines.last?.isEmpty == true { lines.removeLast() }
        guard let first = lines.first else { throw ChannelError(.malformedInput, "HTTP head has no start line") }
        var fields: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let lead = line.first else { continue }
            if lead == UInt8(ascii: " ") || lead == UInt8(ascii: "\t") {
                guard let last = fields.indices.last else {
                    throw ChannelError(.malformedInput, "HTTP head starts its fields with a continuation line")
                }
                let more = trimmed(line)
                if !more.isEmpty {
                    fields[last].value += (fields[last].value.isEmpty ? "" : " ") + String(decoding: more, as: UTF8.self)
                }
                continue
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
                throw ChannelError(.malformedInput, "HTTP header line without a colon")
            }
            let name = line[line.startIndex..<colon]
            guard !name.isEmpty, name.allSatisfy(isTokenByte) else {
                throw ChannelError(.malformedInput, "HTTP header with an invalid field name")
            }
            let value = trimmed(line[(colon + 1)...])
            fields.append((name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self)))
        }
        return HTTPHead(startLine: String(decoding: first, as: UTF8.self), headers: HTTPHeaders(fields), leftover: leftover)
    }

    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var slice = bytes
        while let b = slice.first, b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") { slice = slice.dropFirst() }
        while let b = slice.last, b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") { slice = slice.dropLast() }
        return slice
    }

    /// RFC 9110 §5.6.2 `tchar`.
    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }
}
