#if os(Linux)
import Foundation
import Synchronization

/// The default ``WebSocketTransport`` on Linux.
///
/// `URLSessionWebSocketTask` fails on mainstream Linux distributions ("WebSockets not
/// supported by libcurl"), so this transport drives the same `libcurl.so.4` that
/// FoundationNetworking loads, in `CURLOPT_CONNECT_ONLY` mode: curl does DNS, proxy, TCP
/// and TLS (system CA store, or ``Configuration/caFile``); ChannelKit does the HTTP/1.1
/// Upgrade and RFC 6455 framing. All connections share one epoll thread.
///
/// The blocking part of connecting (DNS, TCP, TLS, the upgrade exchange) runs on
/// ChannelKit's own worker threads, never on Swift's cooperative pool or Dispatch's
/// global queues (which share threads on Linux).
public final class CurlWebSocketTransport: WebSocketTransport {
    /// Tuning for ``CurlWebSocketTransport``.
    public struct Configuration: Sendable {
        /// Deadline for DNS + TCP + TLS + the upgrade exchange. Default 30 s.
        public var connectTimeout: Duration
        /// How long ``WebSocketConnection/close(code:reason:)`` waits for the peer's
        /// close frame. Default 5 s.
        public var closeTimeout: Duration
        /// Largest inbound message (after joining fragments), in bytes. Default 16 MiB.
        public var maximumMessageSize: Int
        /// Largest inbound frame, in bytes. Default 16 MiB.
        public var maximumFrameSize: Int
        /// A PEM file of CA certificates to trust instead of the system store (tests
        /// with a self-signed certificate). Default `nil`.
        public var caFile: String?
        /// Verify the server certificate and host name. Default `true`; turning it off is
        /// for tests only.
        public var verifyPeer: Bool
        /// An HTTP proxy URL (`http://host:port`), tunnelled with CONNECT. Default `nil`
        /// (curl still honours the usual proxy environment variables).
        public var proxy: String?
        /// Clock for the close timeout. Default ``TimeSource/system``.
        public var time: TimeSource
        /// Default ``ChannelLogger/disabled``.
        public var logger: ChannelLogger

        /// Creates a configuration; every parameter has a default.
        public init(
            connectTimeout: Duration = .seconds(30),
            closeTimeout: Duration = .seconds(5),
            maximumMessageSize: Int = 16 << 20,
            maximumFrameSize: Int = 16 << 20,
            caFile: String? = nil,
            verifyPeer: Bool = true,
            proxy: String? = nil,
            time: TimeSource = .system,
            logger: ChannelLogger = .disabled
        ) {
            self.connectTimeout = connectTimeout
            self.closeTimeout = closeTimeout
            self.maximumMessageSize = maximumMessageSize
            self.maximumFrameSize = maximumFrameSize
            self.caFile = caFile
            self.verifyPeer = verifyPeer
            self.proxy = proxy
            self.time = time
            self.logger = logger
        }
    }

    /// The configuration.
    public let configuration: Configuration
    private let loop: SocketEventLoop

    /// Creates a transport on the process-wide event loop.
    public convenience init(configuration: Configuration = .init()) {
        self.init(configuration: configuration, loop: .shared)
    }

    init(configuration: Configuration, loop: SocketEventLoop) {
        self.configuration = configuration
        self.loop = loop
    }

    /// Set by the caller's cancellation handler, polled by the connecting thread.
    private final class CancelFlag: Sendable {
        private let flag = Atomic<Bool>(false)
        func set() { flag.store(true, ordering: .relaxed) }
        var isSet: Bool { flag.load(ordering: .relaxed) }
    }

    /// A handed-over connect result (the handle moves from the worker thread to the
    /// caller exactly once).
    private struct Connected: @unchecked Sendable {
        let easy: CurlEasy
        let socket: Int32
        let response: HTTPResponse
        let leftover: [UInt8]
    }

    public func connect(_ request: WebSocketRequest) async throws -> any WebSocketConnection {
        let cancelled = CancelFlag()
        let configuration = self.configuration
        let connected: Connected = try await withTaskCancellationHandler {
            try await BlockingWorkerPool.shared.run { try Self.blockingConnect(request, configuration, cancelled) }
        } onCancel: {
            cancelled.set()
        }
        let connection = CurlWebSocketConnection(easy: connected.easy, handshakeResponse: connected.response, loop: loop, configuration: configuration)
        try connection.start(socket: connected.socket, leftover: connected.leftover)
        if Task.isCancelled {
            await connection.close(code: .goingAway, reason: "")
            throw ChannelError(.cancelled, "WebSocket connect cancelled")
        }
        configuration.logger.debug("WebSocket connected to \(request.url.absoluteString)", source: "CurlWebSocketTransport")
        return connection
    }

    // MARK: Blocking connect (worker thread)

