import Foundation
import Synchronization
import ChannelKit

/// A WebSocket server on `127.0.0.1:<ephemeral>` for adapter tests and platform
/// simulators, built on ``LoopbackTCPServer`` and ChannelKit's RFC 6455 codec in the
/// server role.
///
/// ```swift
/// let server = try LoopbackWebSocketServer { connection in
///     while let message = try? await connection.receive() {   // answers pings, echoes close
///         try? await connection.send(message)
///     }
/// }
/// let ws = try await transport.connect(WebSocketRequest(url: server.url("/gateway")))
/// ```
///
/// ``Decision`` lets a test refuse the handshake (e.g. 401 with a JSON body) by
/// path or header. ``Connection/sendRaw(_:)`` and ``Connection/abort()`` produce
/// malformed frames and dropped connections.
public final class LoopbackWebSocketServer: Sendable {
    /// What to do with an upgrade request.
    public enum Decision: Sendable {
        /// Complete the handshake (optionally choosing a subprotocol, adding headers).
        case accept(subprotocol: String? = nil, headers: HTTPHeaders = [:])
        /// Refuse with a status, headers and body; the connection then closes.
        case reject(status: Int, headers: HTTPHeaders = [:], body: String = "")
    }

    /// Tuning for the server.
    public struct Configuration: Sendable {
        /// Largest inbound frame and message. Default 16 MiB.
        public var maximumMessageSize: Int = 16 << 20
        /// Largest handshake head. Default 64 KiB.
        public var maximumHeadSize: Int = 64 << 10
        public init() {}
    }

    private let tcp: LoopbackTCPServer
    private let accepted = TestRecorder<WebSocketUpgradeRequest>()

    /// The listening port.
    public var port: Int { tcp.port }

    /// `ws://127.0.0.1:<port><pathAndQuery>`.
    public func url(_ pathAndQuery: String = "/") -> URL {
        URL(string: "ws://127.0.0.1:\(port)\(pathAndQuery)") ?? URL(fileURLWithPath: "/")
    }

    /// Upgrade requests received so far (accepted or not), in order.
    public var upgradeRequests: [WebSocketUpgradeRequest] { accepted.all }

    /// Number of TCP connections currently open.
    public var openConnectionCount: Int { tcp.openConnectionCount }

    /// Starts listening.
    /// - Parameters:
    ///   - configuration: Limits.
    ///   - decide: Accepts or refuses each upgrade request. Default: accept all.
    ///   - handler: Runs once per accepted connection; the TCP connection closes when it
    ///     returns.
    public init(
        configuration: Configuration = Configuration(),
        decide: @escaping @Sendable (WebSocketUpgradeRequest) async -> Decision = { _ in .accept() },
        handler: @escaping @Sendable (Connection) async -> Void
    ) throws {
        let log = accepted
        tcp = try LoopbackTCPServer { tcp in
            var handshake = WebSocketServerHandshake(maxHeadSize: configuration.maximumHeadSize)
            var upgrade: WebSocketUpgradeRequest?
            do {
                while upgrade == nil {
                    let bytes = try await tcp.read(upTo: 16 << 10)
                    if bytes.isEmpty { return }
                    upgrade = try handshake.receive(bytes)
                }
            } catch {
                try? await tcp.write(WebSocketHandshake.responseBytes(status: 400, body: Array("\(error)".utf8)))
                return
            }
            guard let upgrade else { return }
            log.record(upgrade)
            switch await decide(upgrade) {
            case .reject(let status, let headers, let body):
                try? await tcp.write(WebSocketHandshake.responseBytes(status: status, headers: headers, body: Array(body.utf8)))
                tcp.shutdownWrite()
                await tcp.waitForPeerClose()
            case .accept(let subprotocol, let headers):
                do {
                    try await tcp.write(WebSocketHandshake.switchingProtocolsBytes(for: upgrade, subprotocol: subprotocol, headers: headers))
                } catch { return }
                let connection = Connection(tcp: tcp, request: upgrade, maximumMessageSize: configuration.maximumMessageSize)
                await handler(connection)
            }
        }
    }

    /// Closes the listener and every connection, and waits for the handlers to end.
    public func shutdown() async { await tcp.shutdown() }

    /// One accepted WebSocket connection, server side. Use it from one task.
    public final class Connection: Sendable {
        private struct State {
            var decoder: WebSocketEventDecoder
            var encoder = WebSocketFrameEncoder(role: .server)
            var closing = WebSocketCloseHandshake()
            var leftoverFed = false
        }

