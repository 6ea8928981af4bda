import Foundation
import Synchronization
import ChannelKit

extension QQBotSimulator.Core {
    /// Serves one gateway connection: Hello, then client frames until it closes.
    func serve(_ connection: LoopbackWebSocketServer.Connection) async {
        let (outbox, continuation) = AsyncStream.makeStream(of: QQBotSimulator.Outgoing.self)
        let id: UInt64? = state.withLock { s in
            if s.closed { return nil }
            let id = s.makeID()
            s.connections[id] = QQBotSimulator.ConnectionRecord(outbox: continuation)
            return id
        }
        guard let id else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await item in outbox {
                    switch item {
                    case .text(let text):
                        try? await connection.send(text: text)
                    case .close(let code, let reason):
                        await connection.close(code: WebSocketCloseCode(code), reason: reason)
                    case .abort:
                        connection.abort()
                        return
                    }
                }
            }
            let interval = Int(configuration.heartbeatInterval.seconds * 1000)
            continuation.yield(.text(#"{"op":10,"d":{"heartbeat_interval":\#(interval)}}"#))
            while let message = try? await connection.receive() {
                guard case .text(let text) = message else {
                    continuation.yield(.close(4002, "invalid payload"))
                    continue
                }
                handleFrame(text, connection: id, outbox: continuation)
            }
            state.withLock { s in
                if let sid = s.connections[id]?.sessionID, s.sessions[sid]?.connection == id { s.sessions[sid]?.connection = nil }
                s.connections[id] = nil
            }
            continuation.finish()
        }
    }

    private func handleFrame(_ text: String, connection id: UInt64, outbox: AsyncStream<QQBotSimulator.Outgoing>.Continuation) {
        guard let frame = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)), let op = frame["op"]?.intValue else {
            outbox.yield(.close(4002, "invalid payload"))
            return
        }
        let d = frame["d"]
        switch op {
        case 1:
            let acknowledge = state.withLock { s -> Bool in
                guard let app = s.connections[id]?.appId else { return true }
                s.apps[app]?.heartbeats += 1
                return s.apps[app]?.acknowledgeHeartbeats ?? true
            }
            if acknowledge { outbox.yield(.text(#"{"op":11}"#)) }
        case 2:
            identify(d, connection: id, outbox: outbox)
        case 6:
            resume(d, connection: id, outbox: outbox)
        default:
            outbox.yield(.close(4001, "invalid opcode"))
        }
    }

    private func identify(_ d: JSONValue?, connection id: UInt64, outbox: AsyncStream<QQBotSimulator.Outgoing>.Continuation) {
        guard case .success(let appId) = authenticate(d?["token"]?.stringValue) else {
            outbox.yield(.close(4004, "invalid token"))
            return
        }
        guard let intents = d?["intents"]?.intValue else {
            outbox.yield(.close(4002, "invalid payload: intents"))
            return
        }
        if let shard = d?["shard"] {
            guard let values = shard.arrayValue, values.count == 2, let index = values[0].intValue, let count = values[1].intValue,
                  count >= 1, index >= 0, index < count else {
                outbox.yield(.close(4010, "invalid shard"))
                return
            }
        }
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>]? in
            guard var app = s.apps[appId] else { return nil }
            if s.connections[id]?.appId != nil { outbox.yield(.close(4005, "already authenticated")); return [] }
            if let permitted = app.bot.permittedIntents, intents & ~permitted != 0 {
                outbox.yield(.close(4014, "intent not permitted"))
                return []
            }
            app.identifies += 1
            let n = s.makeID()
            let sid = "sim-session-" + QQBotSimulator.openID("session", appId, String(n)).lowercased()
            if let old = app.currentSession { s.sessions[old] = nil }
            app.currentSession = sid
            s.sessions[sid] = QQBotSimulator.SessionRecord(id: sid, appId: appId, seq: 1, connection: id)
            s.connections[id]?.appId = appId
            s.connections[id]?.sessionID = sid
            s.connections[id]?.ready = true
            let user = Self.json(["id": .string(app.bot.userID), "username": .string(app.bot.username), "bot": true])
            outbox.yield(.text(#"{"op":0,"s":1,"t":"READY","id":"READY:1","d":{"version":1,"session_id":"\#(sid)","user":\#(user),"shard":[0,1]}}"#))
            s.apps[appId] = app
            return s.takeReadyWaiters()
        }
        for w in waiters ?? [] { w.resume() }
    }

    private func resume(_ d: JSONValue?, connection id: UInt64, outbox: AsyncStream<QQBotSimulator.Outgoing>.Continuation) {
        guard case .success(let appId) = authenticate(d?["token"]?.stringValue) else {
            outbox.yield(.close(4004, "invalid token"))
            return
        }
        guard let sid = d?["session_id"]?.stringValue, let seq = d?["seq"]?.intValue else {
            outbox.yield(.close(4002, "invalid payload: session_id, seq"))
            return
        }
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            guard var session = s.sessions[sid], session.appId == appId, s.apps[appId]?.currentSession == sid else {
                outbox.yield(.text(#"{"op":9,"d":false}"#))
                return []
            }
            guard seq <= session.seq, seq >= 0 else {
                outbox.yield(.close(4007, "invalid seq"))
                return []
            }
            if let old = session.connection, old != id { s.connections[old]?.outbox.yield(.close(4009, "session resumed elsewhere")) }
            session.connection = id
            s.connections[id]?.appId = appId
            s.connections[id]?.sessionID = sid
            s.connections[id]?.ready = true
            s.apps[appId]?.resumes += 1
            for entry in session.log where entry.seq > seq { outbox.yield(.text(entry.frame)) }
            outbox.yield(.text(#"{"op":0,"s":\#(session.seq),"t":"RESUMED","d":""}"#))
            s.sessions[sid] = session
            return s.takeReadyWaiters()
        }
        for w in waiters { w.resume() }
    }
}
