import Foundation
import ChannelKit

extension OpenIMSimulator {
    typealias Response = LoopbackHTTPServer.Response
    typealias Request = LoopbackHTTPServer.Request

    static func envelope(_ code: Int = 0, _ message: String = "", data: JSONValue = .null) -> Response {
        .json(raw: JSONValue.object(["errCode": .number(Double(code)), "errMsg": .string(message), "errDlt": "", "data": data]).jsonText)
    }

    func installREST(on http: LoopbackHTTPServer) {
        let routes: [(String, @Sendable (OpenIMSimulator, Request, JSONValue) -> Response)] = [
            ("/auth/get_user_token", { $0.getUserToken($1, $2) }),
            ("/auth/parse_token", { $0.parseToken($2) }),
            ("/msg/send_msg", { $0.restSend($1, $2) }),
            ("/object/part_limit", { sim, request, _ in sim.authorized(request) == nil ? Self.envelope(1501, "TokenExpiredError")
                : Self.envelope(data: ["minPartSize": .number(Double(sim.configuration.minPartSize)), "maxPartSize": .number(Double(5 << 30)), "maxNumSize": 20]) }),
            ("/object/initiate_multipart_upload", { $0.initiateUpload($1, $2) }),
            ("/object/complete_multipart_upload", { $0.completeUpload($1, $2) }),
            ("/test/refresh", { sim, _, body in sim.testRefresh(body) }),
        ]
        for (path, handler) in routes {
            http.route(.post, path) { [weak self] request in
                guard let self else { return .text("gone", status: 503) }
                let body = (try? JSONDecoder().decode(JSONValue.self, from: request.body)) ?? .null
                return handler(self, request, body)
            }
        }
        http.route(.post, prefix: "/friend/") { [weak self] request in
            guard let self else { return .text("gone", status: 503) }
            let body = (try? JSONDecoder().decode(JSONValue.self, from: request.body)) ?? .null
            return self.friend(request, body)
        }
        http.route(.put, prefix: "/test/upload/") { [weak self] request in
            guard let self else { return .text("gone", status: 503) }
            return self.putPart(request)
        }
        http.route(.get, prefix: "/object/") { [weak self] request in
            guard let self else { return .text("gone", status: 503) }
            let name = String(request.path.dropFirst("/object/".count)).removingPercentEncoding ?? ""
            guard let bytes = self.object(named: name) else { return .text("not found", status: 404) }
            return Response(status: 200, headers: ["Content-Type": "application/octet-stream"], body: Data(bytes))
        }
        http.fallback { _ in Self.envelope(404, "not found") }
    }

    /// The user of a valid `token` header, or `nil`.
    func authorized(_ request: Request) -> String? {
        guard let token = request.headers["token"] else { return nil }
        if token == adminToken { return "imAdmin" }
        return state.withLock { s in
            guard let record = s.tokens[token], record.status == .normal else { return nil }
            return record.userID
        }
    }

    private func getUserToken(_ request: Request, _ body: JSONValue) -> Response {
        guard authorized(request) == "imAdmin" else { return Self.envelope(1002, "NoPermissionError") }
        guard let user = body["userID"]?.stringValue, let platform = body["platformID"]?.intValue, platform != 10 else {
            return Self.envelope(1001, "ArgsError")
        }
        let now = configuration.time.now()
        let token = state.withLock { s -> String in
            var account = s.users[user] ?? Account(userID: user, platformID: platform, token: "", nickname: user)
            account.platformID = platform
            let token = Self.rotate(&account, now: now, state: &s)
            s.users[user] = account
            return token
        }
        return Self.envelope(data: ["token": .string(token), "expireTimeSeconds": .number(90 * 86400)])
    }

