import Foundation
import Synchronization
import ChannelKit

/// An HTTP/1.1 server on `127.0.0.1` with an ephemeral port, for testing HTTP clients
/// against a real peer: real sockets, keep-alive, chunked bodies both ways, and
/// misbehaviours on demand.
///
/// ```swift
/// let server = try LoopbackHTTPServer()
/// server.route(.post, "/app/getAppAccessToken") { request in
///     .json(raw: #"{"access_token":"t1","expires_in":"7200"}"#)
/// }
/// server.route(.get, "/slow") { _ in .hang }          // never answers
/// let transport = URLSessionHTTPTransport()
/// let response = try await transport.send(.init(method: .post, url: server.url("/app/getAppAccessToken")))
/// #expect(server.requests.count == 1)
/// await server.shutdown()
/// ```
///
/// - Keep-alive: many requests per connection (pipelined ones too), answered in order;
///   ``Request/connectionID`` and ``Request/indexOnConnection`` show the reuse.
/// - Request bodies with `Content-Length` or `Transfer-Encoding: chunked`;
///   `Expect: 100-continue` is honoured. Responses use either framing (``Response/framing``).
/// - Malformed requests are answered with 400 (431 for an oversized head, 413 for an
///   oversized body, 501 for an unknown transfer coding, 505 for another HTTP version)
///   and the connection is closed; they are listed in ``rejections``. The server never
///   crashes on input.
/// - Every request that reached a handler is recorded in ``requests``, in arrival order.
///
/// Built on ``LoopbackTCPServer``. Call ``shutdown()`` when done; it waits for every
/// connection and handler, so handlers must not wait on something that never ends
/// (``Response/hang`` is fine: it ends when the connection closes).
public final class LoopbackHTTPServer: Sendable {
    /// A route handler: gets the request, returns what to do.
    public typealias Handler = @Sendable (Request) async -> Response

    /// Limits of a server.
    public struct Configuration: Sendable {
        /// The largest request head (request line + headers), in bytes; larger heads are
        /// answered with 431. Defaults to 16 KiB.
        public var maximumHeadSize: Int
        /// The largest request body, in bytes; larger bodies are answered with 413.
        /// Defaults to 32 MiB.
        public var maximumBodySize: Int
        /// Settings of the underlying TCP server.
        public var tcp: LoopbackTCPServer.Configuration

        /// Creates a configuration; every parameter has the default documented on its
        /// property.
        public init(maximumHeadSize: Int = 16 * 1024, maximumBodySize: Int = 32 * 1024 * 1024,
                    tcp: LoopbackTCPServer.Configuration = LoopbackTCPServer.Configuration(threadName: "LoopbackHTTPServer")) {
            self.maximumHeadSize = maximumHeadSize
            self.maximumBodySize = maximumBodySize
            self.tcp = tcp
        }
    }

    private let core: Core
    private let tcp: LoopbackTCPServer
    /// `http://127.0.0.1:<port>` (no trailing slash).
    public let baseURL: URL

    /// Starts listening on `127.0.0.1:0`.
    /// - Parameter configuration: Limits. Defaults to ``Configuration/init(maximumHeadSize:maximumBodySize:tcp:)``.
    /// - Throws: ``LoopbackTCPError`` if the socket cannot be set up.
    public init(configuration: Configuration = Configuration()) throws {
        let core = Core(configuration: configuration)
        let tcp = try LoopbackTCPServer(configuration: configuration.tcp) { connection in
            await core.serve(connection)
        }
        guard let baseURL = URL(string: "http://127.0.0.1:\(tcp.port)") else {
            shutDownDetached(tcp)
            throw LoopbackTCPError.system(operation: "url", errno: 0)
        }
        self.core = core
        self.tcp = tcp
        self.baseURL = baseURL
    }

    /// The port the server listens on.
    public var port: Int { tcp.port }

