import Foundation
import Testing
@testable import ChannelKit
import ChannelKitTesting

/// The simulator on its own, driven with raw frames and requests (no adapter code), so
/// an adapter bug cannot hide behind it.
@Suite("ClawChat simulator", .serialized, .timeLimit(.minutes(1)))
struct ClawChatSimulatorTests {
    /// A raw client session: challenge read, `connect` sent, `hello-*` returned.
    struct RawSession {
        let socket: any WebSocketConnection
        var inbound: AsyncThrowingStream<WebSocketMessage, any Error>.Iterator

        static func open(_ sim: ClawChatSimulator, token: String, device: String = "d1", version: Int? = 2, nonce: String? = nil) async throws -> (RawSession, JSONValue) {
            let socket = try await CurlWebSocketTransport().connect(WebSocketRequest(url: sim.websocketURL))
            var session = RawSession(socket: socket, inbound: socket.messages.makeAsyncIterator())
            let challenge = try await session.next()
            #expect(challenge["event"]?.stringValue == "connect.challenge")
            #expect(challenge["trace_id"]?.stringValue == "challenge")
            let serverNonce = challenge["payload"]?["nonce"]?.stringValue ?? ""
            #expect(serverNonce.count == 24)
            let versionField = version.map { #","protocol_version":\#($0)"# } ?? ""
            try await socket.send(text: #"{"version":"2","event":"connect","trace_id":"c1","payload":{"token":"\#(token)","nonce":"\#(nonce ?? serverNonce)","device_id":"\#(device)"\#(versionField)}}"#)
            let hello = try await session.next()
            return (session, hello)
        }

        mutating func next() async throws -> JSONValue {
            guard case .text(let text)? = try await inbound.next() else { throw ChannelError(.connectionClosed, "closed") }
            return try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        }

        /// Reads until the stream ends; returns the close status.
        mutating func drain() async -> WebSocketCloseStatus? {
            do { while try await inbound.next() != nil {} } catch {}
            return socket.closeStatus
        }
    }

    @Test func handshakeHelloFailAndTakeover() async throws {
        let sim = ClawChatSimulator(configuration: .init(handshakeTimeout: nil))
        try sim.start()
        let a = sim.addAccount(userID: "usr_a")
        var (first, hello) = try await RawSession.open(sim, token: a.accessToken)
        #expect(hello["event"]?.stringValue == "hello-ok" && hello["trace_id"]?.stringValue == "c1")
        #expect(hello["payload"]?["ack_mode"]?.stringValue == "dseq" && hello["payload"]?["device_id"]?.stringValue == "d1")
        #expect(try await first.next()["event"]?.stringValue == "replay.done")

        let (_, bad) = try await RawSession.open(sim, token: "nope")
        #expect(bad["payload"]?["reason"]?.stringValue == "authentication failed")
        var (mismatch, badNonce) = try await RawSession.open(sim, token: a.accessToken, nonce: "x")
        #expect(badNonce["payload"]?["reason"]?.stringValue == "nonce mismatch")
        #expect(await mismatch.drain()?.code == .abnormalClosure)   // dropped without a close frame

        // v1 client: no ack mode.
        var (v1, helloV1) = try await RawSession.open(sim, token: a.accessToken, device: "d2", version: nil)
        #expect(helloV1["payload"]?["ack_mode"] == nil)
        _ = try await v1.next()

        // Same (user, device) again: the older session is closed with 4001.
        var (second, _) = try await RawSession.open(sim, token: a.accessToken)
        #expect(await first.drain()?.code.rawValue == 4001)
        _ = try await second.next()
        #expect(sim.liveSessionCount(userID: "usr_a") == 2)   // d1 (new) and d2
        await sim.shutdown()
    }

    @Test func sendsAreAckedFannedOutAndRejectedPerTheNotes() async throws {
        let sim = ClawChatSimulator(configuration: .init(handshakeTimeout: nil))
        try sim.start()
        let a = sim.addAccount(userID: "usr_a")
        let b = sim.addAccount(userID: "usr_b")
        let chat = sim.directChat("usr_a", "usr_b")
        var (sa, _) = try await RawSession.open(sim, token: a.accessToken)
        _ = try await sa.next()
        var (sb, _) = try await RawSession.open(sim, token: b.accessToken, version: 2)
        _ = try await sb.next()
        let frame = #"{"version":"2","event":"message.send","trace_id":"t1","chat_id":"\#(chat)","payload":{"message_id":"msg-01JZ0000000000000000000001","message_mode":"normal","message":{"body":{"fragments":[{"kind":"text","text":"hi"}]},"context":{"mentions":[],"reply":null}}}}"#
        try await sa.socket.send(text: frame)
        let echo = try await sa.next()   // self-echo first (fan-out), then the ack
        #expect(echo["event"]?.stringValue == "message.send" && echo["sender"]?["id"]?.stringValue == "usr_a")
        let ack = try await sa.next()
        #expect(ack["event"]?.stringValue == "message.ack" && ack["trace_id"]?.stringValue == "t1")
        #expect(ack["payload"]?["message_id"]?.stringValue == "msg-01JZ0000000000000000000001")
        let atB = try await sb.next()
        #expect(atB["chat_type"]?.stringValue == "direct" && atB["dseq"]?.intValue == 1 && atB["payload"]?["message_id"]?.stringValue == "msg-01JZ0000000000000000000001")
        // A byte-identical resend is acked again but not stored twice.
        try await sa.socket.send(text: frame)
        #expect(try await sa.next()["event"]?.stringValue == "message.ack")
        #expect(sim.inboxCount(userID: "usr_b") == 1)

        try await sa.socket.send(text: #"{"event":"message.send","trace_id":"t2","chat_id":"\#(chat)","payload":{}}"#)
        #expect(try await sa.next()["payload"]?["code"]?.stringValue == "unsupported_version")
        try await sa.socket.send(text: #"{"version":"2","event":"message.send","trace_id":"t3","chat_id":"cnv_nope","payload":{}}"#)
        #expect(try await sa.next()["payload"]?["code"]?.stringValue == "chat_not_found")
        let foreign = sim.addChat(type: .group, members: ["usr_b"])
        try await sa.socket.send(text: #"{"version":"2","event":"message.send","trace_id":"t4","chat_id":"\#(foreign)","payload":{}}"#)
        let notMember = try await sa.next()
        #expect(notMember["payload"]?["code"]?.stringValue == "not_member" && notMember["trace_id"]?.stringValue == "t4")
        #expect(sim.misroutedCount == 1)
        try await sa.socket.send(text: #"{"version":"2","event":"ping","trace_id":"p9"}"#)
        #expect(try await sa.next()["trace_id"]?.stringValue == "p9")

        // Unacked dseq frames replay on the next session of that device; acked ones do not.
        await sb.socket.close(code: .normalClosure, reason: "")
        var (again, _) = try await RawSession.open(sim, token: b.accessToken)
        let replayed = try await again.next()
        #expect(replayed["payload"]?["message_id"]?.stringValue == "msg-01JZ0000000000000000000001")
        try await again.socket.send(text: #"{"version":"2","event":"ack","trace_id":"a","payload":{"dseq":1}}"#)
        #expect(try await again.next()["event"]?.stringValue == "replay.done")
        await again.socket.close(code: .normalClosure, reason: "")
        var (third, _) = try await RawSession.open(sim, token: b.accessToken)
        #expect(try await third.next()["event"]?.stringValue == "replay.done")
        await sim.shutdown()
    }

    @Test func refreshIsSingleUseDeviceBoundAndNeedsNoAuthorization() async throws {
        let sim = ClawChatSimulator(configuration: .init(handshakeTimeout: nil))
        try sim.start()
        let a = sim.addAccount(userID: "usr_a")
        let b = sim.addAccount(userID: "usr_b")
        let http = URLSessionHTTPTransport()
        func refresh(_ token: String, device: String?) async throws -> JSONValue {
            var headers: HTTPHeaders = [:]
            if let device { headers["X-Device-Id"] = device }
            let request = try HTTPRequest.json(.post, url: sim.baseURL.appendingPathComponent("v1/auth/refresh"), body: ["refresh_token": token], headers: headers)
            return try await http.send(request).decodeJSON(JSONValue.self)
        }
        #expect(try await refresh(a.refreshToken, device: b.deviceID)["code"]?.intValue == 10003)   // another account's device
        #expect(sim.misroutedCount == 1)
        #expect(try await refresh(a.refreshToken, device: nil)["code"]?.intValue == 400)
        let ok = try await refresh(a.refreshToken, device: a.deviceID)
        #expect(ok["code"]?.intValue == 0)
        let newAccess = try #require(ok["data"]?["access_token"]?.stringValue)
        #expect(JWTClaims(token: newAccess)?.sub == "usr_a")
        #expect(try await refresh(a.refreshToken, device: a.deviceID)["code"]?.intValue == 10003)   // spent
        #expect(sim.refreshRequests.allSatisfy { !$0.hadAuthorization })
        #expect(sim.refreshRequestCount(userID: "usr_a") == 4)

        let me = try await http.send(HTTPRequest(url: sim.baseURL.appendingPathComponent("v1/users/me"), headers: ["Authorization": "Bearer " + newAccess]))
        #expect(try me.decodeJSON(JSONValue.self)["data"]?["id"]?.stringValue == "usr_a")
        sim.expireAccessToken(userID: "usr_a")
        let expired = try await http.send(HTTPRequest(url: sim.baseURL.appendingPathComponent("v1/users/me"), headers: ["Authorization": "Bearer " + newAccess]))
        let expiredBody = try expired.decodeJSON(JSONValue.self)
        #expect(expired.status == 401 && expiredBody["code"]?.intValue == 401)
        http.shutdown()
        await sim.shutdown()
    }

    @Test func aSocketThatNeverSendsConnectIsDropped() async throws {
        let clock = TestClock()
        let sim = ClawChatSimulator(configuration: .init(time: clock.timeSource, handshakeTimeout: .seconds(10)))
        try sim.start()
        let socket = try await CurlWebSocketTransport().connect(WebSocketRequest(url: sim.websocketURL))
        var inbound = socket.messages.makeAsyncIterator()
        _ = try await inbound.next()   // challenge
        await clock.waitForSleepers(1)
        await clock.advance(by: .seconds(10))
        do { while try await inbound.next() != nil {} } catch {}
        #expect(socket.closeStatus?.code == .abnormalClosure)
        await sim.shutdown()
    }
}