    private func parseToken(_ body: JSONValue) -> Response {
        let token = body["token"]?.stringValue ?? ""
        return state.withLock { s in
            guard let record = s.tokens[token] else { return Self.envelope(1507, "TokenNotExistError") }
            switch record.status {
            case .expired: return Self.envelope(1501, "TokenExpiredError")
            case .invalid: return Self.envelope(1502, "TokenInvalidError")
            case .kicked: return Self.envelope(1506, "TokenKickedError")
            case .normal:
                return Self.envelope(data: ["userID": .string(record.userID), "platformID": .number(Double(record.platformID)), "expireTimeSeconds": .number(90 * 86400)])
            }
        }
    }

    /// `/msg/send_msg` (admin): msgFrom 200, clientMsgID assigned by the server.
    private func restSend(_ request: Request, _ body: JSONValue) -> Response {
        guard authorized(request) == "imAdmin" else { return Self.envelope(1002, "NoPermissionError") }
        guard let sendID = body["sendID"]?.stringValue, let content = body["content"], let type = body["contentType"]?.intValue,
              let session = body["sessionType"]?.intValue else { return Self.envelope(1001, "ArgsError") }
        var m = OpenIMSimulatorMessage()
        m.sendID = sendID
        m.recvID = body["recvID"]?.stringValue ?? ""
        m.groupID = body["groupID"]?.stringValue ?? ""
        m.sessionType = Int32(session)
        m.msgFrom = 200
        m.contentType = Int32(type)
        m.content = Array(content.jsonText.utf8)
        let stored = store(m, echo: true)
        return Self.envelope(data: ["serverMsgID": .string(stored.serverMsgID), "clientMsgID": .string(stored.clientMsgID), "sendTime": .number(Double(stored.sendTime))])
    }

    private func initiateUpload(_ request: Request, _ body: JSONValue) -> Response {
        guard let user = authorized(request) else { return Self.envelope(1501, "TokenExpiredError") }
        guard let name = body["name"]?.stringValue, let size = body["size"]?.intValue, let partSize = body["partSize"]?.intValue,
              let hash = body["hash"]?.stringValue, partSize > 0, size > 0 else { return Self.envelope(1001, "ArgsError") }
        if !name.hasPrefix(user + "/") { state.withLock { $0.misrouted += 1 } }
        guard partSize >= configuration.minPartSize || partSize >= size else { return Self.envelope(1001, "ArgsError: partSize below minPartSize") }
        let parts = (size + partSize - 1) / partSize
        guard parts <= 20 else { return Self.envelope(1001, "ArgsError: too many parts") }
        let uploadID = state.withLock { s -> String in
            s.counter += 1
            let id = "up\(s.counter)"
            s.uploads[id] = (name, body["contentType"]?.stringValue ?? "", [:])
            return id
        }
        _ = hash
        let base = apiURL.absoluteString
        let signed: [JSONValue] = (1...parts).map { n in
            ["partNumber": .number(Double(n)), "url": .string("\(base)/test/upload/\(uploadID)/\(n)"),
             "query": [["key": "part", "values": [.string(String(n))]]], "header": []]
        }
        return Self.envelope(data: [
            "url": "", "upload": ["uploadID": .string(uploadID), "partSize": .number(Double(partSize)),
                                   "sign": ["url": "", "query": [["key": "sig", "values": ["sim"]]], "header": [["key": "X-Sim-Upload", "values": ["1"]]], "parts": .array(signed)],
                                   "expireTime": 0],
        ])
    }

    private func putPart(_ request: Request) -> Response {
        let pieces = request.path.split(separator: "/")
        guard pieces.count == 4, let number = Int(pieces[3]), request.queryValue("sig") == "sim", request.queryValue("part") == String(number),
              request.headers["X-Sim-Upload"] == "1" else { return .text("bad signature", status: 403) }
        let uploadID = String(pieces[2])
        return state.withLock { s in
            guard s.uploads[uploadID] != nil else { return .text("no such upload", status: 404) }
            s.uploads[uploadID]?.parts[number] = [UInt8](request.body)
            return .text("", status: 200)
        }
    }