    /// `baseURL` + `pathAndQuery`, e.g. `server.url("/v1/send?x=1")`.
    /// - Precondition: `pathAndQuery` starts with `/` and forms a valid URL.
    public func url(_ pathAndQuery: String) -> URL {
        guard pathAndQuery.hasPrefix("/"), let url = URL(string: baseURL.absoluteString + pathAndQuery) else {
            preconditionFailure("LoopbackHTTPServer.url: not an absolute path: \(pathAndQuery)")
        }
        return url
    }

    // MARK: Routes

    /// Answers requests whose path equals `path` (and whose method is `method`; `nil`
    /// matches any method). Exact routes beat prefix routes; among equals, the most
    /// recently added wins, so a test can override a route.
    public func route(_ method: HTTPMethod?, _ path: String, handler: @escaping Handler) {
        core.addRoute(method: method, path: path, isPrefix: false, handler: handler)
    }

    /// Answers requests whose path starts with `prefix`; the longest matching prefix wins.
    public func route(_ method: HTTPMethod?, prefix: String, handler: @escaping Handler) {
        core.addRoute(method: method, path: prefix, isPrefix: true, handler: handler)
    }

    /// Answers requests that match no route. The default answers 404.
    public func fallback(_ handler: @escaping Handler) {
        core.setFallback(handler)
    }

    // MARK: Recording

    /// Every request that reached a handler, in arrival order.
    public var requests: [Request] { core.recorded.requests }

    /// Requests refused before any handler saw them.
    public var rejections: [Rejection] { core.recorded.rejections }

    /// Connections whose serving has ended (client closed, dropped, or refused).
    public var closedConnectionIDs: Set<Int> { core.recorded.closed }

    /// Connections open right now.
    public var openConnectionCount: Int { tcp.openConnectionCount }

    /// Connections accepted since start.
    public var acceptedConnectionCount: Int { tcp.acceptedConnectionCount }

    /// Waits until at least `count` requests have been recorded and returns them all.
    /// Returns early (with what was recorded) if the server shuts down.
    @discardableResult
    public func waitForRequests(_ count: Int) async -> [Request] {
        await core.waitForRequests(count)
    }

    /// Waits until the connection `connectionID` is closed (by the client, by a
    /// ``Response/dropConnection``, or by the server shutting down).
    public func waitForConnectionClose(_ connectionID: Int) async {
        await core.waitForClose(connectionID)
    }

    /// Closes the listener and every connection, waits for every handler, and releases
    /// every waiter. Idempotent.
    public func shutdown() async {
        await tcp.shutdown()
        core.finish()
    }
}

/// Shuts a server down from a synchronous context (used only on a failed init).
private func shutDownDetached(_ tcp: LoopbackTCPServer) {
    Task { await tcp.shutdown() }
}

extension LoopbackHTTPServer {
    /// Routes, recording and the per-connection protocol loop.
    final class Core: Sendable {
        struct Route: Sendable {
            let method: HTTPMethod?
            let path: String
            let isPrefix: Bool
            let handler: Handler
        }

        struct Recorded: Sendable {
            var requests: [Request] = []
            var rejections: [Rejection] = []
            var closed: Set<Int> = []
        }

        private struct State {
            var routes: [Route] = []
            var fallback: Handler?
            var recorded = Recorded()
            var finished = false
            var requestWaiters: [(count: Int, continuation: CheckedContinuation<[Request], Never>)] = []
            var closeWaiters: [(id: Int, continuation: CheckedContinuation<Void, Never>)] = []
        }

        let configuration: Configuration
        private let state = Mutex(State())

        init(configuration: Configuration) { self.configuration = configuration }

        var recorded: Recorded { state.withLock { $0.recorded } }

        func addRoute(method: HTTPMethod?, path: String, isPrefix: Bool, handler: @escaping Handler) {
            state.withLock { $0.routes.append(Route(method: method, path: path, isPrefix: isPrefix, handler: handler)) }
        }

        func setFallback(_ handler: @escaping Handler) {
            state.withLock { $0.fallback = handler }
        }

