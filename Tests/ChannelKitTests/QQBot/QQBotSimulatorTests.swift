import Foundation
import Testing
@testable import ChannelKit
import ChannelKitTesting

/// The simulator's own rules, checked with a plain HTTP client.
@Suite struct QQBotSimulatorTests {
    struct TokenReply: Decodable { var access_token: String; var expires_in: String }

    func fetch(_ sim: QQBotSimulator, _ appId: String, _ secret: String) async throws -> (HTTPResponse, TokenReply?) {
        let response = try await URLSessionHTTPTransport().send(try HTTPRequest.json(.post, url: sim.tokenURL, body: ["appId": appId, "clientSecret": secret]))
        return (response, try? JSONDecoder().decode(TokenReply.self, from: response.body))
    }

    func get(_ sim: QQBotSimulator, _ path: String, token: String) async throws -> HTTPResponse {
        try await URLSessionHTTPTransport().send(HTTPRequest(url: sim.apiBaseURL.appendingPathComponent(path), headers: ["Authorization": "QQBot " + token]))
    }

    @Test func sameTokenWithinItsLifetimeThenRotationWithOverlap() async throws {
        let clock = TestClock()
        let sim = try QQBotSimulator(configuration: .init(time: clock.timeSource))
        sim.addBot(appId: "1", clientSecret: "s")
        let first = try #require(try await fetch(sim, "1", "s").1)
        #expect(first.expires_in == "7200")
        await clock.advance(by: .seconds(2103))
        let again = try #require(try await fetch(sim, "1", "s").1)
        #expect(again.access_token == first.access_token && again.expires_in == "5097")
        await clock.advance(by: .seconds(5097 - 50))          // 50 s left: inside the rotation window
        let rotated = try #require(try await fetch(sim, "1", "s").1)
        #expect(rotated.access_token != first.access_token && rotated.expires_in == "7200")
        #expect(try await get(sim, "/gateway", token: first.access_token).status == 200, "the old token stays valid until it expires")
        await clock.advance(by: .seconds(51))
        let expired = try await get(sim, "/gateway", token: first.access_token)
        #expect(expired.status == 401 && String(decoding: expired.body, as: UTF8.self).contains("11244"))
        #expect(try await get(sim, "/gateway", token: rotated.access_token).status == 200)
        #expect(sim.tokenFetchCount(appId: "1") == 3)
        await sim.shutdown()
    }

    @Test func badCredentialsAndExpiresInAsNumber() async throws {
        let sim = try QQBotSimulator(configuration: .init(expiresInAsString: false))
        sim.addBot(appId: "1", clientSecret: "s")
        let wrong = try await fetch(sim, "1", "x").0
        #expect(String(decoding: wrong.body, as: UTF8.self).contains("100016"))
        let unknown = try await fetch(sim, "2", "s").0
        #expect(String(decoding: unknown.body, as: UTF8.self).contains("100007"))
        let ok = try await fetch(sim, "1", "s").0
        #expect(try JSONDecoder().decode(JSONValue.self, from: ok.body)["expires_in"] == 7200)
        await sim.shutdown()
    }

    @Test func openidsAreScopedPerApp() throws {
        let sim = try QQBotSimulator()
        let a = sim.userOpenID(appId: "1", user: "alice"), b = sim.userOpenID(appId: "2", user: "alice")
        #expect(a != b && a.count == 32 && a == a.uppercased())
        #expect(sim.groupOpenID(appId: "1", group: "g") != sim.groupOpenID(appId: "2", group: "g"))
        #expect(sim.memberOpenID(appId: "1", group: "g", user: "alice") != a)
    }

    @Test func crossedTokensAreRefusedWith11255AndCounted() async throws {
        let sim = try QQBotSimulator()
        sim.addBot(appId: "1", clientSecret: "s1")
        sim.addBot(appId: "2", clientSecret: "s2")
        let openidOfA = sim.userOpenID(appId: "1", user: "alice")
        sim.injectC2CMessage(appId: "1", userOpenID: openidOfA, text: "hi")
        let tokenB = try #require(try await fetch(sim, "2", "s2").1).access_token
        let request = try HTTPRequest.json(.post, url: sim.apiBaseURL.appendingPathComponent("/v2/users/\(openidOfA)/messages"),
                                           body: ["content": "hello", "msg_type": "0"], headers: ["Authorization": "QQBot " + tokenB])
        let response = try await URLSessionHTTPTransport().send(request)
        #expect(response.status == 500 && String(decoding: response.body, as: UTF8.self).contains("11255"))
        #expect(sim.misroutedReplyCount == 1)
        #expect(sim.allSends.first?.appId == "2" && sim.allSends.first?.errorCode == 11255)
        await sim.shutdown()
    }

    @Test func identifyWithAnUnknownTokenIsClosedWith4004() async throws {
        let sim = try QQBotSimulator()
        let ws = try await makeDefaultWebSocketTransport().connect(WebSocketRequest(url: sim.gatewayURL))
        var inbound = ws.messages.makeAsyncIterator()
        _ = try await inbound.next()   // Hello
        try await ws.send(text: #"{"op":2,"d":{"token":"QQBot nope","intents":1,"shard":[0,1]}}"#)
        #expect(try await inbound.next() == nil)
        #expect(ws.closeStatus?.code.rawValue == 4004)
        await sim.shutdown()
    }
}
