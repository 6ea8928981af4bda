import Foundation
import Testing
@testable import ChannelKit
import ChannelKitTesting

/// The simulator as a server, driven by hand over real sockets: connect checks, token
/// states, the JSON encoder's framing rules, seq bookkeeping, the multi-login kick.
@Suite("OpenIM simulator")
struct OpenIMSimulatorTests {
    let transport = CurlWebSocketTransport()

    func url(_ sim: OpenIMSimulator, user: String, token: String, platform: Int = 5, sdkType: String = "js", isMsgResp: String = "true") -> URL {
        var c = URLComponents(url: sim.wsURL, resolvingAgainstBaseURL: false) ?? URLComponents()
        c.path = "/"
        c.queryItems = [.init(name: "sendID", value: user), .init(name: "token", value: token), .init(name: "platformID", value: String(platform)),
                        .init(name: "operationID", value: "op"), .init(name: "isBackground", value: "false"), .init(name: "sdkType", value: sdkType),
                        .init(name: "isMsgResp", value: isMsgResp)]
        return c.url ?? sim.wsURL
    }

    /// Connects and returns the socket and the connect result's errCode.
    func connect(_ sim: OpenIMSimulator, user: String, token: String, platform: Int = 5, sdkType: String = "js") async throws -> (any WebSocketConnection, Int?) {
        let socket = try await transport.connect(WebSocketRequest(url: url(sim, user: user, token: token, platform: platform, sdkType: sdkType)))
        var iterator = socket.messages.makeAsyncIterator()
        guard case .text(let text)? = try await iterator.next() else { return (socket, nil) }
        return (socket, (try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)))?["errCode"]?.intValue)
    }

    func request(_ req: Int, user: String, msgIncr: String, data: [UInt8]) -> Data {
        Data(JSONValue.object(["reqIdentifier": .number(Double(req)), "token": "", "sendID": .string(user), "operationID": "op",
                               "msgIncr": .string(msgIncr), "data": .string(Data(data).base64EncodedString())]).jsonText.utf8)
    }

    func nextBinary(_ socket: any WebSocketConnection) async throws -> JSONValue? {
        for try await message in socket.messages {
            if case .binary(let data) = message { return try JSONDecoder().decode(JSONValue.self, from: data) }
        }
        return nil
    }

    @Test func connectChecksTokenUserPlatformAndArguments() async throws {
        let sim = OpenIMSimulator()
        try sim.start()
        let bot = sim.addAccount(userID: "bot")
        let other = sim.addAccount(userID: "other")
        #expect(try await connect(sim, user: "bot", token: bot.token).1 == 0)
        #expect(try await connect(sim, user: "bot", token: other.token).1 == 1502)       // another user's token
        #expect(try await connect(sim, user: "bot", token: bot.token, platform: 7).1 == 1502)
        #expect(try await connect(sim, user: "bot", token: "unknown").1 == 1507)
        #expect(try await connect(sim, user: "bot", token: bot.token, sdkType: "go").1 == 1602)
        sim.expireTokens(userID: "other")
        #expect(try await connect(sim, user: "other", token: other.token).1 == 1501)
        #expect(sim.misroutedCount == 1)
        // Without isMsgResp the failure is a plain HTTP 200 JSON body (no upgrade).
        let plain = url(sim, user: "bot", token: "unknown", isMsgResp: "false")
        let error = await channelError { try await transport.connect(WebSocketRequest(url: plain)) }
        #expect(error?.code == .handshakeRejected)
        #expect(error?.response?.status == 200)
        #expect((try? JSONDecoder().decode(JSONValue.self, from: error?.response?.body ?? Data()))?["errCode"] == 1507)
        await sim.shutdown()
    }

    @Test func seqBookkeepingMaxSeqsAndPullsByRange() async throws {
        let sim = OpenIMSimulator()
        try sim.start()
        let bot = sim.addAccount(userID: "bot")
        sim.addUser("alice")
        for i in 1...5 { sim.injectMessage(from: "alice", to: "bot", text: "m\(i)") }
        let (socket, code) = try await connect(sim, user: "bot", token: bot.token)
        #expect(code == 0)
        var w = ProtobufWriter()
        w.writeString(1, "bot")
        try await socket.send(.binary(request(1001, user: "bot", msgIncr: "m1", data: w.bytes)))
        let maxReply = try #require(try await nextBinary(socket))
        #expect(maxReply["msgIncr"] == "m1" && maxReply["reqIdentifier"] == 1001 && maxReply["errCode"] == 0)
        let maxBytes = try #require(Data(base64Encoded: maxReply["data"]?.stringValue ?? ""))
        // maxSeqs {si_alice_bot: 5}, minSeqs {si_alice_bot: 1}
        let entry: [UInt8] = [0x0A, 0x0C] + Array("si_alice_bot".utf8)
        #expect([UInt8](maxBytes) == [0x0A, 0x10] + entry + [0x10, 0x05] + [0x12, 0x10] + entry + [0x10, 0x01])

        var pull = ProtobufWriter()
        pull.writeString(1, "bot")
        pull.writeMessage(2) { r in r.writeString(1, "si_alice_bot"); r.writeInt64(2, 2); r.writeInt64(3, 4); r.writeInt64(4, 3) }
        try await socket.send(.binary(request(1002, user: "bot", msgIncr: "m2", data: pull.bytes)))
        let pullReply = try #require(try await nextBinary(socket))
        let pulled = try #require(Data(base64Encoded: pullReply["data"]?.stringValue ?? ""))
        var seqs: [Int64] = []
        try ProtobufReader.read(pulled) { (r: inout ProtobufReader) throws(ProtobufDecodingError) in
            while let key = try r.nextField() {
                guard key.number == 1 else { try r.skip(key); continue }
                try r.readMessage { (e: inout ProtobufReader) throws(ProtobufDecodingError) in
                    while let k = try e.nextField() {
                        guard k.number == 2 else { try e.skip(k); continue }
                        try e.readMessage { (p: inout ProtobufReader) throws(ProtobufDecodingError) in
                            while let f = try p.nextField() {
                                guard f.number == 1 else { try p.skip(f); continue }
                                try p.readMessage { (m: inout ProtobufReader) throws(ProtobufDecodingError) in
                                    while let g = try m.nextField() {
                                        if g.number == 14 { seqs.append(try m.readInt64()) } else { try m.skip(g) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        #expect(seqs == [2, 3, 4])
        #expect(sim.pullCount == 1 && sim.maxSeqRequestCount == 1)
        await socket.close(code: .normalClosure, reason: "")
        await sim.shutdown()
    }

    @Test func framingRulesCloseTheSocket() async throws {
        let sim = OpenIMSimulator()
        try sim.start()
        let bot = sim.addAccount(userID: "bot")
        // A text frame other than ping closes the connection; ping gets a text pong.
        let (a, _) = try await connect(sim, user: "bot", token: bot.token)
        try await a.send(text: #"{"type":"ping","body":"x"}"#)
        var pong: String?
        for try await message in a.messages { if case .text(let t) = message { pong = t; break } }
        #expect(pong.flatMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }?["type"] == "pong")
        try await a.send(text: #"{"reqIdentifier":1001}"#)
        for try await _ in a.messages {}
        #expect(a.closeStatus != nil)
        // A sendID that is not the socket's user closes it and counts as misrouted.
        let (b, _) = try await connect(sim, user: "bot", token: bot.token)
        try await b.send(.binary(request(1001, user: "someone", msgIncr: "x", data: [])))
        for try await _ in b.messages {}
        #expect(sim.misroutedCount == 1)
        // A frame over 51,200 bytes is closed with 1009.
        let (c, _) = try await connect(sim, user: "bot", token: bot.token)
        try? await c.send(.binary(Data(repeating: 0x20, count: 60_000)))
        do { for try await _ in c.messages {} } catch {}
        #expect(c.closeStatus?.code.rawValue == 1009)
        #expect(sim.oversizeCloseCount == 1)
        await sim.shutdown()
    }

    @Test func aSecondLoginWithAnotherTokenKicksTheFirst() async throws {
        let sim = OpenIMSimulator()
        try sim.start()
        let bot = sim.addAccount(userID: "bot")
        let (first, _) = try await connect(sim, user: "bot", token: bot.token)
        let newToken = try #require(sim.kick(userID: "bot"))
        let kick = try await nextBinary(first)
        #expect(kick?["reqIdentifier"] == 2002)
        #expect(try await connect(sim, user: "bot", token: bot.token).1 == 1506)
        #expect(try await connect(sim, user: "bot", token: newToken).1 == 0)
        await sim.shutdown()
    }
}
