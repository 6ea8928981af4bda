import Foundation
import ChannelKit

/// The account's REST calls: `Authorization: Bearer <access>` and `X-Device-Id`, the
/// envelope rules of ``ClawChatEnvelope``, and on HTTP 401/403 one single-flight refresh
/// followed by one retry.
struct ClawChatAPI: Sendable {
    let settings: ClawChatAccountSettings
    let account: AccountKey
    let http: any HTTPTransport
    let time: TimeSource
    let coordinator: RefreshCoordinator
    let restDeviceID: String
    let requestTimeout: Duration
    /// Told when a refresh triggered here was permanently rejected.
    let onPermanentFailure: @Sendable (RefreshOutcome) async -> Void
    /// Told when a refresh triggered here rotated the pair (the socket reconnects with it).
    let onRotated: @Sendable () async -> Void

    /// Runs an authorized call built by `make` for the current access token.
    ///
    /// On `.unauthorized`: if the pair was rotated meanwhile, retries with the new token;
    /// otherwise refreshes (joining any refresh in flight) and retries once.
    /// - Throws: ``ChannelError``; `.refreshPermanent` when the account needs re-activation.
    func authorized(_ make: @Sendable (Secret) throws -> HTTPRequest) async throws -> JSONValue {
        let pair = await coordinator.credentials
        guard !pair.accessToken.isEmpty else {
            throw ChannelError(.refreshPermanent, "ClawChat account needs re-activation (tokens are blank)", account: account)
        }
        do {
            return try await perform(try make(pair.accessToken))
        } catch let error as ChannelError where error.code == .unauthorized {
            if await coordinator.credentials.accessToken == pair.accessToken {
                guard let outcome = await ClawChatRefreshWaiter.refresh(
                    coordinator, reason: "rest-\(error.httpStatus.map(String.init) ?? "unauthorized")") else { throw CancellationError() }
                switch outcome {
                case .permanent, .skipped(.rejectedLatch):
                    await onPermanentFailure(outcome)
                    throw ChannelError(.refreshPermanent, "ClawChat refresh was permanently rejected; re-activation required",
                                       account: account, underlying: error)
                case .success:
                    await onRotated()
                default:
                    break
                }
            }
            let next = await coordinator.credentials
            guard next.accessToken != pair.accessToken, !next.accessToken.isEmpty else { throw error }
            return try await perform(try make(next.accessToken))
        }
    }

    private func perform(_ request: HTTPRequest) async throws -> JSONValue {
        let response = try await http.send(request)
        return try ClawChatEnvelope.data(of: response, request: request, account: account, time: time)
    }

    private func headers(_ token: Secret) -> HTTPHeaders {
        ["Authorization": "Bearer " + token.reveal(), "X-Device-Id": restDeviceID, "Accept": "application/json"]
    }

    /// `GET /v1/users/me` → the account's own identity.
    func usersMe() async throws -> AccountIdentity {
        let url = settings.url("/v1/users/me")
        let timeout = requestTimeout
        let data = try await authorized { token in
            HTTPRequest(method: .get, url: url, headers: headers(token), timeout: timeout)
        }
        let user = data["user"] ?? data
        guard let id = user["id"]?.stringValue ?? user["user_id"]?.stringValue, !id.isEmpty else {
            throw ChannelError(.malformedInput, "GET /v1/users/me returned no user id", account: account, location: "$.data.id")
        }
        let name = user["nickname"]?.stringValue ?? user["nick_name"]?.stringValue ?? user["name"]?.stringValue
        return AccountIdentity(id: id, name: name)
    }

    /// `POST /media/upload` (multipart, one part named `file`) → a ready fragment.
    func uploadMedia(_ bytes: Data, fileName: String, mimeType: String, kind: Attachment.Kind) async throws -> ClawChatWire.Fragment {
        let url = settings.mediaUploadURL
        let boundary = "channelkit-" + ULID(timestamp: time.now()).description
        let body = Self.multipart(bytes, fileName: fileName, mimeType: mimeType, boundary: boundary)
        let timeout = requestTimeout
        let data = try await authorized { token in
            var headers = headers(token)
            headers["Content-Type"] = "multipart/form-data; boundary=\(boundary)"
            return HTTPRequest(method: .post, url: url, headers: headers, body: body, timeout: timeout)
        }
        guard let fileURL = data["url"]?.stringValue, !fileURL.isEmpty else {
            throw ChannelError(.malformedInput, "POST /media/upload returned no url", account: account, location: "$.data.url")
        }
        return ClawChatWire.Fragment(
            kind: data["kind"]?.stringValue ?? (kind == .other ? "file" : kind.rawValue),
            url: fileURL,
            name: data["name"]?.stringValue ?? fileName,
            mime: data["mime"]?.stringValue ?? mimeType,
            size: data["size"]?.intValue ?? bytes.count,
            width: data["width"]?.intValue, height: data["height"]?.intValue, duration: data["duration"]?.intValue)
    }

    /// A `multipart/form-data` body with one part named `file`.
    static func multipart(_ bytes: Data, fileName: String, mimeType: String, boundary: String) -> Data {
        let safeName = fileName.replacingOccurrences(of: "\"", with: "_").replacingOccurrences(of: "\r", with: "_").replacingOccurrences(of: "\n", with: "_")
        var body = Data()
        body.append(Data("--\(boundary)\r\n".utf8))
        body.append(Data("Content-Disposition: form-data; name=\"file\"; filename=\"\(safeName)\"\r\n".utf8))
        body.append(Data("Content-Type: \(mimeType)\r\n\r\n".utf8))
        body.append(bytes)
        body.append(Data("\r\n--\(boundary)--\r\n".utf8))
        return body
    }
}
