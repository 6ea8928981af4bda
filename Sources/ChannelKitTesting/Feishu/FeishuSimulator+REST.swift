import Foundation
import Synchronization
import ChannelKit

extension FeishuSimulator.Core {
    typealias Response = LoopbackHTTPServer.Response

    static func reply(_ json: String, status: Int = 200, headers: HTTPHeaders = [:]) -> Response {
        var all = headers
        all["Content-Type"] = "application/json; charset=utf-8"
        all["X-Tt-Logid"] = "sim-logid"
        return .json(raw: json, status: status, headers: all)
    }

    static func error(_ status: Int, _ code: Int, _ message: String, headers: HTTPHeaders = [:]) -> Response {
        reply(#"{"code":\#(code),"msg":"\#(message)","error":{"log_id":"sim-logid"}}"#, status: status, headers: headers)
    }

    /// Routes one REST request.
    func handle(_ request: LoopbackHTTPServer.Request) async -> Response {
        let path = request.path
        if request.method == .post && path == "/open-apis/auth/v3/tenant_access_token/internal" {
            guard let body = try? JSONDecoder().decode(JSONValue.self, from: request.body),
                  let appId = body["app_id"]?.stringValue, let secret = body["app_secret"]?.stringValue else {
                return Self.error(400, 10003, "invalid param")
            }
            return Self.reply(issueToken(appId: appId, secret: secret))
        }
        if request.method == .post && path == "/callback/ws/endpoint" {
            return endpoint(request)
        }
        let appId: String
        switch authenticate(request.headers["Authorization"]) {
        case .failure(let code, let message):
            if request.method == .post { state.withLock { $0.sends.append(FeishuSimulator.Send(appId: nil, kind: "rejected", target: path, status: 400, errorCode: code)) } }
            return Self.error(400, code, message)
        case .app(let id):
            appId = id
        }
        if request.method == .get && path == "/open-apis/bot/v3/info" {
            return await botInfo(appId: appId)
        }
        if request.method == .post && path == "/open-apis/im/v1/messages" {
            return send(request, appId: appId, replyTo: nil)
        }
        if request.method == .post && path.hasPrefix("/open-apis/im/v1/messages/") && path.hasSuffix("/reply") {
            let id = String(path.dropFirst("/open-apis/im/v1/messages/".count).dropLast("/reply".count))
            return send(request, appId: appId, replyTo: id.removingPercentEncoding ?? id)
        }
        if request.method == .post && (path == "/open-apis/im/v1/images" || path == "/open-apis/im/v1/files") {
            return upload(request, appId: appId, image: path.hasSuffix("images"))
        }
        return Self.error(404, 404, "no such endpoint")
    }

    private func endpoint(_ request: LoopbackHTTPServer.Request) -> Response {
        guard let body = try? JSONDecoder().decode(JSONValue.self, from: request.body),
              let appId = body["AppID"]?.stringValue, let secret = body["AppSecret"]?.stringValue else {
            return Self.reply(#"{"code":10003,"msg":"invalid param"}"#)
        }
        return state.withLock { s -> Response in
            guard let app = s.apps[appId], app.app.appSecret == secret else {
                return Self.reply(#"{"code":10014,"msg":"app id or secret invalid"}"#)
            }
            s.apps[appId]?.endpointCalls += 1
            if let failure = s.apps[appId]?.endpointFailures.first {
                s.apps[appId]?.endpointFailures.removeFirst()
                if failure.status != 200 { return Self.error(failure.status, failure.code, "injected failure") }
                return Self.reply(#"{"code":\#(failure.code),"msg":"injected failure"}"#)
            }
            let n = s.makeID()
            let ticket = Self.hexID("ticket", appId, String(n), length: 36)
            s.tickets[ticket] = (appId, false)
            let url = "\(webSocketBase)/ws/v2?fpid=493&aid=552564&device_id=\(7_000_000 + n)&access_key=\(Self.hexID("key", appId, String(n)))&service_id=\(configuration.serviceID)&ticket=\(ticket)"
            let config = app.clientConfig.jsonText
            return Self.reply(#"{"code":0,"msg":"ok","data":{"URL":"\#(url)","ClientConfig":\#(config)}}"#)
        }
    }

    private func botInfo(appId: String) async -> Response {
        let gate = state.withLock { s -> AsyncGate? in
            s.apps[appId]?.botInfoCalls += 1
            return s.apps[appId]?.botInfoGate
        }
        if let gate { await gate.wait() }
        return state.withLock { s -> Response in
            guard let app = s.apps[appId] else { return Self.error(400, 10003, "invalid param") }
            if app.botInfoFailures > 0 {
                s.apps[appId]?.botInfoFailures -= 1
                return Self.error(500, 1_500, "internal error (injected)")
            }
            if let until = app.botInfoFailingUntil, now < until {
                return Self.error(500, 1_500, "internal error (injected)")
            }
            let bot: JSONValue = ["activate_status": 2, "app_name": .string(app.app.name), "avatar_url": "", "ip_white_list": [],
                                  "open_id": .string(app.app.botOpenID)]
            return Self.reply(JSONValue.object(["code": 0, "msg": "ok", "bot": bot]).jsonText)
        }
    }

    /// The text a message shows: `text`, or the `md`/`text` elements of a post.
    static func visibleText(msgType: String, content: JSONValue) -> String? {
        switch msgType {
        case "text":
            return content["text"]?.stringValue
        case "post":
            let body = content["content"] != nil ? content : (content.objectValue?.values.first ?? .null)
            let lines = body["content"]?.arrayValue ?? []
            return lines.map { line in
                (line.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined()
            }.joined(separator: "\n")
        default:
            return nil
        }
    }

    private func send(_ request: LoopbackHTTPServer.Request, appId: String, replyTo: String?) -> Response {
        var record = FeishuSimulator.Send(appId: appId, kind: replyTo == nil ? "send" : "reply", target: replyTo ?? "", status: 200)
        record.token = String((request.headers["Authorization"] ?? "").dropFirst(7))
        let response: Response = state.withLock { s in
            defer { s.sends.append(record) }
            func fail(_ status: Int, _ code: Int, _ message: String, headers: HTTPHeaders = [:]) -> Response {
                record.status = status
                record.errorCode = code
                return Self.error(status, code, message, headers: headers)
            }
            let parsed = try? JSONDecoder().decode(JSONValue.self, from: request.body)
            record.uuid = parsed?["uuid"]?.stringValue
            if let failure = s.apps[appId]?.injectedFailures.first {
                s.apps[appId]?.injectedFailures.removeFirst()
                var headers: HTTPHeaders = [:]
                if let reset = failure.resetSeconds {
                    headers["x-ogw-ratelimit-limit"] = "50"
                    headers["x-ogw-ratelimit-reset"] = String(reset)
                }
                return fail(failure.status, failure.code, failure.message, headers: headers)
            }
            guard let body = try? JSONDecoder().decode(JSONValue.self, from: request.body), body.objectValue != nil else {
                return fail(400, 230001, "invalid request body")
            }
            guard let msgType = body["msg_type"]?.stringValue, let contentText = body["content"]?.stringValue,
                  let content = try? JSONDecoder().decode(JSONValue.self, from: Data(contentText.utf8)), content.objectValue != nil else {
                return fail(400, 230001, "msg_type and a JSON content string are required")
            }
            record.msgType = msgType
            record.content = contentText
            record.text = Self.visibleText(msgType: msgType, content: content)
            record.uuid = body["uuid"]?.stringValue
            let limit = msgType == "text" ? 150 * 1024 : 30 * 1024
            if request.body.count > limit { return fail(400, 230025, "message content too long") }
            switch msgType {
            case "text":
                guard record.text != nil else { return fail(400, 230001, "text content needs \"text\"") }
            case "post":
                break
            case "image":
                guard let key = content["image_key"]?.stringValue, s.uploads[key] == appId else { return fail(400, 230001, "image_key not uploaded by this app") }
            case "file", "audio", "media":
                guard let key = content["file_key"]?.stringValue, s.uploads[key] == appId else { return fail(400, 230001, "file_key not uploaded by this app") }
            default:
                return fail(400, 230001, "unsupported msg_type")
            }
            // Where the message lands; the token's app must own (be in) that chat.
            let chatID: String
            if let replyTo {
                guard let chat = s.apps[appId]?.messages[replyTo] else {
                    s.misrouted += 1
                    return fail(400, 231003, "message not found or not visible to this app")
                }
                chatID = chat
            } else {
                let type = request.queryValue("receive_id_type") ?? ""
                record.receiveIDType = type
                guard let receiveID = body["receive_id"]?.stringValue else { return fail(400, 230001, "receive_id is required") }
                record.target = receiveID
                switch type {
                case "chat_id":
                    guard s.apps[appId]?.chats.contains(receiveID) == true else {
                        s.misrouted += 1
                        return fail(400, 230002, "bot is not in the chat")
                    }
                    chatID = receiveID
                case "open_id":
                    guard s.apps[appId]?.users.contains(receiveID) == true else {
                        s.misrouted += 1
                        return fail(400, 99_992_361, "open_id cross app")
                    }
                    chatID = "oc_" + Self.hexID("p2p", appId, receiveID)
                default:
                    return fail(400, 99_992_402, "receive_id_type invalid")
                }
            }
            record.chatID = chatID
            if let uuid = record.uuid, let existing = s.apps[appId]?.uuids[uuid] {
                s.apps[appId]?.duplicateUUIDs += 1
                record.messageID = existing
                record.kind += "-deduplicated"
                return Self.reply(#"{"code":0,"msg":"ok","data":{"message_id":"\#(existing)","chat_id":"\#(chatID)","msg_type":"\#(msgType)"}}"#)
            }
            let n = s.makeID()
            let messageID = "om_" + Self.hexID("sent", appId, String(n))
            record.messageID = messageID
            s.apps[appId]?.messages[messageID] = chatID
            if let uuid = record.uuid { s.apps[appId]?.uuids[uuid] = messageID }
            let data: JSONValue = ["message_id": .string(messageID), "root_id": "", "parent_id": .string(replyTo ?? ""), "msg_type": .string(msgType),
                                   "create_time": .string(String(Int64(now.timeIntervalSince1970 * 1000))), "chat_id": .string(chatID),
                                   "sender": ["id": .string(s.apps[appId]?.app.appId ?? ""), "id_type": "app_id", "sender_type": "app"],
                                   "body": ["content": .string(contentText)]]
            return Self.reply(JSONValue.object(["code": 0, "msg": "ok", "data": data]).jsonText)
        }
        return response
    }

    private func upload(_ request: LoopbackHTTPServer.Request, appId: String, image: Bool) -> Response {
        let parts = Self.multipart(request)
        let fileField = image ? "image" : "file"
        var record = FeishuSimulator.Send(appId: appId, kind: image ? "image-upload" : "file-upload", target: "", status: 200)
        return state.withLock { s -> Response in
            defer { s.sends.append(record) }
            guard let file = parts[fileField], !file.data.isEmpty else {
                record.status = 400
                record.errorCode = 234001
                return Self.error(400, 234001, "\(fileField) is required")
            }
            if image && parts["image_type"]?.text != "message" {
                record.status = 400
                record.errorCode = 234001
                return Self.error(400, 234001, "image_type must be message")
            }
            if !image && (parts["file_type"] == nil || parts["file_name"] == nil) {
                record.status = 400
                record.errorCode = 234001
                return Self.error(400, 234001, "file_type and file_name are required")
            }
            let n = s.makeID()
            let key = (image ? "img_v3_" : "file_v3_") + Self.hexID("upload", appId, String(n), length: 24)
            s.uploads[key] = appId
            record.target = key
            return Self.reply(#"{"code":0,"msg":"ok","data":{"\#(image ? "image_key" : "file_key")":"\#(key)"}}"#)
        }
    }

    struct FormPart {
        var data: Data
        var text: String { String(decoding: data, as: UTF8.self) }
    }

    /// Parses a `multipart/form-data` body into its named parts.
    static func multipart(_ request: LoopbackHTTPServer.Request) -> [String: FormPart] {
        guard let type = request.headers["Content-Type"], let range = type.range(of: "boundary=") else { return [:] }
        let boundary = Array(("--" + type[range.upperBound...].trimmingCharacters(in: CharacterSet(charactersIn: "\" "))).utf8)
        let body = Array(request.body)
        var parts: [String: FormPart] = [:]
        var starts: [Int] = []
        var i = 0
        while i + boundary.count <= body.count {
            if body[i] == boundary[0] && Array(body[i..<(i + boundary.count)]) == boundary { starts.append(i); i += boundary.count } else { i += 1 }
        }
        for (a, b) in zip(starts, starts.dropFirst()) {
            var segment = Array(body[(a + boundary.count)..<b])
            if segment.starts(with: [13, 10]) { segment.removeFirst(2) }
            if segment.suffix(2) == [13, 10] { segment.removeLast(2) }
            guard let split = (0..<max(0, segment.count - 3)).first(where: { segment[$0] == 13 && segment[$0 + 1] == 10 && segment[$0 + 2] == 13 && segment[$0 + 3] == 10 }) else { continue }
            let head = String(decoding: segment[..<split], as: UTF8.self)
            guard let nameRange = head.range(of: "name=\"") else { continue }
            let name = String(head[nameRange.upperBound...].prefix { $0 != "\"" })
            parts[name] = FormPart(data: Data(segment[(split + 4)...]))
        }
        return parts
    }
}