        func handler(for method: HTTPMethod, path: String) -> Handler {
            state.withLock { s in
                let candidates = s.routes.enumerated().filter { _, route in
                    (route.method == nil || route.method == method) && (route.isPrefix ? path.hasPrefix(route.path) : path == route.path)
                }
                let best = candidates.max { a, b in
                    let ka = (a.element.isPrefix ? 0 : 1, a.element.path.count, a.offset)
                    let kb = (b.element.isPrefix ? 0 : 1, b.element.path.count, b.offset)
                    return ka < kb
                }
                return best?.element.handler ?? s.fallback ?? { request in
                    .text("no route for \(request.method) \(request.path)\n", status: 404)
                }
            }
        }

        func waitForRequests(_ count: Int) async -> [Request] {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { s -> [Request]? in
                    if s.recorded.requests.count >= count || s.finished { return s.recorded.requests }
                    s.requestWaiters.append((count, continuation))
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }

        func waitForClose(_ id: Int) async {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { s -> Bool in
                    if s.recorded.closed.contains(id) || s.finished { return true }
                    s.closeWaiters.append((id, continuation))
                    return false
                }
                if ready { continuation.resume() }
            }
        }

        /// Records a request, numbering it; returns the numbered copy.
        func record(_ request: Request) -> Request {
            let (numbered, wake) = state.withLock { s -> (Request, [(CheckedContinuation<[Request], Never>, [Request])]) in
                var numbered = request
                numbered.sequence = s.recorded.requests.count
                s.recorded.requests.append(numbered)
                let all = s.recorded.requests
                var wake: [(CheckedContinuation<[Request], Never>, [Request])] = []
                s.requestWaiters.removeAll { waiter in
                    guard all.count >= waiter.count else { return false }
                    wake.append((waiter.continuation, all))
                    return true
                }
                return (numbered, wake)
            }
            for (continuation, all) in wake { continuation.resume(returning: all) }
            return numbered
        }

        func reject(_ connectionID: Int, status: Int, reason: String) {
            state.withLock { $0.recorded.rejections.append(Rejection(connectionID: connectionID, status: status, reason: reason)) }
        }

        func closed(_ connectionID: Int) {
            let wake = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                s.recorded.closed.insert(connectionID)
                var wake: [CheckedContinuation<Void, Never>] = []
                s.closeWaiters.removeAll { waiter in
                    guard waiter.id == connectionID else { return false }
                    wake.append(waiter.continuation)
                    return true
                }
                return wake
            }
            for continuation in wake { continuation.resume() }
        }

        /// Releases every waiter (server shut down).
        func finish() {
            let (requestWaiters, closeWaiters, all) = state.withLock { s in
                s.finished = true
                defer {
                    s.requestWaiters = []
                    s.closeWaiters = []
                }
                return (s.requestWaiters, s.closeWaiters, s.recorded.requests)
            }
            for waiter in requestWaiters { waiter.continuation.resume(returning: all) }
            for waiter in closeWaiters { waiter.continuation.resume() }
        }

        // MARK: Protocol loop

