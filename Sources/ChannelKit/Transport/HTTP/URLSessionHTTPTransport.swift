import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization

/// The default ``HTTPTransport``: URLSession data tasks.
///
/// Each instance owns its own `URLSession` (and so its own connection pool, with no
/// cookies and no cache). Create one per account or per client — connections and
/// their failures then stay with the account that made them — and call ``shutdown()``
/// when the account stops.
///
/// - A whole-request deadline (``HTTPRequest/timeout``, else
///   ``Configuration/timeout``) is measured on ``Configuration/timeSource`` and covers
///   connect, upload, waiting and download; it ends in ``ChannelError`` `.timeout`
///   naming the method and redacted URL.
/// - Cancelling the calling task cancels the underlying `URLSessionTask` at once (the
///   connection is closed) and throws `.cancelled`.
/// - Non-2xx responses are returned, not thrown (see
///   ``HTTPResponse/requireSuccess(request:timeSource:)``).
/// - Responses are buffered up to ``Configuration/maximumResponseSize``; a larger one is
///   cancelled while it arrives and throws `.malformedInput`.
/// - Response headers come sorted by name; URLSession merges repeated fields into one
///   comma-separated value.
/// - Redirects are followed; credential headers (``HTTPHeaders/credentialNames``) are
///   dropped when a redirect leaves the original scheme, host and port.
///
/// Works on Linux (FoundationNetworking, libcurl) and Apple platforms; it uses delegate
/// data tasks rather than `URLSession.data(for:)`, which is missing or unreliable in
/// older FoundationNetworking releases.
public final class URLSessionHTTPTransport: HTTPTransport {
    /// Settings of one transport.
    public struct Configuration: Sendable {
        /// The default whole-request deadline, used when a request sets none.
        /// Defaults to 30 seconds.
        public var timeout: Duration
        /// The largest response body accepted, in bytes. Defaults to 16 MiB.
        public var maximumResponseSize: Int
        /// The `User-Agent` sent when a request sets none. Defaults to `"ChannelKit/0.1"`.
        public var userAgent: String
        /// Where request/response lines go (at `.trace`/`.debug`; URLs redacted).
        /// Defaults to ``ChannelLogger/disabled``.
        public var logger: ChannelLogger
        /// The clock that measures deadlines. Defaults to ``TimeSource/system``.
        public var timeSource: TimeSource
        /// The most connections kept open to one host. Defaults to 6.
        public var maximumConnectionsPerHost: Int

        /// Creates a configuration; every parameter has the default documented on its
        /// property.
        public init(
            timeout: Duration = .seconds(30),
            maximumResponseSize: Int = 16 * 1024 * 1024,
            userAgent: String = "ChannelKit/0.1",
            logger: ChannelLogger = .disabled,
            timeSource: TimeSource = .system,
            maximumConnectionsPerHost: Int = 6
        ) {
            self.timeout = timeout
            self.maximumResponseSize = maximumResponseSize
            self.userAgent = userAgent
            self.logger = logger
            self.timeSource = timeSource
            self.maximumConnectionsPerHost = maximumConnectionsPerHost
        }
    }

    /// The configuration this transport was created with.
    public let configuration: Configuration
    private let session: URLSession
    private let registry: URLSessionTaskRegistry
    /// Guards task creation against ``shutdown()``: no task is created on an
    /// invalidated session.
    private let shutDown = Mutex(false)

