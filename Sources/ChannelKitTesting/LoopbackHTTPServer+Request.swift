import Foundation
import ChannelKit

extension LoopbackHTTPServer {
    /// A request as the server received it, in the order it arrived.
    public struct Request: Sendable, CustomStringConvertible {
        /// Arrival order across the whole server, from 0.
        public var sequence: Int
        /// The connection it came on (``LoopbackTCPConnection/id``, from 1 in accept order).
        public var connectionID: Int
        /// Its position on that connection, from 0 (`> 0` means keep-alive reuse).
        public var indexOnConnection: Int
        /// The method, e.g. `.post`.
        public var method: HTTPMethod
        /// The request target exactly as sent (`/path?query`).
        public var target: String
        /// The path, without the query, as sent (percent-encoding kept).
        public var path: String
        /// The raw query (after `?`), or `nil`.
        public var query: String?
        /// `HTTP/1.1` or `HTTP/1.0`.
        public var version: String
        /// The header fields in order.
        public var headers: HTTPHeaders
        /// The body (de-chunked when it was sent chunked).
        public var body: Data
        /// `true` when the body came with `Transfer-Encoding: chunked`.
        public var wasChunked: Bool

        /// The query as name/value pairs, percent-decoded (`+` is kept as is).
        public var queryItems: [(name: String, value: String)] {
            guard let query, !query.isEmpty else { return [] }
            return query.split(separator: "&").map { item in
                let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(parts[0])
                let value = parts.count > 1 ? String(parts[1]) : ""
                return (name.removingPercentEncoding ?? name, value.removingPercentEncoding ?? value)
            }
        }

        /// The first query value named `name`, percent-decoded.
        public func queryValue(_ name: String) -> String? {
            queryItems.first { $0.name == name }?.value
        }

        /// The body as UTF-8 text (lossy).
        public var text: String { String(decoding: body, as: UTF8.self) }

        /// Decodes the body as JSON.
        /// - Throws: the decoder's error.
        public func decodeJSON<T: Decodable>(_ type: T.Type = T.self, decoder: JSONDecoder = JSONDecoder()) throws -> T {
            try decoder.decode(T.self, from: body)
        }

        /// `#seq METHOD target (connection/index)` with headers redacted and the body size.
        public var description: String {
            "#\(sequence) \(method) \(Redactor.redact(target)) (connection \(connectionID)/\(indexOnConnection)) headers: \(headers) body: \(body.count) bytes"
        }
    }

    /// A request the server refused before any handler saw it (malformed, too large).
    public struct Rejection: Sendable, CustomStringConvertible {
        /// The connection it came on.
        public var connectionID: Int
        /// The status sent back, e.g. `400` or `431`.
        public var status: Int
        /// What was wrong.
        public var reason: String

        public var description: String { "connection \(connectionID): \(status) \(reason)" }
    }
}
