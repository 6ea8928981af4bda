import Foundation
import ChannelKit

extension ClawChatSimulator {
    /// Serves one upgraded connection: challenge, connect, hello, replay, frames.
    func serveWebSocket(_ connection: LoopbackWebSocketServer.Connection, tcp: LoopbackTCPConnection) async {
        let (outbox, continuation) = AsyncStream.makeStream(of: ClawChatSimulatorOutgoing.self)
        let now = configuration.time.now()
        let (sessionID, nonce) = state.withLock { s -> (Int, String) in
            s.nextSessionID += 1
            let nonce = String(TestJWT.base64URL(Data(Self.ulid(now, &s).utf8)).prefix(24))
            s.sessions[s.nextSessionID] = .init(nonce: nonce, outbox: continuation)
            return (s.nextSessionID, nonce)
        }
        let authenticated = AsyncGate()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await item in outbox {
                    switch item {
                    case .text(let text): try? await connection.send(text: text)
                    case .ping: try? await connection.ping()
                    case .close(let code, let reason): await connection.close(code: WebSocketCloseCode(code), reason: reason)
                    case .abort:
                        // FIN first: it leaves at once, while the RST of abort() may wait
                        // until the loopback poller next wakes. Either way: no close frame (1006).
                        tcp.shutdownWrite()
                        connection.abort()
                        return
                    }
                }
            }
            if let timeout = configuration.handshakeTimeout {
                let time = configuration.time
                group.addTask {
                    let timedOut = await withTaskGroup(of: Bool.self) { inner in
                        inner.addTask { await authenticated.wait(); return false }
                        inner.addTask { (try? await time.sleep(for: timeout)) != nil }
                        let first = await inner.next() ?? false
                        inner.cancelAll()
                        authenticated.open()
                        return first
                    }
                    if timedOut { continuation.yield(.abort) }
                }
            }
            if let interval = configuration.serverPingInterval {
                let time = configuration.time
                group.addTask {
                    while (try? await time.sleep(for: interval)) != nil { continuation.yield(.ping) }
                }
            }
            continuation.yield(.text(Self.encode(.object([
                "version": "2", "event": "connect.challenge", "trace_id": "challenge",
                "emitted_at": .number(Self.millis(now)), "payload": .object(["nonce": .string(nonce)]),
            ]))))
            while let message = try? await connection.receive() {
                guard case .text(let text) = message else { continue }
                if handleUplink(text, session: sessionID) { authenticated.open() }
            }
            state.withLock { $0.removeSession(sessionID) }
            authenticated.open()
            continuation.finish()
            group.cancelAll()
        }
    }

    static func millis(_ date: Date) -> Double { (date.timeIntervalSince1970 * 1000).rounded() }

    /// Handles one uplink frame; returns `true` once the session is authenticated.
    private func handleUplink(_ text: String, session id: Int) -> Bool {
        let now = configuration.time.now()
        let frame = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        return state.withLock { s -> Bool in
            guard var session = s.sessions[id] else { return false }
            guard case .object(let members)? = frame, let event = members["event"]?.stringValue else {
                return session.authenticated   // malformed: dropped silently
            }
            let trace = members["trace_id"]?.stringValue ?? ""
            let payload = members["payload"] ?? .object([:])
            if !session.authenticated {
                guard event == "connect" else { return false }
                connect(payload: payload, trace: trace, session: &session, id: id, now: now, state: &s)
                return session.authenticated
            }
            guard let userID = session.userID else { return true }
            s.uplinks[userID, default: []].append(text)
            guard members["version"]?.stringValue == "2" else {
                session.outbox.yield(.text(Self.errorFrame(trace: trace, chatID: members["chat_id"]?.stringValue, messageID: payload["message_id"]?.stringValue,
                                                           code: "unsupported_version", reason: "version must be \"2\"", now: now)))
                return true
            }
            switch event {
            case "ping" where configuration.answersJSONPing:
                session.outbox.yield(.text(Self.encode(.object(["version": "2", "event": "pong", "trace_id": .string(trace),
                                                                 "emitted_at": .number(Self.millis(now))]))))
            case "ack":
                if let dseq = payload["dseq"]?.intValue, dseq > 0 {
                    s.delivered[.init(userID: userID, deviceID: session.deviceID), default: []].insert(dseq)
                }
            case "message.send", "message.reply":
                accept(event: event, members: members, text: text, session: session, now: now, state: &s)
            default:
                break
            }
            return true
        }
    }

    private func connect(payload: JSONValue, trace: String, session: inout ClawChatSimulatorState.Session, id: Int, now: Date,
                         state s: inout ClawChatSimulatorState) {
        let token = payload["token"]?.stringValue ?? ""
        let device = payload["device_id"]?.stringValue ?? "default"
        let version = payload["protocol_version"]?.intValue
        var capabilities: [String: Bool] = [:]
        for (key, value) in payload["capabilities"]?.objectValue ?? [:] { capabilities[key] = value.boolValue ?? false }
        let record = s.accessTokens[token]
        let owner = record?.userID
        func fail(_ reason: String) {
            s.connects.append(ConnectRecord(userID: owner, token: token, deviceID: device, protocolVersion: version,
                                            capabilities: capabilities, result: reason))
            session.outbox.yield(.text(Self.encode(.object(["version": "2", "event": "hello-fail", "trace_id": .string(trace),
                                                             "payload": .object(["reason": .string(reason)])]))))
            session.outbox.yield(.abort)   // no close frame: the client sees 1006
        }
        if let owner, var scripted = s.helloFailScripts[owner], !scripted.isEmpty {
            let reason = scripted.removeFirst()
            s.helloFailScripts[owner] = scripted
            return fail(reason)
        }
        guard payload["nonce"]?.stringValue == session.nonce else { return fail("nonce mismatch") }
        guard let record, let owner, !record.revoked, record.expiresAt > now else { return fail("authentication failed") }
        // A newer session takes over the same (user, device).
        for otherID in s.sessionIDs(of: owner) where otherID != id {
            guard let other = s.sessions[otherID], other.deviceID == device else { continue }
            other.outbox.yield(.close(code: 4001, reason: "session replaced"))
            s.setUser(nil, ofSession: otherID)
        }
        session.userID = owner
        session.deviceID = device
        session.token = token
        session.ackMode = configuration.grantsAckMode && version == 2
        s.connects.append(ConnectRecord(userID: owner, token: token, deviceID: device, protocolVersion: version,
                                        capabilities: capabilities, result: "hello-ok"))
        var helloPayload: [String: JSONValue] = ["device_id": .string(device), "delivery_mode": "device_replay"]
        if session.ackMode {
            helloPayload["ack_mode"] = "dseq"
            helloPayload["ack_epoch"] = .number(Double(s.ackEpoch))
        }
        session.outbox.yield(.text(Self.encode(.object(["version": "2", "event": "hello-ok", "trace_id": .string(trace),
                                                         "payload": .object(helloPayload)]))))
        // Replay what this (user, device) has not had yet, then replay.done.
        let key = ClawChatSimulatorState.DeviceKey(userID: owner, deviceID: device)
        for (index, entry) in (s.inbox[owner] ?? []).enumerated() where !(s.delivered[key]?.contains(index + 1) ?? false) {
            session.outbox.yield(.text(Self.render(entry.frame, dseq: session.ackMode ? index + 1 : nil)))
            if !session.ackMode { s.delivered[key, default: []].insert(index + 1) }
        }
        if configuration.sendsReplayDone {
            session.outbox.yield(.text(Self.encode(.object(["version": "2", "event": "replay.done", "trace_id": "replay",
                                                             "emitted_at": .number(Self.millis(now)), "payload": .object([:])]))))
        }
        s.sessions[id] = session
        s.setUser(owner, ofSession: id)
    }

    private func accept(event: String, members: [String: JSONValue], text: String, session: ClawChatSimulatorState.Session, now: Date,
                        state s: inout ClawChatSimulatorState) {
        guard let userID = session.userID else { return }
        let trace = members["trace_id"]?.stringValue ?? ""
        let payload = members["payload"] ?? .object([:])
        guard let chatID = members["chat_id"]?.stringValue, !chatID.isEmpty else { return }   // dropped silently
        let messageID = payload["message_id"]?.stringValue ?? "msg-" + Self.ulid(now, &s)
        let legacy = s.legacyErrorField.contains(userID)
        func reject(_ code: String, _ reason: String) {
            session.outbox.yield(.text(Self.errorFrame(trace: trace, chatID: chatID, messageID: messageID, code: code, reason: reason,
                                                       legacy: legacy, now: now)))
        }
        if messageID.utf8.count > 512 { return reject("message_id_too_long", "message_id is over 512 bytes") }
        guard let chat = s.chats[chatID] else { return reject("chat_not_found", "no such chat") }
        guard chat.members.contains(userID) else {
            s.misrouted += 1
            return reject("not_member", "sender is not a member of the chat")
        }
        if var scripted = s.sendErrorScripts[userID], !scripted.isEmpty {
            let next = scripted.removeFirst()
            s.sendErrorScripts[userID] = scripted
            return reject(next.code, next.reason)
        }
        let fragments = payload["message"]?["body"]?["fragments"]?.arrayValue ?? []
        let textParts = fragments.compactMap { $0["kind"]?.stringValue == "text" ? $0["text"]?.stringValue : nil }
        let uniqueKey = userID + "\u{0}" + messageID
        let duplicate = s.acceptedIDs.contains(uniqueKey)
        s.acceptedIDs.insert(uniqueKey)
        s.sent.append(SentRecord(
            userID: userID, wsDeviceID: session.deviceID, token: session.token, event: event, chatID: chatID, messageID: messageID,
            traceID: trace, text: textParts.joined(), fragmentKinds: fragments.compactMap { $0["kind"]?.stringValue },
            replyTo: payload["message"]?["context"]?["reply"]?["reply_to_msg_id"]?.stringValue, frame: text, wasDuplicate: duplicate))
        if !duplicate {
            var downPayload = payload.objectValue ?? [:]
            downPayload["message_id"] = .string(messageID)
            if var message = downPayload["message"]?.objectValue {
                message["streaming"] = .null
                downPayload["message"] = .object(message)
            }
            fanOut(event: event, chatID: chatID, from: userID, messageID: messageID, payload: .object(downPayload),
                   includeSender: configuration.echoToSender, now: now, state: &s)
        }
        if let dropping = s.droppedAcks[userID], dropping > 0 {
            s.droppedAcks[userID] = dropping - 1
            return
        }
        var ackedID = messageID
        if let corrupt = s.corruptAcks[userID], corrupt > 0 {
            s.corruptAcks[userID] = corrupt - 1
            ackedID = "msg-" + Self.ulid(now, &s)
        }
        session.outbox.yield(.text(Self.encode(.object([
            "version": "2", "event": "message.ack", "trace_id": .string(trace), "chat_id": .string(chatID),
            "emitted_at": .number(Self.millis(now)),
            "payload": .object(["message_id": .string(ackedID), "accepted_at": .number(Self.millis(now))]),
        ]))))
    }

    static func errorFrame(trace: String, chatID: String?, messageID: String?, code: String, reason: String, legacy: Bool = false,
                           now: Date) -> String {
        var payload: [String: JSONValue] = ["code": .string(code), "rejected_at": .number(millis(now))]
        if !reason.isEmpty { payload[legacy ? "message" : "reason"] = .string(reason) }
        if let messageID { payload["message_id"] = .string(messageID) }
        var frame: [String: JSONValue] = ["version": "2", "event": "message.error", "trace_id": .string(trace), "payload": .object(payload)]
        if let chatID {
            frame["chat_id"] = .string(chatID)
            frame["to"] = .object(["id": .string(chatID), "type": "direct"])
        }
        return encode(.object(frame))
    }

    /// Stores a message in every member's inbox (once per recipient) and pushes it to live sockets.
    func deliver(event: String, chatID: String, from sender: String, messageID: String, payload: JSONValue, includeSender: Bool) {
        let now = configuration.time.now()
        state.withLock { s in
            fanOut(event: event, chatID: chatID, from: sender, messageID: messageID, payload: payload, includeSender: includeSender, now: now, state: &s)
        }
    }

    private func fanOut(event: String, chatID: String, from sender: String, messageID: String, payload: JSONValue, includeSender: Bool,
                        now: Date, state s: inout ClawChatSimulatorState) {
        guard let chat = s.chats[chatID] else { return }
        let nickname = s.accounts[sender]?.account.nickname ?? sender
        let frame: [String: JSONValue] = [
            "version": "2", "event": .string(event), "trace_id": .string("srv-" + Self.ulid(now, &s)),
            "emitted_at": .number(Self.millis(now)), "chat_id": .string(chatID), "chat_type": .string(chat.type.rawValue),
            "to": .object(["id": .string(chatID), "type": .string(chat.type.rawValue)]),
            "sender": .object(["id": .string(sender), "type": "direct", "nick_name": .string(nickname)]),
            "payload": payload,
        ]
        for member in chat.members where includeSender || member != sender {
            if s.inboxIDs[member]?.contains(messageID) == true { continue }   // UNIQUE(recipient, message_id)
            s.inboxIDs[member, default: []].insert(messageID)
            s.inbox[member, default: []].append(.init(messageID: messageID, frame: frame))
            let position = s.inbox[member, default: []].count
            for id in s.sessionIDs(of: member) {
                guard let session = s.sessions[id] else { continue }
                session.outbox.yield(.text(Self.render(frame, dseq: session.ackMode ? position : nil)))
                if !session.ackMode { s.delivered[.init(userID: member, deviceID: session.deviceID), default: []].insert(position) }
            }
        }
    }
}