        /// Serves one connection until it closes, a response asks to close, or a
        /// request is refused.
        func serve(_ connection: LoopbackTCPConnection) async {
            defer { closed(connection.id) }
            var index = 0
            while !Task.isCancelled {
                let head: LoopbackHTTPHead
                let body: Data
                do {
                    guard let headBytes = try await connection.read(until: LoopbackHTTPParser.headEnd, maxBytes: configuration.maximumHeadSize) else {
                        return // the client closed between requests
                    }
                    head = try LoopbackHTTPParser.parseHead(headBytes, maxBodyBytes: configuration.maximumBodySize)
                    if head.expectsContinue && head.framing != .none && head.version == "HTTP/1.1" {
                        try await connection.write("HTTP/1.1 100 Continue\r\n\r\n")
                    }
                    switch head.framing {
                    case .none:
                        body = Data()
                    case .length(let length):
                        body = try await connection.read(exactly: length)
                    case .chunked:
                        body = try await LoopbackHTTPParser.readChunkedBody(
                            from: connection, maxBodyBytes: configuration.maximumBodySize, maxHeadBytes: configuration.maximumHeadSize)
                    }
                } catch let error as LoopbackHTTPParseError {
                    await refuse(connection, status: error.status, reason: error.reason)
                    return
                } catch LoopbackTCPError.limitExceeded {
                    await refuse(connection, status: 431, reason: "request head larger than \(configuration.maximumHeadSize) bytes")
                    return
                } catch {
                    return // end of stream mid-request, reset, closed, cancelled
                }

                let request = record(Request(
                    sequence: 0, connectionID: connection.id, indexOnConnection: index, method: head.method, target: head.target,
                    path: head.path, query: head.query, version: head.version, headers: head.headers, body: body,
                    wasChunked: head.framing == .chunked))
                index += 1
                let response = await handler(for: head.method, path: head.path)(request)

                switch response.action {
                case .respond:
                    let close = response.closeConnection || !head.keepAlive
                    do {
                        try await write(response, for: head, close: close, on: connection)
                    } catch {
                        return
                    }
                    if close {
                        connection.shutdownWrite()
                        await connection.waitForPeerClose()
                        return
                    }
                case .hang:
                    await connection.waitForPeerClose()
                    return
                case .drop:
                    connection.abort()
                    return
                case .takeOver(let body):
                    await body(connection)
                    return
                }
            }
        }

        /// Answers `status` with `Connection: close`, half-closes, and waits for the
        /// client to close so the answer is not lost to a reset.
        private func refuse(_ connection: LoopbackTCPConnection, status: Int, reason: String) async {
            reject(connection.id, status: status, reason: reason)
            let text = "\(reason)\n"
            let head = "HTTP/1.1 \(status) \(Response.standardReason(status))\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + "Content-Length: \(text.utf8.count)\r\nConnection: close\r\n\r\n"
            try? await connection.write(head + text)
            connection.shutdownWrite()
            await connection.waitForPeerClose()
        }

        private func write(_ response: Response, for head: LoopbackHTTPHead, close: Bool, on connection: LoopbackTCPConnection) async throws {
            let status = response.status
            let bodyAllowed = !(100..<200).contains(status) && status != 204 && status != 304
            let sendBody = bodyAllowed && head.method != .head
            var headers = response.headers
            var chunkSize: Int?
            if case .chunked(let size) = response.framing, bodyAllowed, head.version == "HTTP/1.1" {
                chunkSize = size
                if !headers.contains("Transfer-Encoding") { headers["Transfer-Encoding"] = "chunked" }
            } else if bodyAllowed && !headers.contains("Content-Length") {
                headers["Content-Length"] = String(response.body.count)
            }
            if close && !headers.contains("Connection") { headers["Connection"] = "close" }
            if !close && head.version == "HTTP/1.0" && !headers.contains("Connection") { headers["Connection"] = "keep-alive" }

            var text = "HTTP/1.1 \(status) \(response.reason ?? Response.standardReason(status))\r\n"
            for (name, value) in headers { text += "\(name): \(value)\r\n" }
            text += "\r\n"
            var out = Data(text.utf8)
            guard sendBody else {
                try await connection.write(out)
                return
            }
            guard let chunkSize else {
                out.append(response.body)
                try await connection.write(out)
                return
            }
            try await connection.write(out)
            var offset = 0
            while offset < response.body.count {
                let end = min(offset + chunkSize, response.body.count)
                var chunk = Data((String(end - offset, radix: 16) + "\r\n").utf8)
                chunk.append(response.body[(response.body.startIndex + offset)..<(response.body.startIndex + end)])
                chunk.append(contentsOf: LoopbackHTTPParser.crlf)
                try await connection.write(chunk)
                offset = end
            }
            try await connection.write("0\r\n\r\n")
        }
    }
}
