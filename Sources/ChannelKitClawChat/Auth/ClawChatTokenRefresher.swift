import Foundation
import ChannelKit

/// `POST /v1/auth/refresh`, classified for the ``RefreshCoordinator``.
///
/// - **No `Authorization` header**; `X-Device-Id` is the REST device id bound at
///   activation; body `{"refresh_token": …}`.
/// - The server answers HTTP 200 and a business `code`: `0` rotates both tokens;
///   `10003` (revoked, expired, device mismatch) and `400` are permanent; `1`, any other
///   code, a non-200 status, a malformed body or a network error are transient.
struct ClawChatTokenRefresher: Sendable {
    /// Codes that end the account (auto-logout).
    static let permanentCodes: Set<Int> = [10003, 400]

    let url: URL
    let deviceID: String
    let http: any HTTPTransport
    let timeout: Duration

    /// The refresher closure for ``RefreshCoordinator``.
    var refresher: CredentialRefresher {
        { pair in try await self.refresh(pair) }
    }

    func refresh(_ pair: CredentialPair) async throws -> RefreshAttemptResult {
        struct Body: Encodable { var refresh_token: String }
        let request = try HTTPRequest.json(.post, url: url, body: Body(refresh_token: pair.refreshToken.reveal()),
                                           headers: ["X-Device-Id": deviceID], timeout: timeout)
        let response = try await http.send(request)
        return Self.classify(response)
    }

    /// Classifies a refresh response (pure; tested on its own).
    static func classify(_ response: HTTPResponse) -> RefreshAttemptResult {
        guard let envelope = ClawChatEnvelope.parse(response) else {
            return .transient(code: nil, message: "refresh answered HTTP \(response.status) without an envelope")
        }
        let message = Redactor.redact(envelope.message ?? "")
        if envelope.code == 0 {
            guard response.status == 200 || response.isSuccess,
                  let access = envelope.data["access_token"]?.stringValue, !access.isEmpty,
                  let refresh = envelope.data["refresh_token"]?.stringValue, !refresh.isEmpty else {
                return .transient(code: 0, message: "refresh succeeded without both tokens in data")
            }
            return .rotated(CredentialPair(accessToken: Secret(access), refreshToken: Secret(refresh)))
        }
        if permanentCodes.contains(envelope.code) {
            return .permanent(code: envelope.code, message: message.isEmpty ? "refresh token rejected" : message)
        }
        return .transient(code: envelope.code, message: message.isEmpty ? "refresh failed (HTTP \(response.status))" : message)
    }
}
