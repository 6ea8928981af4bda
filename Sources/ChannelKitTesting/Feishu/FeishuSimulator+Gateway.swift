import Foundation
import Synchronization
import ChannelKit

extension FeishuSimulator.Core {
    /// Accepts an upgrade only with a fresh ticket issued by endpoint discovery (each is
    /// single-use); an app configured to refuse handshakes gets its status in
    /// `Handshake-Status`/`Handshake-Msg`/`Handshake-Autherrcode`.
    func decide(_ request: WebSocketUpgradeRequest) -> LoopbackWebSocketServer.Decision {
        let items = URLComponents(string: "http://x" + request.target)?.queryItems ?? []
        guard let ticket = items.first(where: { $0.name == "ticket" })?.value else {
            return .reject(status: 400, headers: ["Handshake-Status": "400", "Handshake-Msg": "ticket missing"])
        }
        return state.withLock { s -> LoopbackWebSocketServer.Decision in
            guard let entry = s.tickets[ticket], !entry.used else {
                return .reject(status: 400, headers: ["Handshake-Status": "1000040351", "Handshake-Msg": "ticket invalid or used"])
            }
            s.tickets[ticket]?.used = true
            if let rejection = s.apps[entry.appId]?.handshakeRejection {
                var headers: HTTPHeaders = ["Handshake-Status": String(rejection.status), "Handshake-Msg": rejection.message]
                if let code = rejection.authCode { headers["Handshake-Autherrcode"] = String(code) }
                return .reject(status: (400...599).contains(rejection.status) ? rejection.status : 500, headers: headers)
            }
            return .accept()
        }
    }

    /// Serves one long connection: pongs (with the app's ClientConfig), acks, pushes.
    func serve(_ connection: LoopbackWebSocketServer.Connection) async {
        let items = URLComponents(string: "http://x" + connection.request.target)?.queryItems ?? []
        let ticket = items.first { $0.name == "ticket" }?.value ?? ""
        let (outbox, continuation) = AsyncStream.makeStream(of: FeishuSimulator.Outgoing.self)
        let registered: (UInt64, String, [CheckedContinuation<Void, Never>])? = state.withLock { s in
            guard !s.closed, let appId = s.tickets[ticket]?.appId else { return nil }
            let id = s.makeID()
            s.connections[id] = FeishuSimulator.ConnectionRecord(outbox: continuation, appId: appId)
            return (id, appId, s.takeReadyWaiters())
        }
        guard let (id, appId, waiters) = registered else { return }
        for w in waiters { w.resume() }
        // Events that went unacked while the app had no connection are pushed again now.
        let unacked: [(String, [UInt8])] = state.withLock { s in
            (s.apps[appId]?.pending.values.filter { !$0.acked }.sorted { $0.firstPushed < $1.firstPushed } ?? []).map { ($0.eventID, $0.payload) }
        }
        for (eventID, payload) in unacked { pushEvent(appId: appId, eventID: eventID, payload: payload, redelivery: true) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await item in outbox {
                    switch item {
                    case .binary(let bytes):
                        try? await connection.send(.binary(Data(bytes)))
                    case .close(let code, let reason):
                        await connection.close(code: WebSocketCloseCode(code), reason: reason)
                    case .abort:
                        connection.abort()
                        return
                    }
                }
            }
            while let message = try? await connection.receive() {
                guard case .binary(let data) = message, let frame = Self.parseFrame(Array(data)) else { continue }
                if frame.method == 0, frame.header("type") == "ping" {
                    let config: JSONValue? = state.withLock { s in
                        s.apps[appId]?.pings += 1
                        s.apps[appId]?.pingServices.append(frame.service)
                        return s.apps[appId]?.clientConfig
                    }
                    let pong = Self.frame(seqID: 0, logID: 0, service: frame.service, method: 0, headers: [("type", "pong")],
                                          payload: config.map { Array($0.jsonText.utf8) })
                    continuation.yield(.binary(pong))
                } else if frame.method == 1 {
                    recordAck(appId: appId, frame: frame)
                }
            }
            state.withLock { $0.connections[id] = nil }
            continuation.finish()
        }
    }
}