    private static func blockingConnect(_ request: WebSocketRequest, _ configuration: Configuration, _ cancelled: CancelFlag) throws -> Connected {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: configuration.connectTimeout)
        let where_ = Redactor.redact(request.url.absoluteString)
        guard var components = URLComponents(url: request.url, resolvingAgainstBaseURL: false),
              let scheme = components.scheme?.lowercased() else {
            throw ChannelError(.invalidConfiguration, "not a WebSocket URL", location: where_)
        }
        switch scheme {
        case "ws", "http": components.scheme = "http"
        case "wss", "https": components.scheme = "https"
        default: throw ChannelError(.invalidConfiguration, "unsupported URL scheme '\(scheme)'", location: where_)
        }
        guard let curlURL = components.string else { throw ChannelError(.invalidConfiguration, "not a WebSocket URL", location: where_) }
        var handshake = try WebSocketClientHandshake(url: request.url, headers: request.headers, subprotocols: request.subprotocols)

        let easy = try CurlEasy()
        try easy.set(CurlEasy.Option.url, curlURL)
        try easy.set(CurlEasy.Option.connectOnly, 1)
        try easy.set(CurlEasy.Option.noSignal, 1)
        try easy.set(CurlEasy.Option.tcpNoDelay, 1)
        try easy.set(CurlEasy.Option.connectTimeoutMS, max(1, Int(configuration.connectTimeout.seconds * 1000)))
        try easy.set(CurlEasy.Option.httpVersion, 2)          // CURL_HTTP_VERSION_1_1
        try easy.set(CurlEasy.Option.sslEnableALPN, 0)        // never let TLS pick h2
        if let caFile = configuration.caFile { try easy.set(CurlEasy.Option.caInfo, caFile) }
        if !configuration.verifyPeer {
            try easy.set(CurlEasy.Option.sslVerifyPeer, 0)
            try easy.set(CurlEasy.Option.sslVerifyHost, 0)
        }
        if let proxy = configuration.proxy {
            try easy.set(CurlEasy.Option.proxy, proxy)
            try easy.set(CurlEasy.Option.httpProxyTunnel, 1)
        }
        let rc = easy.perform()
        if rc != 0 {
            throw ChannelError(.transport, "cannot connect: \(CurlEasy.describe(rc))", location: where_, platformCode: Int(rc))
        }
        guard let fd = easy.activeSocket else { throw ChannelError(.transport, "curl reported no socket", location: where_) }

        func checkTime() throws {
            if cancelled.isSet { throw ChannelError(.cancelled, "WebSocket connect cancelled", location: where_) }
            if clock.now >= deadline { throw ChannelError(.timeout, "WebSocket handshake timed out after \(configuration.connectTimeout)", location: where_) }
        }
        func waitFor(_ events: Int16) throws {
            try checkTime()
            var pfd = pollfd(fd: fd, events: events, revents: 0)
            let left = clock.now.duration(to: deadline)
            let slice = min(100, max(1, Int32(left.seconds * 1000)))
            _ = poll(&pfd, 1, slice)
        }

        // Send the upgrade request.
        let requestBytes = handshake.requestBytes
        var offset = 0
        try requestBytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            while offset < raw.count {
                switch easy.send(base + offset, raw.count - offset) {
                case .done(let n): offset += n
                case .wouldBlock: try waitFor(Int16(POLLOUT))
                case .failed(let rc): throw ChannelError(.transport, "sending the upgrade request failed: \(CurlEasy.describe(rc))", location: where_)
                }
            }
        }

        // Read the response head (and a refusal's body).
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let result = buffer.withUnsafeMutableBytes { easy.recv($0.baseAddress!, $0.count) }
            switch result {
            case .done(0):
                throw handshake.failureAtEndOfStream()
            case .done(let n):
                switch try handshake.receive(buffer[0..<n]) {
                case .needMoreBytes:
                    continue
                case .upgraded(let upgrade):
                    return Connected(easy: easy, socket: fd, response: HTTPResponse(status: 101, headers: upgrade.headers), leftover: upgrade.leftover)
                }
            case .wouldBlock:
                try waitFor(Int16(POLLIN))
            case .failed(let rc):
                throw ChannelError(.transport, "reading the upgrade response failed: \(CurlEasy.describe(rc))", location: where_)
            }
        }
    }
}
#endif

/// The platform's default ``WebSocketTransport``: ``CurlWebSocketTransport`` on Linux,
/// `URLSessionWebSocketTask` on Apple platforms.
public func makeDefaultWebSocketTransport() -> any WebSocketTransport {
    #if os(Linux)
    CurlWebSocketTransport()
    #elseif canImport(Darwin)
    URLSessionWebSocketTransport()
    #else
    fatalError("ChannelKit has no WebSocket transport for this platform")
    #endif
}
