/// Why ``HTTPResponse/requireSuccess(request:timeSource:)`` rejected a response: the
/// status, the parsed `Retry-After` and the response itself. It is the
/// ``ChannelError/underlying`` error of the ``ChannelError`` thrown there; read it back
/// with ``ChannelError/httpStatus`` and ``ChannelError/retryAfter``.
public struct HTTPStatusError: Error, Sendable, CustomStringConvertible, CustomReflectable {
    /// The HTTP status, e.g. `429`.
    public var status: Int
    /// How long the server asked us to wait (`Retry-After`, delta-seconds or HTTP-date),
    /// when it said.
    public var retryAfter: Duration?
    /// The whole response (headers and body); its description redacts secrets.
    public var response: HTTPResponse

    /// Creates the error.
    public init(status: Int, retryAfter: Duration? = nil, response: HTTPResponse) {
        self.status = status
        self.retryAfter = retryAfter
        self.response = response
    }

    /// `HTTP <status>` and the retry delay; never the body.
    public var description: String {
        "HTTP \(status)" + (retryAfter.map { " (retry after \($0.seconds) s)" } ?? "")
    }

    /// `dump` shows the status, the delay and the redacted response description only.
    public var customMirror: Mirror {
        Mirror(self, children: ["status": status, "retryAfter": retryAfter as Any, "response": response.description])
    }
}

extension ChannelError {
    /// The HTTP status of the response that caused this error, when it came from
    /// ``HTTPResponse/requireSuccess(request:timeSource:)``.
    public var httpStatus: Int? { response?.status ?? (underlying as? HTTPStatusError)?.status }

    /// How long the platform asked us to wait before retrying, when it said: HTTP
    /// `Retry-After` (set on `.rateLimited` 429 and any other status that carried the
    /// header), or a value an adapter set from the platform's own field (ClawChat
    /// `retry_after_ms`, Feishu `x-ogw-ratelimit-reset`).
    public var retryAfter: Duration? {
        get { explicitRetryAfter ?? (underlying as? HTTPStatusError)?.retryAfter }
        set { explicitRetryAfter = newValue }
    }
}