        /// The upgrade request (path, query, headers such as `Authorization`).
        public let request: WebSocketUpgradeRequest
        private let tcp: LoopbackTCPConnection
        private let state: Mutex<State>
        private let leftover: [UInt8]

        init(tcp: LoopbackTCPConnection, request: WebSocketUpgradeRequest, maximumMessageSize: Int) {
            self.tcp = tcp
            self.request = request
            self.leftover = request.leftover
            state = Mutex(State(decoder: WebSocketEventDecoder(role: .server, maxFrameSize: maximumMessageSize, maxMessageSize: maximumMessageSize)))
        }

        /// The next data message. Pings are answered with pongs; a close from the client
        /// is echoed and ends the stream (`nil`).
        /// - Throws: ``ChannelError`` `.protocolViolation` (after sending the close the
        ///   RFC requires) or a socket error.
        public func receive() async throws -> WebSocketMessage? {
            while let event = try await nextEvent() {
                if case .message(let message) = event { return message }
            }
            return nil
        }

        /// The next event of any kind (message, ping, pong, close). Pings are still
        /// answered and closes still echoed.
        public func nextEvent() async throws -> WebSocketEvent? {
            while true {
                let step: (event: WebSocketEvent?, reply: [UInt8], violation: WebSocketProtocolViolation?, needMore: Bool) = state.withLock { s in
                    if !s.leftoverFed {
                        s.leftoverFed = true
                        s.decoder.feed(leftover)
                    }
                    do throws(WebSocketProtocolViolation) {
                        guard let event = try s.decoder.nextEvent() else { return (nil, [], nil, true) }
                        var reply: [UInt8] = []
                        switch event {
                        case .ping(let payload):
                            if s.closing.canSend { try? s.encoder.encodePong(payload, into: &reply) }
                        case .close(let code, _):
                            if case .sendCloseAndDisconnect(let c, let r) = s.closing.receivedClose(code: code) {
                                s.encoder.encodeClose(code: c, reason: r, into: &reply)
                            }
                        default:
                            break
                        }
                        return (event, reply, nil, false)
                    } catch {
                        var reply: [UInt8] = []
                        if case .sendCloseAndDisconnect(let c, let r) = s.closing.fail(error) {
                            s.encoder.encodeClose(code: c, reason: r, into: &reply)
                        }
                        return (nil, reply, error, false)
                    }
                }
                if !step.reply.isEmpty { try? await tcp.write(step.reply) }
                if let violation = step.violation {
                    tcp.close()
                    throw ChannelError(.protocolViolation, violation.message, platformCode: Int(violation.closeCode.rawValue))
                }
                if let event = step.event {
                    if case .close = event { tcp.close() }
                    return event
                }
                if !step.needMore { continue }
                let bytes = try await tcp.read(upTo: 64 << 10)
                if bytes.isEmpty { return nil }
                state.withLock { $0.decoder.feed(bytes) }
            }
        }

        /// Sends a data message.
        public func send(_ message: WebSocketMessage) async throws {
            let bytes = state.withLock { s -> [UInt8] in
                var out: [UInt8] = []
                s.encoder.encode(message, into: &out)
                return out
            }
            try await tcp.write(bytes)
        }

        /// Sends a text message.
        public func send(text: String) async throws { try await send(.text(text)) }

        /// Sends a ping (its pong arrives through ``nextEvent()``).
        public func ping(_ payload: Data = Data()) async throws {
            let bytes = try state.withLock { s -> [UInt8] in
                var out: [UInt8] = []
                try s.encoder.encodePing(payload, into: &out)
                return out
            }
            try await tcp.write(bytes)
        }

        /// Starts the closing handshake; read on with ``nextEvent()`` to see the echo.
        public func close(code: WebSocketCloseCode, reason: String = "") async {
            let bytes = state.withLock { s -> [UInt8] in
                var out: [UInt8] = []
                if case .sendClose(let c, let r) = s.closing.close(code: code, reason: reason) {
                    s.encoder.encodeClose(code: c, reason: r, into: &out)
                }
                return out
            }
            if !bytes.isEmpty { try? await tcp.write(bytes) }
        }

        /// Writes raw bytes (e.g. a deliberately malformed frame).
        public func sendRaw(_ bytes: [UInt8]) async throws { try await tcp.write(bytes) }

        /// Drops the TCP connection without a close frame (the client sees 1006).
        public func abort() { tcp.abort() }
    }
}
