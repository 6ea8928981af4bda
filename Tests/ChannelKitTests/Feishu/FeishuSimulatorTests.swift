import Foundation
import Testing
@testable import ChannelKit
import ChannelKitTesting

/// The simulator's own protocol rules, driven by a bare client (no adapter code): single-use
/// tickets, pongs with ClientConfig, data-frame headers, redelivery of unacked events
/// after 3 s on its clock.
@Suite struct FeishuSimulatorTests {
    struct Frame {
        var seqID: UInt64 = 0, logID: UInt64 = 0, service: Int32 = 0, method: Int32 = 0
        var headers: [(String, String)] = []
        var payload: [UInt8] = []
        func header(_ k: String) -> String? { headers.first { $0.0 == k }?.1 }

        static func parse(_ data: Data) throws -> Frame {
            try ProtobufReader.read(data) { r throws(ProtobufDecodingError) -> Frame in
                var f = Frame()
                while let key = try r.nextField() {
                    switch key.number {
                    case 1: f.seqID = try r.readUInt64()
                    case 2: f.logID = try r.readUInt64()
                    case 3: f.service = try r.readInt32()
                    case 4: f.method = try r.readInt32()
                    case 5:
                        f.headers.append(try r.readMessage { m throws(ProtobufDecodingError) -> (String, String) in
                            var k = "", v = ""
                            while let hk = try m.nextField() {
                                if hk.number == 1 { k = try m.readString() } else if hk.number == 2 { v = try m.readString() } else { try m.skip(hk) }
                            }
                            return (k, v)
                        })
                    case 8: f.payload = try r.readBytes()
                    default: try r.skip(key)
                    }
                }
                return f
            }
        }

        func encoded() -> Data {
            var w = ProtobufWriter()
            w.writeUInt64(1, seqID, always: true)
            w.writeUInt64(2, logID, always: true)
            w.writeInt32(3, service, always: true)
            w.writeInt32(4, method, always: true)
            for (k, v) in headers { w.writeMessage(5) { h in h.writeString(1, k, always: true); h.writeString(2, v, always: true) } }
            if !payload.isEmpty { w.writeBytes(8, payload, always: true) }
            return Data(w.bytes)
        }
    }

    func endpoint(_ sim: FeishuSimulator, appId: String, secret: String) async throws -> (URL, JSONValue) {
        let request = try HTTPRequest.json(.post, url: sim.baseURL.appendingPathComponent("callback/ws/endpoint"), body: ["AppID": appId, "AppSecret": secret] as [String: String])
        let response = try await URLSessionHTTPTransport().send(request)
        let value = try JSONDecoder().decode(JSONValue.self, from: response.body)
        let url = try #require(value["data"]?["URL"]?.stringValue.flatMap(URL.init(string:)))
        return (url, value)
    }

    @Test func ticketsAreSingleUsePongsCarryTheConfigAndUnackedEventsComeBack() async throws {
        let clock = TestClock()
        let sim = try FeishuSimulator(configuration: .init(time: clock.timeSource))
        let app = sim.addApp(appId: "cli_bare", appSecret: "bare")
        let (url, reply) = try await endpoint(sim, appId: app.appId, secret: app.appSecret)
        #expect(reply["code"]?.intValue == 0 && reply["data"]?["ClientConfig"]?["PingInterval"]?.intValue == 120)
        #expect(url.query?.contains("service_id=33554678") == true && url.query?.contains("ticket=") == true)
        let transport = makeDefaultWebSocketTransport()
        let socket = try await transport.connect(WebSocketRequest(url: url))
        // The same ticket again is refused (not 403: a client retries with a new one).
        do {
            _ = try await transport.connect(WebSocketRequest(url: url))
            Issue.record("a spent ticket was accepted")
        } catch let error as ChannelError {
            #expect(error.response?.headers["Handshake-Status"] == "1000040351")
        }
        var messages = socket.messages.makeAsyncIterator()
        func next() async throws -> Frame {
            guard case .binary(let data)? = try await messages.next() else { throw ChannelError(.connectionClosed, "closed") }
            return try Frame.parse(data)
        }
        try await socket.send(binary: Frame(service: 33_554_678, method: 0, headers: [("type", "ping")]).encoded())
        let pong = try await next()
        #expect(pong.method == 0 && pong.header("type") == "pong")
        #expect((try? JSONDecoder().decode(JSONValue.self, from: Data(pong.payload)))?["ReconnectNonce"]?.intValue == 30)
        #expect(sim.pingCount(appId: app.appId) == 1)

        let id = sim.injectDirectMessage(appId: app.appId, user: "u", text: "hello")
        let first = try await next()
        #expect(first.method == 1 && first.header("type") == "event" && first.header("sum") == "1" && first.header("seq") == "0")
        #expect(first.header("trace_id")?.isEmpty == false && first.header("message_id") != nil && first.header("timestamp") != nil)
        let event = try JSONDecoder().decode(JSONValue.self, from: Data(first.payload))
        #expect(event["event"]?["message"]?["message_id"]?.stringValue == id)
        // No ack: pushed again after 3 s on the simulator's clock.
        #expect(await clock.waitForSleepers(1))
        await clock.advance(by: .seconds(3))
        let again = try await next()
        #expect(again.payload == first.payload && sim.redeliveryCount(appId: app.appId) == 1)
        // Ack it: nothing more comes.
        var ack = again
        ack.headers.append(("biz_rt", "1"))
        ack.payload = Array(#"{"code":200}"#.utf8)
        try await socket.send(binary: ack.encoded())
        #expect(await eventually("ack recorded") { sim.acks(appId: app.appId).count == 1 })
        await clock.advance(by: .seconds(10))
        #expect(sim.redeliveryCount(appId: app.appId) == 1 && sim.unackedCount(appId: app.appId) == 0)
        #expect(sim.acks(appId: app.appId).first?.echoedFrame == true)
        await socket.close(code: .normalClosure, reason: "")
        await sim.shutdown()
    }

    @Test func wrongCredentialsAndUnknownTokensAreRefused() async throws {
        let sim = try FeishuSimulator()
        let app = sim.addApp(appId: "cli_refuse", appSecret: "right")
        let request = try HTTPRequest.json(.post, url: sim.baseURL.appendingPathComponent("callback/ws/endpoint"), body: ["AppID": app.appId, "AppSecret": "wrong"])
        let reply = try JSONDecoder().decode(JSONValue.self, from: try await URLSessionHTTPTransport().send(request).body)
        #expect(reply["code"]?.intValue == 10014)
        let info = HTTPRequest(url: sim.baseURL.appendingPathComponent("open-apis/bot/v3/info"), headers: ["Authorization": "Bearer t-forged"])
        let infoReply = try JSONDecoder().decode(JSONValue.self, from: try await URLSessionHTTPTransport().send(info).body)
        #expect(infoReply["code"]?.intValue == 99_991_663)
        await sim.shutdown()
    }
}
