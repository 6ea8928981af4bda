import Foundation
import ChannelKit

extension ClawChatSimulator {
    typealias Response = LoopbackHTTPServer.Response
    typealias Request = LoopbackHTTPServer.Request

    func installRoutes(on http: LoopbackHTTPServer) {
        http.route(.get, "/ws") { [weak self] request in
            guard let self else { return .text("gone", status: 503) }
            return self.upgrade(request)
        }
        http.route(.post, "/v1/auth/refresh") { [weak self] request in
            guard let self else { return .text("gone", status: 503) }
            return await self.refresh(request)
        }
        http.route(.get, "/v1/users/me") { [weak self] request in
            guard let self else { return .text("gone", status: 503) }
            return self.usersMe(request)
        }
        http.route(.post, "/media/upload") { [weak self] request in
            guard let self else { return .text("gone", status: 503) }
            return self.upload(request)
        }
        http.fallback { _ in Self.envelope(code: 404, msg: "not found", status: 404) }
    }

    static func envelope(code: Int, msg: String, data: JSONValue = .null, status: Int = 200) -> Response {
        .json(raw: encode(.object(["code": .number(Double(code)), "msg": .string(msg), "data": data])), status: status)
    }

    // MARK: WebSocket upgrade

    private func upgrade(_ request: Request) -> Response {
        guard let key = request.headers["Sec-WebSocket-Key"], request.headers["Upgrade"]?.lowercased() == "websocket" else {
            return .text("expected a WebSocket upgrade", status: 400)
        }
        let upgrade = WebSocketUpgradeRequest(target: request.target, headers: request.headers, key: key)
        let maximum = configuration.maximumFrameSize
        return .takeOver { [weak self] tcp in
            do { try await tcp.write(WebSocketHandshake.switchingProtocolsBytes(for: upgrade)) } catch { return }
            let connection = LoopbackWebSocketServer.Connection(tcp: tcp, request: upgrade, maximumMessageSize: maximum)
            await self?.serveWebSocket(connection, tcp: tcp)
        }
    }

    // MARK: Auth

    /// The user behind `Authorization: Bearer …`, if the token is valid now. Counts a
    /// `X-Device-Id` bound to another account as misrouted.
    private func bearerUser(_ request: Request) -> String? {
        let now = configuration.time.now()
        return state.withLock { s -> String? in
            guard let header = request.headers["Authorization"], header.hasPrefix("Bearer ") else { return nil }
            let token = String(header.dropFirst(7))
            guard let record = s.accessTokens[token], !record.revoked, record.expiresAt > now else { return nil }
            if let device = request.headers["X-Device-Id"],
               s.accounts.contains(where: { $0.key != record.userID && $0.value.account.deviceID == device }) {
                s.misrouted += 1
            }
            return record.userID
        }
    }

    private func refresh(_ request: Request) async -> Response {
        let token = (try? JSONDecoder().decode(JSONValue.self, from: request.body))?["refresh_token"]?.stringValue ?? ""
        let device = request.headers["X-Device-Id"]
        let hadAuthorization = request.headers.contains("Authorization")
        // Record first, then (maybe) wait at the hold, then answer.
        let (index, gate) = state.withLock { s -> (Int, AsyncGate?) in
            s.refreshes.append(RefreshRecord(userID: s.refreshTokens[token] ?? s.spentRefreshTokens[token]?.owner, refreshToken: token, deviceID: device, hadAuthorization: hadAuthorization, code: nil))
            if let owner = s.refreshTokens[token] { s.accounts[owner]?.refreshCount += 1 }
            return (s.refreshes.count - 1, s.refreshGate)
        }
        if let gate { await gate.wait() }
        let now = configuration.time.now()
        let lifetime = configuration.accessTokenLifetime.seconds
        enum Answer { case response(Response, Int?), drop }
        let answer: Answer = state.withLock { s in
            func answer(_ code: Int, _ msg: String, _ data: JSONValue = .null) -> Answer {
                s.refreshes[index].code = code
                return .response(Self.envelope(code: code, msg: msg, data: data), code)
            }
            guard !token.isEmpty else { return answer(400, "refresh_token is required") }
            guard let device, !device.isEmpty, device.utf8.count <= 128 else { return answer(400, "X-Device-Id is required") }
            if s.refreshTokens[token] == nil, let grace = configuration.refreshReplayGrace, var spent = s.spentRefreshTokens[token],
               spent.replays < grace.count, now.timeIntervalSince(spent.spentAt) <= grace.window.seconds {
                spent.replays += 1
                s.spentRefreshTokens[token] = spent
                return answer(0, "ok", .object(["access_token": .string(spent.access), "refresh_token": .string(spent.refresh)]))
            }
            guard let owner = s.refreshTokens[token] else { return answer(10003, "refresh token invalid or revoked") }
            if var scripts = s.refreshScripts[owner], !scripts.isEmpty {
                let script = scripts.removeFirst()
                s.refreshScripts[owner] = scripts
                switch script {
                case .code(let code, let msg): return answer(code, msg)
                case .http(let status, let body): return .response(.json(raw: body, status: status), nil)
                case .drop: return .drop
                }
            }
            guard var entry = s.accounts[owner] else { return answer(10003, "refresh token invalid or revoked") }
            guard entry.account.deviceID == device else {
                if s.accounts.contains(where: { $0.key != owner && $0.value.account.deviceID == device }) { s.misrouted += 1 }
                return answer(10003, "device mismatch")
            }
            // Single use: the spent token dies, both tokens rotate.
            s.refreshTokens[token] = nil
            let access = Self.mintAccessToken(userID: owner, deviceID: device, now: now, lifetime: lifetime, state: &s)
            let refresh = Self.mintRefreshToken(&s)
            s.accessTokens[access] = .init(userID: owner, expiresAt: now.addingTimeInterval(lifetime))
            s.refreshTokens[refresh] = owner
            s.spentRefreshTokens[token] = (owner, now, access, refresh, 0)
            entry.account.accessToken = access
            entry.account.refreshToken = refresh
            s.accounts[owner] = entry
            return answer(0, "ok", .object(["access_token": .string(access), "refresh_token": .string(refresh)]))
        }
        switch answer {
        case .response(let response, _): return response
        case .drop: return .dropConnection
        }
    }

