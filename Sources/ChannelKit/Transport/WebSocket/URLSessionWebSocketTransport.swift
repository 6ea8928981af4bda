#if canImport(Darwin)
import Foundation
import Synchronization

/// The default ``WebSocketTransport`` on Apple platforms: `URLSessionWebSocketTask`.
///
/// One `URLSession` per transport instance; create one transport per account (or per
/// client) so connections never share state across accounts.
public final class URLSessionWebSocketTransport: WebSocketTransport {
    /// Tuning for the Apple transport.
    public struct Configuration: Sendable {
        /// Handshake deadline. Default 30 s.
        public var connectTimeout: Duration = .seconds(30)
        /// Largest inbound message. Default 16 MiB.
        public var maximumMessageSize: Int = 16 << 20
        /// Close-handshake deadline. Default 5 s.
        public var closeTimeout: Duration = .seconds(5)
        public init() {}
    }

    public let configuration: Configuration
    private let delegate = SessionDelegate()
    private let session: URLSession

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
        let c = URLSessionConfiguration.ephemeral
        c.timeoutIntervalForRequest = configuration.connectTimeout.seconds
        session = URLSession(configuration: c, delegate: delegate, delegateQueue: nil)
    }

    deinit { session.invalidateAndCancel() }

    public func connect(_ request: WebSocketRequest) async throws -> any WebSocketConnection {
        var urlRequest = URLRequest(url: request.url)
        for field in request.headers { urlRequest.addValue(field.value, forHTTPHeaderField: field.name) }
        if !request.subprotocols.isEmpty {
            urlRequest.setValue(request.subprotocols.joined(separator: ", "), forHTTPHeaderField: "Sec-WebSocket-Protocol")
        }
        let task = session.webSocketTask(with: urlRequest)
        task.maximumMessageSize = configuration.maximumMessageSize
        let connection = URLSessionWebSocketConnection(task: task, closeTimeout: configuration.closeTimeout)
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                delegate.register(task: task, connection: connection, opened: c)
                task.resume()
            }
        } onCancel: {
            task.cancel()
        }
        connection.startReceiving()
        return connection
    }

    final class SessionDelegate: NSObject, URLSessionWebSocketDelegate, Sendable {
        private struct Pending {
            let connection: URLSessionWebSocketConnection
            var opened: CheckedContinuation<Void, any Error>?
        }
        private let pending = Mutex<[Int: Pending]>([:])

        func register(task: URLSessionWebSocketTask, connection: URLSessionWebSocketConnection, opened: CheckedContinuation<Void, any Error>) {
            pending.withLock { $0[task.taskIdentifier] = Pending(connection: connection, opened: opened) }
        }

        func urlSession(_ session: URLSession, webSocketTask: URLSessionWebSocketTask, didOpenWithProtocol protocol: String?) {
            let waiter = pending.withLock { p -> CheckedContinuation<Void, any Error>? in
                defer { p[webSocketTask.taskIdentifier]?.opened = nil }
                return p[webSocketTask.taskIdentifier]?.opened
            }
            let http = webSocketTask.response as? HTTPURLResponse
            pending.withLock { $0[webSocketTask.taskIdentifier]?.connection.setHandshake(http) }
            waiter?.resume()
        }

        func urlSession(_ session: URLSession, webSocketTask: URLSessionWebSocketTask, didCloseWith closeCode: URLSessionWebSocketTask.CloseCode, reason: Data?) {
            let connection = pending.withLock { $0[webSocketTask.taskIdentifier]?.connection }
            connection?.peerClosed(code: UInt16(closeCode.rawValue), reason: reason.map { String(decoding: $0, as: UTF8.self) } ?? "")
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
            let entry = pending.withLock { $0.removeValue(forKey: task.taskIdentifier) }
            guard let entry else { return }
            if let waiter = entry.opened {
                let http = task.response as? HTTPURLResponse
                if let http, http.statusCode != 101 {
                    let response = HTTPResponse(status: http.statusCode, headers: HTTPHeaders(http.allHeaderFields.map { (name: "\($0.key)", value: "\($0.value)") }))
                    waiter.resume(throwing: ChannelError(.handshakeRejected, "WebSocket handshake rejected with HTTP \(http.statusCode)", platformCode: http.statusCode, response: response))
                } else if let error, (error as? URLError)?.code == .cancelled {
                    waiter.resume(throwing: ChannelError(.cancelled, "WebSocket connect cancelled"))
                } else {
                    waiter.resume(throwing: ChannelError(.transport, "WebSocket connect failed", underlying: error.map(SendableErrorBox.init)))
                }
            } else {
                entry.connection.dropped(error: error)
            }
        }
    }
}

