import Foundation
import ChannelKit

extension OpenIMSimulator {
    func installGateway(on http: LoopbackHTTPServer) {
        http.fallback { [weak self] request in
            guard let self else { return .text("gone", status: 503) }
            return self.upgrade(request)
        }
    }

    private static func result(_ code: Int, _ message: String) -> String {
        JSONValue.object(["errCode": .number(Double(code)), "errMsg": .string(message), "errDlt": ""]).jsonText
    }

    /// Checks the connect arguments and token; answers with the upgrade (and the connect
    /// result as the first text frame) or, without `isMsgResp`, a plain HTTP 200 error body.
    private func upgrade(_ request: LoopbackHTTPServer.Request) -> LoopbackHTTPServer.Response {
        guard let key = request.headers["Sec-WebSocket-Key"], request.headers["Upgrade"]?.lowercased() == "websocket" else {
            return .text("expected a WebSocket upgrade", status: 400)
        }
        let q = { (name: String) in request.queryValue(name) ?? "" }
        let userID = q("sendID"), token = q("token"), platform = q("platformID")
        var code = 0, message = ""
        state.withLock { s in
            let record = s.tokens[token]
            if q("sdkType") != "js" || q("operationID").isEmpty || Bool(q("isBackground")) == nil || Int(platform) == nil || userID.isEmpty {
                (code, message) = (1602, "ConnArgsErr")
            } else if let record {
                switch record.status {
                case .expired: (code, message) = (1501, "TokenExpiredError")
                case .invalid: (code, message) = (1502, "TokenInvalidError")
                case .kicked: (code, message) = (1506, "TokenKickedError")
                case .normal:
                    if record.userID != userID || record.platformID != Int(platform) {
                        (code, message) = (1502, "TokenInvalidError: token belongs to another user or platform")
                        if record.userID != userID { s.misrouted += 1 }
                    }
                }
            } else {
                (code, message) = (1507, "TokenNotExistError")
            }
            s.connects.append(ConnectRecord(userID: userID, platformID: platform, sdkType: q("sdkType"), isMsgResp: q("isMsgResp"),
                                            tokenOwner: record?.userID, errCode: code))
        }
        if q("isMsgResp") != "true", code != 0 {
            return .json(raw: Self.result(code, message))
        }
        let upgrade = WebSocketUpgradeRequest(target: request.target, headers: request.headers, key: key)
        let maximum = configuration.maximumFrameSize
        let platformID = Int(platform) ?? 0
        let gzip = q("compression") == "gzip" || request.headers["compression"] == "gzip"
        let (finalCode, finalMessage) = (code, message)
        return .takeOver { [weak self] tcp in
            do { try await tcp.write(WebSocketHandshake.switchingProtocolsBytes(for: upgrade)) } catch { return }
            let connection = LoopbackWebSocketServer.Connection(tcp: tcp, request: upgrade, maximumMessageSize: maximum)
            if finalCode != 0 {
                try? await connection.send(text: Self.result(finalCode, finalMessage))
                await connection.close(code: .normalClosure, reason: "")
                return
            }
            await self?.serve(connection, tcp: tcp, userID: userID, platformID: platformID, token: token, gzip: gzip)
        }
    }