    private func usersMe(_ request: Request) -> Response {
        guard let userID = bearerUser(request) else { return Self.envelope(code: 401, msg: "unauthorized", status: 401) }
        let nickname = state.withLock { $0.accounts[userID]?.account.nickname ?? userID }
        return Self.envelope(code: 0, msg: "ok", data: .object(["id": .string(userID), "nickname": .string(nickname), "profile_type": "agent"]))
    }

    // MARK: Media

    private func upload(_ request: Request) -> Response {
        guard let userID = bearerUser(request) else { return Self.envelope(code: 40101, msg: "invalid or missing token", status: 401) }
        guard let part = Self.filePart(of: request) else { return Self.envelope(code: 40001, msg: "missing file", status: 400) }
        guard !part.data.isEmpty else { return Self.envelope(code: 40002, msg: "empty file", status: 400) }
        guard part.data.count <= configuration.maximumUploadSize else { return Self.envelope(code: 41301, msg: "file too large", status: 413) }
        let kind: String
        if part.mime.hasPrefix("image/") { kind = "image" }
        else if part.mime.hasPrefix("audio/") { kind = "audio" }
        else if part.mime.hasPrefix("video/") { kind = "video" }
        else { kind = "file" }
        let now = configuration.time.now()
        let url = state.withLock { s -> String in
            let url = "\(baseURL.absoluteString)/media/\(Self.ulid(now, &s))/\(part.name)"
            s.uploads.append(UploadRecord(userID: userID, fileName: part.name, mimeType: part.mime, size: part.data.count, url: url))
            return url
        }
        return Self.envelope(code: 0, msg: "ok", data: .object([
            "kind": .string(kind), "url": .string(url), "name": .string(part.name), "mime": .string(part.mime),
            "size": .number(Double(part.data.count)),
        ]))
    }

    /// The part named `file` of a `multipart/form-data` body.
    static func filePart(of request: Request) -> (name: String, mime: String, data: Data)? {
        guard let type = request.headers["Content-Type"], type.lowercased().hasPrefix("multipart/form-data"),
              let range = type.range(of: "boundary=") else { return nil }
        let boundary = String(type[range.upperBound...]).trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
        let body = request.body
        let delimiter = Data("--\(boundary)".utf8)
        var parts: [Data] = []
        var searchStart = body.startIndex
        var previous: Int?
        while let found = body.range(of: delimiter, in: searchStart..<body.endIndex) {
            if let previous { parts.append(body.subdata(in: previous..<found.lowerBound)) }
            previous = found.upperBound
            searchStart = found.upperBound
        }
        for part in parts {
            guard let headEnd = part.range(of: Data("\r\n\r\n".utf8)) else { continue }
            let head = String(decoding: part.subdata(in: part.startIndex..<headEnd.lowerBound), as: UTF8.self)
            guard head.contains("name=\"file\"") else { continue }
            var content = part.subdata(in: headEnd.upperBound..<part.endIndex)
            if content.suffix(2) == Data("\r\n".utf8) { content = content.dropLast(2) }
            var name = "file"
            if let r = head.range(of: "filename=\"") {
                let rest = head[r.upperBound...]
                if let end = rest.firstIndex(of: "\"") { name = String(rest[..<end]) }
            }
            var mime = "application/octet-stream"
            for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-type:") {
                mime = line.dropFirst("content-type:".count).trimmingCharacters(in: .whitespaces)
            }
            return (name, mime, Data(content))
        }
        return nil
    }
}