    private func completeUpload(_ request: Request, _ body: JSONValue) -> Response {
        guard authorized(request) != nil else { return Self.envelope(1501, "TokenExpiredError") }
        guard let uploadID = body["uploadID"]?.stringValue, let hashes = body["parts"]?.arrayValue?.compactMap(\.stringValue) else {
            return Self.envelope(1001, "ArgsError")
        }
        let base = apiURL.absoluteString
        return state.withLock { s in
            guard let upload = s.uploads[uploadID] else { return Self.envelope(1004, "RecordNotFoundError") }
            var bytes: [UInt8] = []
            for (index, hash) in hashes.enumerated() {
                guard let part = upload.parts[index + 1], OpenIMSimulatorWire.md5Hex(part) == hash else {
                    return Self.envelope(1001, "ArgsError: part \(index + 1) md5 mismatch")
                }
                bytes += part
            }
            guard hashes.count == upload.parts.count else { return Self.envelope(1001, "ArgsError: part count") }
            s.objects[upload.name] = bytes
            s.uploads[uploadID] = nil
            let escaped = upload.name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? upload.name
            return Self.envelope(data: ["url": .string("\(base)/object/\(escaped)")])
        }
    }

    /// `/test/refresh` `{"userID":…}` (or `accountId`): a new token for the user (the old
    /// ones kicked) as `{"token":…, "data":{"token":…}}`; garbage while switched on.
    private func testRefresh(_ body: JSONValue) -> Response {
        let user = body["userID"]?.stringValue ?? body["accountId"]?.stringValue ?? ""
        let now = configuration.time.now()
        return state.withLock { s in
            s.refreshes[user, default: 0] += 1
            if s.refreshGarbage { return .json(raw: #"{"unexpected":"shape","token":42}"#) }
            guard var account = s.users[user] else { return .json(raw: #"{"error":"unknown user"}"#, status: 404) }
            let token = Self.rotate(&account, now: now, state: &s)
            s.users[user] = account
            return .json(raw: JSONValue.object(["token": .string(token), "data": ["token": .string(token)]]).jsonText)
        }
    }

    private func friend(_ request: Request, _ body: JSONValue) -> Response {
        guard let caller = authorized(request) else { return Self.envelope(1501, "TokenExpiredError") }
        let path = request.path
        let owner = body["ownerUserID"]?.stringValue ?? body["fromUserID"]?.stringValue ?? body["userID"]?.stringValue ?? body["userID1"]?.stringValue ?? caller
        return state.withLock { s in
            s.friendCalls.append((path, caller))
            if owner != caller && path != "/friend/add_friend_response" { s.misrouted += 1 }
            switch path {
            case "/friend/add_friend":
                if let to = body["toUserID"]?.stringValue { s.friends[caller, default: []].insert(to); s.friends[to, default: []].insert(caller) }
            case "/friend/delete_friend":
                if let f = body["friendUserID"]?.stringValue { s.friends[caller]?.remove(f) }
            case "/friend/get_friend_list":
                let list = (s.friends[caller] ?? []).sorted().map { JSONValue.object(["friendUser": ["userID": .string($0)]]) }
                return Self.envelope(data: ["friendsInfo": .array(list), "total": .number(Double(list.count))])
            case "/friend/add_black":
                if let b = body["blackUserID"]?.stringValue { s.blacks[caller, default: []].insert(b) }
            case "/friend/remove_black":
                if let b = body["blackUserID"]?.stringValue { s.blacks[caller]?.remove(b) }
            case "/friend/get_black_list":
                let list = (s.blacks[caller] ?? []).sorted().map { JSONValue.object(["blackUserInfo": ["userID": .string($0)]]) }
                return Self.envelope(data: ["blacks": .array(list), "total": .number(Double(list.count))])
            case "/friend/is_friend":
                let other = body["userID2"]?.stringValue ?? ""
                return Self.envelope(data: ["inUser1Friends": .bool(s.friends[caller]?.contains(other) ?? false), "inUser2Friends": .bool(s.friends[other]?.contains(caller) ?? false)])
            case "/friend/add_friend_response", "/friend/set_friend_remark":
                break
            default:
                return Self.envelope(404, "not found")
            }
            return Self.envelope()
        }
    }
}