/// A ``WebSocketConnection`` over `URLSessionWebSocketTask`.
final class URLSessionWebSocketConnection: WebSocketConnection {
    private struct State {
        var closeStatus: WebSocketCloseStatus?
        var handshake = HTTPResponse(status: 101)
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
    }
    private let task: URLSessionWebSocketTask
    private let closeTimeout: Duration
    private let state = Mutex(State())
    let messages: AsyncThrowingStream<WebSocketMessage, any Error>
    private let continuation: AsyncThrowingStream<WebSocketMessage, any Error>.Continuation

    init(task: URLSessionWebSocketTask, closeTimeout: Duration) {
        self.task = task
        self.closeTimeout = closeTimeout
        (messages, continuation) = AsyncThrowingStream.makeStream(of: WebSocketMessage.self, throwing: (any Error).self)
    }

    var closeStatus: WebSocketCloseStatus? { state.withLock { $0.closeStatus } }
    var handshakeResponse: HTTPResponse { state.withLock { $0.handshake } }

    func setHandshake(_ http: HTTPURLResponse?) {
        guard let http else { return }
        let headers = HTTPHeaders(http.allHeaderFields.map { (name: "\($0.key)", value: "\($0.value)") })
        state.withLock { $0.handshake = HTTPResponse(status: http.statusCode, headers: headers) }
    }

    func startReceiving() {
        task.receive { [weak self] result in
            guard let self else { return }
            switch result {
            case .success(.string(let text)):
                self.continuation.yield(.text(text))
                self.startReceiving()
            case .success(.data(let data)):
                self.continuation.yield(.binary(data))
                self.startReceiving()
            case .success:
                self.startReceiving()
            case .failure(let error):
                self.dropped(error: error)
            }
        }
    }

    func send(_ message: WebSocketMessage) async throws {
        if let status = closeStatus {
            throw ChannelError(.connectionClosed, "connection closed", platformCode: Int(status.code.rawValue), platformMessage: status.reason)
        }
        let wire: URLSessionWebSocketTask.Message
        switch message {
        case .text(let text): wire = .string(text)
        case .binary(let data): wire = .data(data)
        }
        do { try await task.send(wire) }
        catch { throw ChannelError(.transport, "WebSocket send failed", underlying: SendableErrorBox(error)) }
    }

    func ping(_ payload: Data) async throws {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            task.sendPing { error in
                if let error { c.resume(throwing: ChannelError(.transport, "ping failed", underlying: SendableErrorBox(error))) }
                else { c.resume() }
            }
        }
    }

    func close(code: WebSocketCloseCode, reason: String) async {
        if closeStatus != nil { return }
        task.cancel(with: URLSessionWebSocketTask.CloseCode(rawValue: Int(code.rawValue)) ?? .normalClosure, reason: Data(reason.utf8))
        finish(WebSocketCloseStatus(code: code, reason: reason, initiatedByPeer: false), error: nil)
    }

    func peerClosed(code: UInt16, reason: String) {
        finish(WebSocketCloseStatus(code: WebSocketCloseCode(code), reason: reason, initiatedByPeer: true), error: nil)
    }

    func dropped(error: (any Error)?) {
        let status = WebSocketCloseStatus(code: .abnormalClosure, reason: "", initiatedByPeer: true)
        finish(status, error: ChannelError(.connectionClosed, "connection dropped", platformCode: 1006, underlying: error.map(SendableErrorBox.init)))
    }

    private func finish(_ status: WebSocketCloseStatus, error: ChannelError?) {
        let first = state.withLock { s -> Bool in
            if s.closeStatus != nil { return false }
            s.closeStatus = status
            return true
        }
        guard first else { return }
        continuation.finish(throwing: error)
    }
}
#endif
