import Foundation
import ChannelKit

/// The REST envelope `{code, msg, data}` (`message` tolerated in place of `msg`).
///
/// The body is parsed first, even on a non-2xx status: the business `code` decides.
/// Only a response without an envelope falls back to its HTTP status.
struct ClawChatEnvelope: Sendable {
    /// The business code; 0 is success.
    var code: Int
    /// `msg` (or `message`), when present.
    var message: String?
    /// `data` (`null` when absent).
    var data: JSONValue

    /// Parses the envelope, or returns `nil` when the body is not one.
    static func parse(_ response: HTTPResponse) -> ClawChatEnvelope? {
        guard !response.body.isEmpty,
              let value = try? JSONDecoder().decode(JSONValue.self, from: response.body),
              case .object(let members) = value,
              let code = members["code"]?.intValue else { return nil }
        let message = members["msg"]?.stringValue ?? members["message"]?.stringValue
        return ClawChatEnvelope(code: code, message: message, data: members["data"] ?? .null)
    }

    /// Business codes that mean the bearer token was refused (media `40101`; `401`/`403`
    /// mirrored in the envelope).
    static let unauthorizedCodes: Set<Int> = [40101, 401, 403]

    /// Returns `data` of a successful envelope, or throws the typed error.
    ///
    /// - Throws: ``ChannelError`` carrying the business code and message:
    ///   `.unauthorized` for HTTP 401/403 or code 40101 (the caller refreshes and retries
    ///   once), `.rateLimited` for HTTP 429 (with `retryAfter` from `Retry-After`),
    ///   `.platform` for any other non-zero code; without an envelope, the status decides
    ///   (`requireSuccess`), and a 2xx body that is not an envelope is `.malformedInput`.
    static func data(of response: HTTPResponse, request: HTTPRequest, account: AccountKey, time: TimeSource) throws -> JSONValue {
        let label = "\(request.method) \(request.url.path)"
        guard let envelope = parse(response) else {
            if response.isSuccess {
                throw ChannelError(.malformedInput, "\(label) answered HTTP \(response.status) without a {code, msg, data} envelope; body: \(response.bodyExcerpt(limit: 200))",
                                   account: account, location: "$.code")
            }
            do { try response.requireSuccess(request: request, timeSource: time) } catch var error as ChannelError {
                error.account = account
                throw error
            }
            throw ChannelError(.platform, "\(label) failed with HTTP \(response.status)", account: account)
        }
        if envelope.code == 0 { return envelope.data }
        let code: ChannelError.Code
        if response.status == 401 || response.status == 403 || unauthorizedCodes.contains(envelope.code) {
            code = .unauthorized
        } else if response.status == 429 {
            code = .rateLimited
        } else {
            code = .platform
        }
        var error = ChannelError(code, "\(label) failed: code \(envelope.code) (HTTP \(response.status))", account: account,
                                 platformCode: envelope.code, platformMessage: envelope.message.map(Redactor.redact))
        if let wait = response.retryAfter(now: time.now()) { error.retryAfter = wait }
        throw error
    }
}
