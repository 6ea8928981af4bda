/// The error type of ChannelKit: a struct over an extensible code, carrying the account,
/// the platform's raw code and message, what was wrong and where, and the underlying
/// error.
///
/// ``description`` is safe to log: every free-text part passes through ``Redactor``, and
/// secrets are never stored in an error in the first place.
///
/// ```swift
/// do { try await client.send(…) }
/// catch let error as ChannelError where error.code == .unauthorized { … }
/// ```
public struct ChannelError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. Compare with the static members, e.g. `.unauthorized`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case invalidConfiguration, malformedInput, unauthorized, tokenFetchFailed
            case refreshTransient, refreshPermanent, rateLimited, platform
            case storeCorrupt, storeIO, storePermissions, lockFailed
            case transport, timeout, cancelled, stopped, invalidState
            case handshakeRejected, protocolViolation, connectionClosed
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A short, stable name without associated values, safe as a metrics label.
        public var description: String { base.rawValue }

        /// Configuration is invalid; ``ChannelError/location`` names the JSON path.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// Bytes from outside (frame, JSON, protobuf, JWT, HTTP body) could not be decoded.
        public static let malformedInput = Code(.malformedInput)
        /// The platform rejected the credential (HTTP 401/403 or its own code).
        public static let unauthorized = Code(.unauthorized)
        /// Fetching an access token failed.
        public static let tokenFetchFailed = Code(.tokenFetchFailed)
        /// A rotating-credential refresh failed in a way that may succeed later.
        public static let refreshTransient = Code(.refreshTransient)
        /// A rotating-credential refresh was permanently rejected; the account must stop.
        public static let refreshPermanent = Code(.refreshPermanent)
        /// The platform asked us to slow down.
        public static let rateLimited = Code(.rateLimited)
        /// The platform reported an error; see ``ChannelError/platformCode``.
        public static let platform = Code(.platform)
        /// A stored file exists but cannot be decoded (corrupt or truncated).
        public static let storeCorrupt = Code(.storeCorrupt)
        /// Reading or writing the state directory failed.
        public static let storeIO = Code(.storeIO)
        /// A state file or directory has permissions that would expose secrets.
        public static let storePermissions = Code(.storePermissions)
        /// An advisory lock could not be taken.
        public static let lockFailed = Code(.lockFailed)
        /// A network transport failed.
        public static let transport = Code(.transport)
        /// An operation ran out of time.
        public static let timeout = Code(.timeout)
        /// The operation was cancelled.
        public static let cancelled = Code(.cancelled)
        /// The component was stopped.
        public static let stopped = Code(.stopped)
        /// The call is not valid in the component's current state.
        public static let invalidState = Code(.invalidState)
        /// The server answered a WebSocket upgrade with something other than a valid
        /// `101`; ``ChannelError/response`` holds its status, headers and body.
        public static let handshakeRejected = Code(.handshakeRejected)
        /// The peer broke the wire protocol (RFC 6455 framing, UTF-8, …);
        /// ``ChannelError/platformCode`` is the close code sent in reply.
        public static let protocolViolation = Code(.protocolViolation)
        /// The connection closed; ``ChannelError/platformCode`` is the close code
        /// (1006 when it dropped without a close frame) and ``ChannelError/platformMessage``
        /// the reason.
        public static let connectionClosed = Code(.connectionClosed)
    }

    /// The kind of failure.
    public var code: Code
    /// A human-readable summary of what went wrong (never contains secret values).
    public var message: String
    /// The account the failure belongs to, when there is one.
    public var account: AccountKey?
    /// Where the problem is: a JSON path (`$.channels.qqbot.accounts.main.appId`), a file
    /// path, or a field name.
    public var location: String?
    /// The platform's raw error code (e.g. QQ `11255`, ClawChat `10003`), when it sent one.
    public var platformCode: Int?
    /// The platform's raw error message, when it sent one.
    public var platformMessage: String?
    /// The error that caused this one.
    public var underlying: (any Error & Sendable)?
    /// The HTTP response that carried the failure (a rejected WebSocket handshake, a
    /// non-2xx REST reply), when there is one. Its description redacts secrets.
    public var response: HTTPResponse?
    /// Set through ``retryAfter``.
    var explicitRetryAfter: Duration?

    /// Creates an error.
    public init(
        _ code: Code,
        _ message: String,
        account: AccountKey? = nil,
        location: String? = nil,
        platformCode: Int? = nil,
        platformMessage: String? = nil,
        underlying: (any Error & Sendable)? = nil,
        response: HTTPResponse? = nil
    ) {
        self.code = code
        self.message = message
        self.account = account
        self.location = location
        self.platformCode = platformCode
        self.platformMessage = platformMessage
        self.underlying = underlying
        self.response = response
    }

    /// Returns a copy attributed to `account` (keeps an account that is already set).
    public func scoped(to account: AccountKey) -> ChannelError {
        var copy = self
        if copy.account == nil { copy.account = account }
        return copy
    }

    /// `code`, account, location, platform code and message, and the underlying error,
    /// with anything that looks like a secret redacted.
    public var description: String {
        var parts = ["ChannelError.\(code)"]
        if let account { parts.append("[\(account)]") }
        parts.append(message)
        if let location { parts.append("at \(location)") }
        if let platformCode { parts.append("(platform code \(platformCode)\(platformMessage.map { ": \($0)" } ?? ""))") }
        else if let platformMessage { parts.append("(platform: \(platformMessage))") }
        if let response { parts.append("(HTTP \(response.status): \(response.bodyExcerpt(limit: 200)))") }
        if let underlying { parts.append("— caused by \(String(describing: underlying))") }
        return Redactor.redact(parts.joined(separator: " "))
    }
}

extension ChannelError {
    /// A redacted one-line description of any error: a ``ChannelError``'s own
    /// description, anything else through ``Redactor``. For logs, probe reports and
    /// close reasons.
    public static func describe(_ error: any Error) -> String {
        (error as? ChannelError)?.description ?? Redactor.redact(String(describing: error))
    }
}