    private func serve(_ connection: LoopbackWebSocketServer.Connection, tcp: LoopbackTCPConnection, userID: String, platformID: Int, token: String, gzip: Bool) async {
        let (outbox, continuation) = AsyncStream.makeStream(of: OpenIMSimulatorOutgoing.self)
        let sessionID = state.withLock { s -> Int in
            // Multi-login policy 1: a new token on the same user and platform kicks the old one.
            for id in s.sessionIDs(of: userID) where s.sessions[id]?.platformID == platformID && s.sessions[id]?.token != token {
                if let old = s.sessions[id]?.token { s.tokens[old]?.status = .kicked }
                s.sessions[id]?.outbox.yield(.binary(OpenIMSimulatorWire.envelope(2002, data: [])))
                s.sessions[id]?.outbox.yield(.close(code: 1000, reason: ""))
            }
            s.nextSessionID += 1
            s.sessions[s.nextSessionID] = .init(userID: userID, platformID: platformID, token: token, gzip: gzip, outbox: continuation)
            return s.nextSessionID
        }
        continuation.yield(.text(Self.result(0, "")))
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await item in outbox {
                    switch item {
                    case .text(let text): try? await connection.send(text: text)
                    case .binary(let data): try? await connection.send(.binary(gzip ? OpenIMSimulatorWire.gzip([UInt8](data)) : data))
                    case .close(let code, let reason):
                        await connection.close(code: WebSocketCloseCode(code), reason: reason)
                    case .abort:
                        tcp.shutdownWrite()
                        connection.abort()
                        return
                    }
                }
            }
            while true {
                let message: WebSocketMessage?
                do { message = try await connection.receive() } catch {
                    if let e = error as? ChannelError, e.code == .protocolViolation, e.platformCode == 1009 {
                        state.withLock { $0.closedForOversize += 1 }
                    }
                    break
                }
                guard var message else { break }
                if gzip, case .binary(let data) = message {
                    // compression=gzip: every binary frame is a gzip member.
                    guard let plain = OpenIMSimulatorWire.gunzipStored(data) else { break }
                    message = .binary(Data(plain))
                }
                if !handle(message, session: sessionID) {
                    continuation.yield(.close(code: 1000, reason: ""))
                    break
                }
            }
            state.withLock { _ = $0.sessions.removeValue(forKey: sessionID) }
            continuation.finish()
            group.cancelAll()
        }
    }

    /// Handles one uplink frame; `false` closes the socket.
    private func handle(_ message: WebSocketMessage, session id: Int) -> Bool {
        switch message {
        case .text(let text):
            guard let object = (try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)))?.objectValue,
                  object["type"]?.stringValue == "ping" else { return false }
            let pong = JSONValue.object(["type": "pong", "body": object["body"] ?? .null]).jsonText
            _ = state.withLock { s in s.sessions[id]?.outbox.yield(.text(pong)) }
            return true
        case .binary(let data):
            guard let object = (try? JSONDecoder().decode(JSONValue.self, from: data))?.objectValue,
                  let req = object["reqIdentifier"]?.intValue else { return false }
            let msgIncr = object["msgIncr"]?.stringValue ?? "", operationID = object["operationID"]?.stringValue ?? ""
            let payload = object["data"]?.stringValue.flatMap { Data(base64Encoded: $0) }.map { [UInt8]($0) } ?? []
            let now = configuration.time.now()
            var toStore: OpenIMSimulatorMessage?
            let keep = state.withLock { s -> Bool in
                guard let session = s.sessions[id] else { return false }
                guard object["sendID"]?.stringValue == session.userID else { s.misrouted += 1; return false }
                if let pending = s.droppedReplies[session.userID]?[req], pending > 0, req != 1003 {
                    s.droppedReplies[session.userID]?[req] = pending - 1
                    if req == 1001 { s.maxSeqRequests += 1 } else if req == 1002 { s.pulls += 1 }
                    return true
                }
                func reply(_ data: [UInt8], code: Int = 0, message: String = "") {
                    session.outbox.yield(.binary(OpenIMSimulatorWire.envelope(req, msgIncr: msgIncr, operationID: operationID,
                                                                             errCode: code, errMsg: message, data: data)))
                }
                switch req {
                case 1001:
                    s.maxSeqRequests += 1
                    var max: [String: Int64] = [:], min: [String: Int64] = [:]
                    for c in s.conversationIDs(of: session.userID) {
                        max[c] = Int64(s.conversations[c]?.count ?? 0)
                        min[c] = 1
                    }
                    reply(OpenIMSimulatorWire.maxSeqs(max, min: min))
                case 1002:
                    s.pulls += 1
                    guard let request = try? OpenIMSimulatorWire.pullRequest(payload) else { reply([], code: 1001, message: "ArgsError"); return true }
                    if request.userID != session.userID { s.misrouted += 1 }
                    let mine = Set(s.conversationIDs(of: session.userID))
                    var out: [(String, [OpenIMSimulatorMessage])] = []
                    for (conversationID, begin, end, _) in request.ranges where mine.contains(conversationID) {
                        let all = s.conversations[conversationID] ?? []
                        let picked = all.filter { $0.seq >= begin && $0.seq <= end }.prefix(100)
                        if !picked.isEmpty { out.append((conversationID, Array(picked))) }
                    }
                    reply(OpenIMSimulatorWire.pushMessages(out))
                case 1003:
                    guard var m = try? OpenIMSimulatorWire.message(payload) else { reply([], code: 1001, message: "ArgsError"); return true }
                    if m.sendID != session.userID { s.misrouted += 1; reply([], code: 1002, message: "NoPermissionError"); return true }
                    if var failures = s.sendFailures[session.userID], !failures.isEmpty {
                        let failure = failures.removeFirst()
                        s.sendFailures[session.userID] = failures
                        reply([], code: failure.code, message: failure.message)
                        return true
                    }
                    if m.sessionType == 3 {
                        guard s.groups[m.groupID]?.contains(session.userID) == true else {
                            s.misrouted += 1
                            reply([], code: 1203, message: "NotInGroupYetError")
                            return true
                        }
                    } else if m.sessionType != 1 || m.recvID.isEmpty {
                        reply([], code: 1001, message: "ArgsError: sessionType")
                        return true
                    }
                    // A resent clientMsgID is answered with the stored message, not stored twice.
                    for (_, msgs) in s.conversations {
                        if let stored = msgs.first(where: { $0.clientMsgID == m.clientMsgID && $0.sendID == m.sendID }) {
                            reply(OpenIMSimulatorWire.sendMsgResp(serverMsgID: stored.serverMsgID, clientMsgID: stored.clientMsgID, sendTime: stored.sendTime))
                            return true
                        }
                    }
                    m.createTime = m.createTime == 0 ? Int64(now.timeIntervalSince1970 * 1000) : m.createTime
                    toStore = m
                default:
                    return false
                }
                return true
            }
            guard keep, let pendingMessage = toStore else { return keep }
            let stored = store(pendingMessage, echo: true)
            state.withLock { s in
                let conversationID = stored.sessionType == 3 ? "sg_\(stored.groupID)" : OpenIMSimulatorState.singleConversation(stored.sendID, stored.recvID)
                s.sends.append(SentRecord(sendID: stored.sendID, conversationID: conversationID, message: stored))
                s.sessions[id]?.outbox.yield(.binary(OpenIMSimulatorWire.envelope(
                    req, msgIncr: msgIncr, operationID: operationID,
                    data: OpenIMSimulatorWire.sendMsgResp(serverMsgID: stored.serverMsgID, clientMsgID: stored.clientMsgID, sendTime: stored.sendTime))))
            }
            return true
        }
    }
}
