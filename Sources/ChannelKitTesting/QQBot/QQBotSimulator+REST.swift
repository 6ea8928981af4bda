import Foundation
import Synchronization
import ChannelKit

extension QQBotSimulator.Core {
    typealias Response = LoopbackHTTPServer.Response

    /// A JSON reply with the platform's exact `Content-Type: application/json` (the
    /// official Python SDK parses only that exact value as JSON).
    static func reply(_ json: String, status: Int = 200, headers: HTTPHeaders = [:]) -> Response {
        var all = headers
        all["Content-Type"] = "application/json"
        all["X-Tps-trace-ID"] = "sim-trace"
        return .json(raw: json, status: status, headers: all)
    }

    static func error(_ status: Int, _ code: Int, _ message: String, headers: HTTPHeaders = [:]) -> Response {
        reply(#"{"code":\#(code),"message":"\#(message)","err_code":\#(code),"trace_id":"sim-trace"}"#, status: status, headers: headers)
    }

    /// Routes one REST request.
    func handle(_ request: LoopbackHTTPServer.Request) -> Response {
        let path = request.path.removingPercentEncoding ?? request.path
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if request.method == .post && path == "/app/getAppAccessToken" {
            guard let body = try? JSONDecoder().decode(JSONValue.self, from: request.body),
                  let appId = body["appId"]?.stringValue, let secret = body["clientSecret"]?.stringValue else {
                return Self.error(400, 100016, "invalid appid or secret")
            }
            let (status, text) = issueToken(appId: appId, secret: secret)
            return Self.reply(text, status: status)
        }
        let auth = authenticate(request.headers["Authorization"])
        let appId: String
        switch auth {
        case .failure(let f):
            if request.method == .post { recordRejectedAuth(request, parts: parts, status: f.status, code: f.code) }
            return Self.error(f.status, f.code, f.message)
        case .success(let id): appId = id
        }
        func match(_ pattern: [String]) -> String? {
            guard parts.count == pattern.count else { return nil }
            var captured: String?
            for (part, want) in zip(parts, pattern) {
                if want == "*" { captured = part } else if part != want { return nil }
            }
            return captured ?? ""
        }
        if request.method == .get {
            if match(["gateway"]) != nil { return Self.reply(#"{"url":"\#(gatewayURL)"}"#) }
            if match(["gateway", "bot"]) != nil {
                return Self.reply(#"{"url":"\#(gatewayURL)","shards":1,"session_start_limit":{"total":1000,"remaining":999,"reset_after":86400000,"max_concurrency":1}}"#)
            }
            if match(["users", "@me"]) != nil {
                guard let bot = state.withLock({ $0.apps[appId]?.bot }) else { return Self.error(404, 11251, "bad appid") }
                return Self.reply(Self.json(["id": .string(bot.userID), "username": .string(bot.username), "avatar": "", "bot": true]))
            }
        }
        if request.method == .post {
            if let t = match(["v2", "users", "*", "messages"]) { return send(request, appId: appId, scene: "c2c", target: t) }
            if let t = match(["v2", "groups", "*", "messages"]) { return send(request, appId: appId, scene: "group", target: t) }
            if let t = match(["channels", "*", "messages"]) { return send(request, appId: appId, scene: "guild", target: t) }
            if let t = match(["dms", "*", "messages"]) { return send(request, appId: appId, scene: "guild-dm", target: t) }
            if let t = match(["v2", "users", "*", "files"]) { return upload(request, appId: appId, scene: "c2c", target: t) }
            if let t = match(["v2", "groups", "*", "files"]) { return upload(request, appId: appId, scene: "group", target: t) }
        }
        return Self.error(404, 404, "no such endpoint")
    }

    private func recordRejectedAuth(_ request: LoopbackHTTPServer.Request, parts: [String], status: Int, code: Int) {
        let header = request.headers["Authorization"] ?? ""
        let token = header.hasPrefix("QQBot ") ? String(header.dropFirst(6)) : header
        let owner = state.withLock { $0.tokens[token]?.appId }
        let send = QQBotSimulator.Send(appId: owner, token: token, scene: parts.first ?? "", targetID: parts.count > 2 ? parts[2] : "",
                                       status: status, errorCode: code)
        state.withLock { $0.sends.append(send) }
    }

    private func replyWindow(_ scene: String) -> Double {
        switch scene {
        case "c2c": configuration.c2cReplyWindow.seconds
        case "group": configuration.groupReplyWindow.seconds
        default: configuration.guildReplyWindow.seconds
        }
    }

    /// Checks token and peer; returns a failure response or the token used.
    private func check(_ request: LoopbackHTTPServer.Request, appId: String, scene: String, target: String,
                       record: inout QQBotSimulator.Send) -> Response? {
        let peerKey = scene + ":" + target
        return state.withLock { s -> Response? in
            if let failure = s.apps[appId]?.injectedFailures.first {
                s.apps[appId]?.injectedFailures.removeFirst()
                record.status = failure.status
                record.errorCode = failure.code
                return Self.error(failure.status, failure.code, failure.message,
                                  headers: failure.retryAfter.map { ["Retry-After": String($0)] } ?? [:])
            }
            guard s.apps[appId]?.peers.contains(peerKey) == true else {
                // A peer of another bot (crossed token) or of nobody: the platform refuses.
                s.misrouted += 1
                record.status = 500
                record.errorCode = 11255
                return Self.error(500, 11255, "invalid request")
            }
            return nil
        }
    }

    private func send(_ request: LoopbackHTTPServer.Request, appId: String, scene: String, target: String) -> Response {
        let token = String((request.headers["Authorization"] ?? "").dropFirst(6))
        var record = QQBotSimulator.Send(appId: appId, token: token, scene: scene, targetID: target, status: 200)
        defer { state.withLock { $0.sends.append(record) } }
        guard let body = try? JSONDecoder().decode(JSONValue.self, from: request.body), body.objectValue != nil else {
            record.status = 400
            record.errorCode = 40034001
            return Self.error(400, 40034001, "invalid json")
        }
        record.msgID = body["msg_id"]?.stringValue
        record.msgSeq = body["msg_seq"]?.intValue
        record.msgType = body["msg_type"]?.intValue
        record.content = body["content"]?.stringValue
        record.markdown = body["markdown"]?["content"]?.stringValue
        record.fileInfo = body["media"]?["file_info"]?.stringValue
        if let failure = check(request, appId: appId, scene: scene, target: target, record: &record) { return failure }
        let v2 = scene == "c2c" || scene == "group"
        let now = self.now
        func fail(_ status: Int, _ code: Int, _ message: String) -> Response {
            record.status = status
            record.errorCode = code
            return Self.error(status, code, message)
        }
        let type = record.msgType ?? 0
        switch type {
        case 0:
            guard let content = record.content, !content.trimmingCharacters(in: .whitespaces).isEmpty else {
                if !v2, body["image"]?.stringValue != nil { break }
                return fail(400, 50006, "message is empty")
            }
        case 2:
            guard state.withLock({ $0.apps[appId]?.bot.markdownAllowed }) == true else { return fail(400, 40034012, "markdown not allowed") }
            guard let md = record.markdown, !md.isEmpty else { return fail(400, 50006, "message is empty") }
        case 7:
            guard let info = record.fileInfo else { return fail(400, 40034025, "media.file_info missing") }
            let upload = state.withLock { $0.uploads[info] }
            guard let upload, upload.appId == appId, upload.scene == scene, upload.target == target else {
                return fail(400, 40034025, "file_info invalid for this bot and target")
            }
        default:
            break
        }
        let outcome: Response? = state.withLock { s -> Response? in
            guard let msgID = record.msgID else {
                return configuration.allowProactive ? nil : fail(400, 40034102, "proactive message not allowed")
            }
            guard var inbound = s.inbound[msgID] else { return fail(400, 40034024, "msg_id invalid") }
            guard inbound.appId == appId, inbound.scene == scene, inbound.target == target else {
                s.misrouted += 1
                return fail(400, 40034024, "msg_id invalid")
            }
            guard now.timeIntervalSince(inbound.receivedAt) <= replyWindow(scene) else {
                return fail(400, 304027, "reply window expired")
            }
            if v2 {
                let seq = record.msgSeq ?? 1
                guard inbound.seqs.insert(seq).inserted else { return fail(400, 40054005, "duplicate msg_seq") }
                s.inbound[msgID] = inbound
            }
            return nil
        }
        if let outcome { return outcome }
        let n = state.withLock { $0.makeID() }
        let id = "SIMMSG." + appId + "." + String(n)
        record.messageID = id
        return Self.reply(#"{"id":"\#(id)","timestamp":"\#(Self.rfc3339(now))"}"#)
    }

    private func upload(_ request: LoopbackHTTPServer.Request, appId: String, scene: String, target: String) -> Response {
        let token = String((request.headers["Authorization"] ?? "").dropFirst(6))
        var record = QQBotSimulator.Send(appId: appId, token: token, scene: scene + "-file", targetID: target, status: 200)
        defer { state.withLock { $0.sends.append(record) } }
        if let failure = check(request, appId: appId, scene: scene, target: target, record: &record) { return failure }
        guard let body = try? JSONDecoder().decode(JSONValue.self, from: request.body),
              let fileType = body["file_type"]?.intValue, (1...4).contains(fileType),
              body["url"]?.stringValue != nil || body["file_data"]?.stringValue != nil else {
            record.status = 400
            record.errorCode = 40034001
            return Self.error(400, 40034001, "file_type and url or file_data required")
        }
        let info = state.withLock { s -> String in
            let n = s.makeID()
            let info = "SIMFILE" + QQBotSimulator.openID("file", appId, String(n))
            s.uploads[info] = QQBotSimulator.UploadRecord(appId: appId, scene: scene, target: target)
            return info
        }
        record.fileInfo = info
        return Self.reply(#"{"file_uuid":"\#(info.suffix(16))","file_info":"\#(info)","ttl":0}"#)
    }
}
