/// Collects the body of an HTTP/1.1 response incrementally, honouring its framing
/// (RFC 9112 §6.3): no body for 1xx, 204 and 304; `Transfer-Encoding: chunked`;
/// `Content-Length`; otherwise everything until the connection closes.
///
/// Used to report the body of a refused WebSocket upgrade (a 401 or 403 usually says
/// why). Bodies are capped at `maxBodySize`: once reached, the body is complete and
/// ``isTruncated`` is set.
struct HTTPBodyReader: Sendable {
    enum Framing: Sendable, Hashable {
        case none
        case length(Int)
        case chunked
        case untilClose
    }

    private enum ChunkState: Sendable, Hashable {
        /// Reading a chunk-size line.
        case size
        /// Reading chunk data, this many bytes left.
        case data(Int)
        /// Reading the line ending after chunk data.
        case dataEnd
        /// Reading trailer lines until a blank one.
        case trailers
    }

    let framing: Framing
    let maxBodySize: Int
    /// The body so far (chunked framing removed).
    private(set) var body: [UInt8] = []
    /// `true` once the whole body (or `maxBodySize` bytes of it) was read.
    private(set) var isComplete = false
    /// `true` when the body was cut at `maxBodySize`.
    private(set) var isTruncated = false

    private var chunkState = ChunkState.size
    private var line: [UInt8] = []

    /// The longest chunk-size or trailer line accepted.
    private static let maxLineCount = 4096

    /// Chooses the framing from the status and headers.
    /// - Throws: ``ChannelError`` (``ChannelError/Code/malformedInput``) for an invalid
    ///   or conflicting `Content-Length`.
    init(status: Int, headers: HTTPHeaders, maxBodySize: Int) throws(ChannelError) {
        self.maxBodySize = max(0, maxBodySize)
        let transferCodings = WebSocketHandshake.tokens(headers, "Transfer-Encoding")
        if (100..<200).contains(status) || status == 204 || status == 304 {
            framing = .none
        } else if !transferCodings.isEmpty {
            framing = transferCodings.last?.lowercased() == "chunked" ? .chunked : .untilClose
        } else if headers.contains("Content-Length") {
            let values = Set(WebSocketHandshake.tokens(headers, "Content-Length"))
            guard values.count == 1, let text = values.first, text.utf8.count <= 18,
                  text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let length = Int(text) else {
                throw ChannelError(.malformedInput, "invalid Content-Length", location: "Content-Length")
            }
            framing = .length(length)
        } else {
            framing = .untilClose
        }
        if framing == .none || framing == .length(0) { isComplete = true }
    }

    /// Appends received bytes; returns ``isComplete``. Bytes after the end of the body
    /// are ignored.
    /// - Throws: ``ChannelError`` (``ChannelError/Code/malformedInput``) for broken chunked framing.
    mutating func feed(_ bytes: some Collection<UInt8>) throws(ChannelError) -> Bool {
        guard !isComplete else { return true }
        switch framing {
        case .none:
            isComplete = true
        case .length(let length):
            append(bytes.prefix(length - body.count))
            if body.count == length {
                isComplete = true
            } else if body.count == maxBodySize {
                isTruncated = true
                isComplete = true
            }
        case .untilClose:
            append(bytes)
        case .chunked:
            try feedChunked(Array(bytes))
        }
        return isComplete
    }

    /// Appends body bytes up to `maxBodySize`; past it, marks the body truncated and complete.
    private mutating func append(_ bytes: some Collection<UInt8>) {
        let room = maxBodySize - body.count
        if bytes.count > room {
            body.append(contentsOf: bytes.prefix(room))
            isTruncated = true
            isComplete = true
        } else {
            body.append(contentsOf: bytes)
        }
    }

    private mutating func feedChunked(_ bytes: [UInt8]) throws(ChannelError) {
        var i = 0
        while i < bytes.count && !isComplete {
            switch chunkState {
            case .data(let remaining):
                let take = min(remaining, bytes.count - i)
                append(bytes[i..<(i + take)])
                i += take
                chunkState = remaining == take ? .dataEnd : .data(remaining - take)
            case .size, .dataEnd, .trailers:
                guard let lf = bytes[i...].firstIndex(of: UInt8(ascii: "\n")) else {
                    line.append(contentsOf: bytes[i...])
                    i = bytes.count
                    if line.count > Self.maxLineCount { throw Self.malformed("chunked line too long") }
                    break
                }
                line.append(contentsOf: bytes[i..<lf])
                i = lf + 1
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                if line.count > Self.maxLineCount { throw Self.malformed("chunked line too long") }
                try endLine()
                line.removeAll(keepingCapacity: true)
            }
        }
    }

    /// Handles one complete line (without its line ending) in the chunked framing.
    private mutating func endLine() throws(ChannelError) {
        switch chunkState {
        case .size:
            let digits = line.prefix { $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }
            guard !digits.isEmpty, digits.count <= 15 else { throw Self.malformed("invalid chunk size") }
            var size = 0
            for digit in digits {
                guard let value = Self.hexValue(digit) else { throw Self.malformed("invalid chunk size") }
                size = size << 4 | value
            }
            chunkState = size == 0 ? .trailers : .data(size)
        case .dataEnd:
            guard line.isEmpty else { throw Self.malformed("chunk data not followed by a line ending") }
            chunkState = .size
        case .trailers:
            if line.isEmpty { isComplete = true }
        case .data:
            break
        }
    }

    private static func hexValue(_ b: UInt8) -> Int? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(b - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(b - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    private static func malformed(_ message: String) -> ChannelError {
        ChannelError(.malformedInput, "HTTP response body: \(message)")
    }
}