    /// Creates a transport with its own `URLSession`.
    /// - Parameter configuration: Settings. Defaults to ``Configuration/init(timeout:maximumResponseSize:userAgent:logger:timeSource:maximumConnectionsPerHost:)``.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        let sessionConfiguration = URLSessionConfiguration.ephemeral
        sessionConfiguration.httpCookieStorage = nil
        sessionConfiguration.httpShouldSetCookies = false
        sessionConfiguration.urlCache = nil
        sessionConfiguration.requestCachePolicy = .reloadIgnoringLocalCacheData
        sessionConfiguration.httpMaximumConnectionsPerHost = max(1, configuration.maximumConnectionsPerHost)
        // The idle timeout is a backstop; the whole-request deadline is ours.
        sessionConfiguration.timeoutIntervalForRequest = max(1, configuration.timeout.seconds)
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        queue.name = "ChannelKit.URLSessionHTTPTransport"
        let registry = URLSessionTaskRegistry()
        self.registry = registry
        self.session = URLSession(configuration: sessionConfiguration, delegate: registry, delegateQueue: queue)
    }

    deinit {
        let alreadyShutDown = shutDown.withLock { $0 }
        if !alreadyShutDown { session.invalidateAndCancel() }
    }

    /// Invalidates the session: requests in flight fail with ``ChannelError`` `.stopped`,
    /// later ``send(_:)`` calls throw `.stopped`, and the session's connections close.
    /// Idempotent.
    public func shutdown() {
        let first = shutDown.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        guard first else { return }
        registry.isShutDown.store(true, ordering: .relaxed)
        session.invalidateAndCancel()
    }

    /// Sends `request` and returns the whole response; see ``HTTPTransport/send(_:)``.
    ///
    /// - Throws: ``ChannelError`` — `.timeout` (deadline elapsed; names the method and
    ///   redacted URL), `.cancelled` (the calling task was cancelled; the URLSession task
    ///   is cancelled and its connection closed), `.transport` (connection refused, reset,
    ///   DNS, TLS; ``ChannelError/underlying`` holds the URL error's domain and code
    ///   only), `.malformedInput` (body over ``Configuration/maximumResponseSize``),
    ///   `.stopped` (after ``shutdown()``), `.invalidState` (a `GET`/`HEAD` with a body,
    ///   which URLSession cannot send).
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let label = request.label
        if let body = request.body, !body.isEmpty, request.method == .get || request.method == .head {
            // URLSession refuses these on every platform (NSURLErrorDataLengthExceedsMaximum).
            throw ChannelError(.invalidState, "\(label): URLSession cannot send a body with \(request.method)")
        }
        let timeout = request.timeout ?? configuration.timeout
        let urlRequest = makeURLRequest(request, timeout: timeout)
        let logger = configuration.logger
        let timeSource = configuration.timeSource
        logger.trace("HTTP request \(label)", metadata: ["http.method": request.method.rawValue])
        do {
            let response = try await withThrowingTaskGroup(of: HTTPResponse.self) { group in
                group.addTask { try await self.perform(urlRequest, label: label) }
                group.addTask {
                    try await timeSource.sleep(for: timeout)
                    throw ChannelError(.timeout, "\(label) timed out after \(timeout.seconds) s")
                }
                defer { group.cancelAll() }
                guard let first = try await group.next() else {
                    throw ChannelError(.invalidState, "\(label): no result")
                }
                return first
            }
            logger.debug("HTTP \(response.status) for \(label) (\(response.body.count) bytes)",
                         metadata: ["http.method": request.method.rawValue, "http.status": String(response.status)])
            return response
        } catch let error as ChannelError {
            logger.debug("HTTP \(label) failed: \(error)", metadata: ["http.method": request.method.rawValue])
            throw error
        } catch {
            // A CancellationError from the deadline sleep: the caller was cancelled.
            let mapped = Task.isCancelled
                ? ChannelError(.cancelled, "\(label) was cancelled")
                : ChannelError(.transport, "\(label) failed", underlying: SendableErrorBox(error))
            logger.debug("HTTP \(label) failed: \(mapped)", metadata: ["http.method": request.method.rawValue])
            throw mapped
        }
    }

    /// Number of requests in flight (for tests and diagnostics).
    public var requestsInFlight: Int { registry.inFlight }

    private func makeURLRequest(_ request: HTTPRequest, timeout: Duration) -> URLRequest {
        var urlRequest = URLRequest(url: request.url)
        urlRequest.httpMethod = request.method.rawValue
        urlRequest.timeoutInterval = max(0.001, timeout.seconds)
        urlRequest.cachePolicy = .reloadIgnoringLocalCacheData
        urlRequest.httpShouldHandleCookies = false
        for (name, value) in request.headers {
            urlRequest.addValue(value, forHTTPHeaderField: name)
        }
        if !request.headers.contains("User-Agent") {
            urlRequest.setValue(configuration.userAgent, forHTTPHeaderField: "User-Agent")
        }
        urlRequest.httpBody = request.body
        return urlRequest
    }

    /// Runs one data task; cancellation of the calling task cancels it.
    private func perform(_ urlRequest: URLRequest, label: String) async throws -> HTTPResponse {
        let handle = Mutex<TaskHandle>(.idle)
        let registry = self.registry
        let limit = configuration.maximumResponseSize
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResponse, any Error>) in
                let task: URLSessionDataTask? = shutDown.withLock { done in
                    done ? nil : session.dataTask(with: urlRequest)
                }
                guard let task else {
                    continuation.resume(throwing: ChannelError(.stopped, "\(label): the transport was shut down"))
                    return
                }
                let id = task.taskIdentifier
                registry.register(id, label: label, limit: limit, continuation: continuation)
                let start = handle.withLock { state -> Bool in
                    if case .cancelled = state { return false }
                    state = .running(task)
                    return true
                }
                if start {
                    task.resume()
                } else {
                    registry.fail(id, with: ChannelError(.cancelled, "\(label) was cancelled"))
                    task.cancel()
                }
            }
        } onCancel: {
            let task = handle.withLock { state -> URLSessionDataTask? in
                if case .running(let task) = state { return task }
                state = .cancelled
                return nil
            }
            task?.cancel()
        }
    }

    private enum TaskHandle {
        case idle
        case running(URLSessionDataTask)
        case cancelled
    }
}
