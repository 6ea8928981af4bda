import Foundation
import ChannelKit

extension LoopbackHTTPServer {
    /// What a route answers: a response to write, or a misbehaviour to act out
    /// (``hang``, ``dropConnection``), or a hand-over of the raw connection
    /// (``takeOver(_:)``).
    public struct Response: Sendable {
        /// How the body is framed on the wire.
        public enum Framing: Sendable, Hashable {
            /// `Content-Length`.
            case contentLength
            /// `Transfer-Encoding: chunked`, in chunks of at most `chunkSize` bytes, each
            /// written separately.
            case chunked(chunkSize: Int)
        }

        enum Action: Sendable {
            case respond
            case hang
            case drop
            case takeOver(@Sendable (LoopbackTCPConnection) async -> Void)
        }

        /// The status code. Defaults to 200.
        public var status: Int
        /// The reason phrase; `nil` uses the standard one.
        public var reason: String?
        /// Headers in order. `Content-Length`/`Transfer-Encoding` and `Connection` are
        /// added unless set here.
        public var headers: HTTPHeaders
        /// The body. Defaults to empty.
        public var body: Data
        /// Body framing. Defaults to ``Framing/contentLength``.
        public var framing: Framing
        /// Close the connection after this response. Defaults to `false` (keep-alive,
        /// unless the request asked to close).
        public var closeConnection: Bool
        var action: Action

        /// Creates a response; every parameter has the default documented on its property.
        public init(status: Int = 200, reason: String? = nil, headers: HTTPHeaders = [:], body: Data = Data(),
                    framing: Framing = .contentLength, closeConnection: Bool = false) {
            self.status = status
            self.reason = reason
            self.headers = headers
            self.body = body
            self.framing = framing
            self.closeConnection = closeConnection
            self.action = .respond
        }

        /// A `text/plain; charset=utf-8` response.
        public static func text(_ text: String, status: Int = 200, headers: HTTPHeaders = [:]) -> Response {
            var all = headers
            if !all.contains("Content-Type") { all["Content-Type"] = "text/plain; charset=utf-8" }
            return Response(status: status, headers: all, body: Data(text.utf8))
        }

        /// An `application/json` response with `json` as the body, verbatim.
        public static func json(raw json: String, status: Int = 200, headers: HTTPHeaders = [:]) -> Response {
            var all = headers
            if !all.contains("Content-Type") { all["Content-Type"] = "application/json; charset=utf-8" }
            return Response(status: status, headers: all, body: Data(json.utf8))
        }

        /// An `application/json` response with `value` encoded (sorted keys). If encoding
        /// fails the response is a 500 naming the error.
        public static func json(_ value: some Encodable, status: Int = 200, headers: HTTPHeaders = [:]) -> Response {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            do {
                var response = json(raw: "", status: status, headers: headers)
                response.body = try encoder.encode(value)
                return response
            } catch {
                return text("LoopbackHTTPServer could not encode the response: \(error)", status: 500)
            }
        }

        /// Returns a copy sent with `Transfer-Encoding: chunked`.
        /// - Parameter chunkSize: Bytes per chunk. Defaults to 1024.
        public func chunked(chunkSize: Int = 1024) -> Response {
            var copy = self
            copy.framing = .chunked(chunkSize: max(1, chunkSize))
            return copy
        }

        /// Never answer: the server keeps the connection open, reading and discarding,
        /// until the client closes it (then ``LoopbackHTTPServer/waitForConnectionClose(_:)``
        /// returns) or the server shuts down. For client timeout and cancellation tests.
        public static var hang: Response {
            var response = Response()
            response.action = .hang
            return response
        }

        /// Drop the connection abruptly (RST) without answering.
        public static var dropConnection: Response {
            var response = Response()
            response.action = .drop
            return response
        }

        /// Hand the raw connection to `body` (nothing is written first): for upgrades
        /// such as WebSocket — write the `101` yourself, then speak the new protocol.
        /// Bytes the client sent after the request are still buffered in the
        /// connection. The connection is closed when `body` returns.
        public static func takeOver(_ body: @escaping @Sendable (LoopbackTCPConnection) async -> Void) -> Response {
            var response = Response()
            response.action = .takeOver(body)
            return response
        }

        /// The standard reason phrase for `status`.
        static func standardReason(_ status: Int) -> String {
            switch status {
            case 100: "Continue"
            case 101: "Switching Protocols"
            case 200: "OK"
            case 201: "Created"
            case 202: "Accepted"
            case 204: "No Content"
            case 301: "Moved Permanently"
            case 302: "Found"
            case 304: "Not Modified"
            case 307: "Temporary Redirect"
            case 400: "Bad Request"
            case 401: "Unauthorized"
            case 403: "Forbidden"
            case 404: "Not Found"
            case 405: "Method Not Allowed"
            case 408: "Request Timeout"
            case 413: "Content Too Large"
            case 429: "Too Many Requests"
            case 431: "Request Header Fields Too Large"
            case 500: "Internal Server Error"
            case 501: "Not Implemented"
            case 502: "Bad Gateway"
            case 503: "Service Unavailable"
            case 505: "HTTP Version Not Supported"
            default: "Status \(status)"
            }
        }
    }
}
