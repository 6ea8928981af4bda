/// Sends HTTP requests. Adapters take an `any HTTPTransport` so tests can swap in a fake
/// or point the default at a loopback server.
///
/// The default is ``URLSessionHTTPTransport``. A transport holds no per-account state;
/// an account (or client) may still own its own instance to keep its connections apart.
public protocol HTTPTransport: Sendable {
    /// Sends `request` and returns the whole response.
    ///
    /// A non-2xx status is **not** an error at this layer: the response is returned so
    /// the caller can read the platform's error body (see
    /// ``HTTPResponse/requireSuccess(request:timeSource:)``).
    ///
    /// - Throws: ``ChannelError`` — `.timeout` when ``HTTPRequest/timeout`` (or the
    ///   transport's default) elapses, `.cancelled` when the calling task is cancelled
    ///   (the request is torn down), `.transport` for connection failures,
    ///   `.malformedInput` when the response exceeds the transport's size limit.
    func send(_ request: HTTPRequest) async throws -> HTTPResponse
}
