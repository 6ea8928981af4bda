import Foundation

/// Why a server's answer to a WebSocket upgrade request was not accepted, with the
/// response itself; the ``ChannelError/underlying`` error of the ``ChannelError`` that
/// ``WebSocketClientHandshake`` throws.
///
/// ```swift
/// catch let error as ChannelError {
///     if let failure = error.underlying as? WebSocketHandshakeFailure {
///         print(failure.response.status, failure.response.bodyExcerpt())
///     }
/// }
/// ```
public struct WebSocketHandshakeFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong with the response.
    public enum Reason: String, Sendable, Hashable {
        /// The status was not `101` (see the response's status, headers and body).
        case unexpectedStatus
        /// A `101` without `Upgrade: websocket`.
        case missingUpgradeHeader
        /// A `101` whose `Connection` field does not list `upgrade`.
        case missingConnectionUpgrade
        /// A `101` without `Sec-WebSocket-Accept`.
        case missingAccept
        /// A `101` whose `Sec-WebSocket-Accept` does not match the key we sent.
        case incorrectAccept
        /// A `101` naming an extension we did not offer (we offer none).
        case unrequestedExtension
        /// A `101` naming a subprotocol we did not offer.
        case unrequestedSubprotocol
    }

    /// What was wrong.
    public var reason: Reason
    /// The response: status, headers and, for a non-101 status, the body as far as it
    /// was read (see ``isBodyTruncated``).
    public var response: HTTPResponse
    /// The status line's reason phrase, e.g. `Unauthorized`.
    public var reasonPhrase: String
    /// `true` when the body was cut at the handshake's `maxErrorBodySize`.
    public var isBodyTruncated: Bool

    /// Creates a failure.
    public init(reason: Reason, response: HTTPResponse, reasonPhrase: String = "", isBodyTruncated: Bool = false) {
        self.reason = reason
        self.response = response
        self.reasonPhrase = reasonPhrase
        self.isBodyTruncated = isBodyTruncated
    }

    /// A ``ChannelError``: ``ChannelError/Code/unauthorized`` for 401 and 403,
    /// ``ChannelError/Code/rateLimited`` for 429, ``ChannelError/Code/handshakeRejected``
    /// otherwise; the status as ``ChannelError/platformCode``, a body excerpt as
    /// ``ChannelError/platformMessage``, the whole response (status, headers, body) as
    /// ``ChannelError/response``, and this failure as the underlying error.
    public var channelError: ChannelError {
        let code: ChannelError.Code = switch response.status {
        case 401, 403: .unauthorized
        case 429: .rateLimited
        default: .handshakeRejected
        }
        let excerpt = response.bodyExcerpt(limit: 512)
        return ChannelError(
            code, "WebSocket upgrade refused: \(summary)",
            platformCode: response.status,
            platformMessage: excerpt.isEmpty ? nil : excerpt,
            underlying: self,
            response: response
        )
    }

    private var summary: String {
        let status = "HTTP \(response.status)\(reasonPhrase.isEmpty ? "" : " \(reasonPhrase)")"
        switch reason {
        case .unexpectedStatus: return status
        case .missingUpgradeHeader: return "\(status) without 'Upgrade: websocket'"
        case .missingConnectionUpgrade: return "\(status) without 'Connection: upgrade'"
        case .missingAccept: return "\(status) without Sec-WebSocket-Accept"
        case .incorrectAccept: return "\(status) with an incorrect Sec-WebSocket-Accept"
        case .unrequestedExtension: return "\(status) with an extension we did not offer"
        case .unrequestedSubprotocol: return "\(status) with a subprotocol we did not offer"
        }
    }

    public var description: String { "WebSocketHandshakeFailure(\(reason.rawValue), \(response))" }
}
