import Foundation
import Synchronization
import Testing
@testable import ChannelKit
@testable import ChannelKitOpenIM
import ChannelKitTesting

@Suite("OpenIM sessions: token errors, recovery, isolation, malformed frames")
struct OpenIMSessionTests {
    /// An adapter configuration whose hook asks the simulator's `/test/refresh`.
    static func hookConfiguration(_ sim: OpenIMSimulator, http: any HTTPTransport, calls: TestRecorder<String>) -> OpenIMAdapter.Configuration {
        var configuration = OpenIMAdapter.Configuration()
        let url = sim.apiURL.appendingPathComponent("test/refresh")
        configuration.tokenHook = { account, reason in
            calls.record("\(account.account.rawValue) \(reason)")
            let body = JSONValue.object(["userID": .string(account.account.rawValue)]).jsonText
            guard let response = try? await http.send(HTTPRequest(method: .post, url: url, headers: ["Content-Type": "application/json"], body: Data(body.utf8))),
                  let token = (try? JSONDecoder().decode(JSONValue.self, from: response.body))?["token"]?.stringValue else { return nil }
            return token
        }
        return configuration
    }

    static let hook: OpenIMTokenRefresh = {
        let config = ConfigObject(["mode": "hook"], path: "$.channels.openim.tokenRefresh")
        return OpenIMTokenRefresh.parse(config) ?? .off
    }()

    @Test func kickedByASecondLoginRecoversThroughTheHookAndKeepsDelivering() async throws {
        let h = try OpenIMHarness()
        let calls = TestRecorder<String>()
        let bot = try await h.connectedBot("bot", accountID: "bot", tokenRefresh: Self.hook,
                                           configuration: Self.hookConfiguration(h.simulator, http: h.http, calls: calls))
        h.simulator.addUser("alice")
        h.simulator.kick(userID: "bot")
        await eventually("recovered") { calls.all.count == 1 && h.simulator.liveSessionCount(userID: "bot") == 1 }
        #expect(calls.all == ["bot OnKickedOffline"])
        #expect(h.simulator.refreshCount(userID: "bot") == 1)
        h.simulator.injectMessage(from: "alice", to: "bot", text: "after the kick")
        await eventually("delivered") { bot.events.messages.all.count == 1 }
        let token = try #require(h.simulator.account("bot")?.token)
        #expect(h.logs.lines(containing: token).isEmpty)
        #expect(h.logs.lines(containing: bot.account.token).isEmpty)
        #expect(h.logs.lines.contains { $0.message.contains("OnKickedOffline") })
        await bot.runner.stop()
        await h.shutdown()
    }

    static func httpRefresh(_ sim: OpenIMSimulator) -> OpenIMTokenRefresh? {
        let json = """
        {"mode": "http", "http": {"endpoint": "\(sim.apiURL.absoluteString)/test/refresh", "method": "POST",
         "headers": {"content-type": "application/json"}, "body": {"userID": "{accountId}"}, "responseTokenPath": ["data.token", "token"]}}
        """
        let value = try? JSONDecoder().decode(JSONValue.self, from: Data(json.utf8))
        return OpenIMTokenRefresh.parse(ConfigObject(value ?? .null, path: "$.channels.openim.tokenRefresh"))
    }

    @Test func anExpiredTokenIsRefreshedOverHTTPAndTheNewTokenPersists() async throws {
        try await StoreTestSupport.withTemporaryDirectory { dir in
            let h = try OpenIMHarness()
            let refresh = try #require(Self.httpRefresh(h.simulator))
            let store = FileStateStore(directory: dir.appendingPathComponent("state"))
            let bot = try await h.connectedBot("bot", accountID: "bot", store: store, tokenRefresh: refresh)
            h.simulator.addUser("alice")
            h.simulator.expireTokens(userID: "bot", drop: true)
            await advance(h.clock, upTo: .seconds(30), "refreshed and back") {
                h.simulator.refreshCount(userID: "bot") == 1 && h.simulator.connects(userID: "bot").count == 3 && h.simulator.liveSessionCount(userID: "bot") == 1
            }
            h.simulator.injectMessage(from: "alice", to: "bot", text: "after refresh")
            await eventually("delivered") { bot.events.messages.all.count == 1 }
            let fresh = try #require(h.simulator.account("bot")?.token)
            #expect(h.simulator.connects(userID: "bot").map(\.errCode) == [0, 1501, 0])
            #expect(h.logs.lines(containing: fresh).isEmpty && h.logs.lines(containing: bot.account.token).isEmpty)
            await bot.runner.stop()
            await bot.connection.shutdown()
            // A restarted connection (same configured token) connects with the refreshed one at once.
            let again = try await h.connectedBot("bot", accountID: "bot", store: store, tokenRefresh: refresh)
            #expect(h.simulator.connects(userID: "bot").last?.errCode == 0)
            #expect(h.simulator.refreshCount(userID: "bot") == 1)
            await again.runner.stop()
            await h.shutdown()
        }
    }

    @Test func aRefreshEndpointAnsweringGarbageFailsTheAccountWithAMarkerAndNoStorm() async throws {
        try await StoreTestSupport.withTemporaryDirectory { dir in
            let h = try OpenIMHarness()
            let refresh = try #require(Self.httpRefresh(h.simulator))
            let store = FileStateStore(directory: dir.appendingPathComponent("state"))
            let bot = try await h.connectedBot("bot", accountID: "bot", store: store, tokenRefresh: refresh)
            h.simulator.setRefreshReturnsGarbage(true)
            h.simulator.kick(userID: "bot")
            await advance(h.clock, upTo: .seconds(60), "failed") { bot.runner.failedReason != nil }
            let reason = try #require(bot.runner.failedReason)
            #expect(reason.hasPrefix("manual login required:"))
            let marker = dir.appendingPathComponent("state/openim/manual-login.bot.json").path
            #expect(FileManager.default.fileExists(atPath: marker))
            let attempts = h.simulator.refreshCount(userID: "bot")
            #expect(attempts >= 1 && attempts <= 3)
            await h.clock.advance(by: .seconds(600))
            for _ in 0..<5000 { await Task.yield() }
            #expect(h.simulator.refreshCount(userID: "bot") == attempts)
            #expect(h.logs.lines(containing: bot.account.token).isEmpty)
            await h.shutdown()
        }
    }

    @Test func anExpiredTokenAtConnectIs1501AndWithoutRecoveryTheAccountFails() async throws {
        let h = try OpenIMHarness()
        let bot = try await h.connectedBot()
        h.simulator.expireTokens(userID: "bot", drop: true)
        await advance(h.clock, upTo: .seconds(10), "failed") { bot.runner.failedReason != nil }
        let reason = try #require(bot.runner.failedReason)
        #expect(reason.hasPrefix("manual login required:"))
        #expect(reason.contains("OnUserTokenExpired"))
        #expect(h.simulator.connects(userID: "bot").last?.errCode == 1501)
        #expect(h.logs.lines(containing: bot.account.token).isEmpty)
        await h.shutdown()
    }

    @Test func threeDialFailuresInARowTriggerConnectFailedOnce() async throws {
        let h = try OpenIMHarness()
        let calls = TestRecorder<String>()
        let account = h.simulator.addAccount(userID: "bot")
        // A port nothing listens on.
        let dead = URL(string: "ws://127.0.0.1:1")!
        var settings = h.settings(account, tokenRefresh: Self.hook)
        settings.wsAddr = dead
        let events = OpenIMEventLog()
        let connection = try h.connection("bot", settings: settings, events: events,
                                          configuration: Self.hookConfiguration(h.simulator, http: h.http, calls: calls))
        let first = try await connection.run()
        let second = try await connection.run()
        #expect(calls.all.isEmpty)
        guard case .reconnect(nil, _) = first, case .reconnect(nil, _) = second else { Issue.record("expected backoff reconnects"); return }
        let third = try await connection.run()
        #expect(calls.all == ["bot OnConnectFailed errCode=10000"])
        guard case .reconnect(.zero?, _) = third else { Issue.record("expected an immediate reconnect after recovery, got \(third)"); return }
        #expect(h.logs.lines(containing: account.token).isEmpty)
        #expect(!"\(first)\(second)\(third)".contains(account.token))
        #expect(h.logs.lines.contains { $0.message.contains("connect failed") })
        await h.shutdown()
    }

    @Test func twoAccountsOnTwoServersStayIsolatedThroughGarbageFrames() async throws {
        let h = try OpenIMHarness(servers: 2)
        let (a, b) = (h.simulators[0], h.simulators[1])
        // The same user id on both servers: only the server tells them apart.
        let botA = try await h.connectedBot("bot", accountID: "a", on: a)
        let botB = try await h.connectedBot("bot", accountID: "b", on: b)
        a.addUser("alice")
        b.addUser("bob")
        let garbage: [Data] = [
            Data("not json".utf8),
            Data(#"{"reqIdentifier":2001,"data":"!!!not base64!!!"}"#.utf8),
            Data(#"{"reqIdentifier":2001,"data":"\#(Data([0x0A, 0xFF, 0xFF]).base64EncodedString())"}"#.utf8),   // truncated protobuf
            Data(#"{"reqIdentifier":2001,"data":"\#(Data([0x0F]).base64EncodedString())"}"#.utf8),                 // wire type 7
            Data(#"{"data":"AAAA"}"#.utf8),                                                                          // no reqIdentifier
            Data(repeating: 0x20, count: 2 << 20),                                                                    // oversized
        ]
        for frame in garbage { a.injectRawFrame(toUser: "bot", frame) }
        a.injectRawText(toUser: "bot", "{not json")
        await eventually("errors reported") { botA.events.errors.all.count >= garbage.count + 1 }
        #expect(botA.events.errors.all.allSatisfy { $0.code == .malformedInput && $0.account == AccountKey(.openim, AccountID("a")) })
        #expect(botB.events.errors.all.isEmpty)
        a.injectMessage(from: "alice", to: "bot", text: "to A")
        b.injectMessage(from: "bob", to: "bot", text: "to B")
        await eventually("both delivered") { botA.events.messages.all.count == 1 && botB.events.messages.all.count == 1 }
        #expect(botA.events.messages.all.first?.text == "to A")
        #expect(botA.events.messages.all.first?.origin.account == AccountKey(.openim, AccountID("a")))
        #expect(botB.events.messages.all.first?.text == "to B")
        _ = try await botA.connection.send(.text("reply A"), to: DeliveryTarget(replyingTo: try #require(botA.events.messages.all.first).origin))
        _ = try await botB.connection.send(.text("reply B"), to: DeliveryTarget(replyingTo: try #require(botB.events.messages.all.first).origin))
        #expect(a.sentMessages(userID: "bot").map { "\($0.peerID):\($0.text)" } == ["alice:reply A"])
        #expect(b.sentMessages(userID: "bot").map { "\($0.peerID):\($0.text)" } == ["bob:reply B"])
        #expect(a.misroutedCount == 0 && b.misroutedCount == 0)
        // One socket each all along: garbage never cost a reconnect.
        #expect(a.connects(userID: "bot").count == 1 && b.connects(userID: "bot").count == 1)
        await botA.runner.stop()
        await botB.runner.stop()
        await h.shutdown()
    }

    @Test func malformedContentIsReportedAndTheSeqStillAdvances() async throws {
        let h = try OpenIMHarness()
        let bot = try await h.connectedBot()
        h.simulator.addUser("alice")
        h.simulator.injectMessage(from: "alice", to: "bot", text: "", content: .string("not an object"))
        h.simulator.injectMessage(from: "alice", to: "bot", text: "fine")
        await eventually("fine") { bot.events.messages.all.count == 1 }
        #expect(bot.events.errors.all.contains { $0.code == .malformedInput })
        let pulls = h.simulator.pullCount
        h.simulator.dropConnections(userID: "bot")
        await advance(h.clock, upTo: .seconds(30), "reconnected") { h.simulator.liveSessionCount(userID: "bot") == 1 && h.simulator.maxSeqRequestCount >= 2 }
        for _ in 0..<5000 { await Task.yield() }
        #expect(h.simulator.pullCount == pulls)   // nothing left to pull
        #expect(bot.events.messages.all.count == 1)
        await bot.runner.stop()
        await h.shutdown()
    }

    @Test func theHeartbeatPingsEvery25Seconds() async throws {
        let h = try OpenIMHarness()
        let bot = try await h.connectedBot()
        for _ in 0..<20_000 { await Task.yield() }   // the first sync's replies land
        for round in 1...3 {
            let due = h.clock.wallStart.addingTimeInterval(Double(25 * round))
            await h.clock.advance(by: .seconds(24))
            for _ in 0..<5_000 { await Task.yield() }
            #expect((bot.events.sink.lastActivity ?? .distantPast) < due.addingTimeInterval(-1), "pinged early in round \(round)")
            await h.clock.advance(by: .seconds(1))
            await eventually("pong \(round)") { bot.events.sink.lastActivity == due }
        }
        #expect(h.simulator.liveSessionCount(userID: "bot") == 1)
        await bot.runner.stop()
        await h.shutdown()
    }

    @Test func aRefusedUpgradeWhoseBodyCarriesATokenCodeStartsRecovery() async throws {
        // A server that ignores isMsgResp answers a bad token with a plain HTTP 200 body.
        let refusing = try LoopbackWebSocketServer(decide: { _ in .reject(status: 200, headers: ["Content-Type": "application/json"], body: #"{"errCode":1502,"errMsg":"TokenInvalidError","errDlt":""}"#) }) { _ in }
        let h = try OpenIMHarness()
        let calls = TestRecorder<String>()
        let account = h.simulator.addAccount(userID: "bot")
        var settings = h.settings(account, tokenRefresh: Self.hook)
        settings.wsAddr = refusing.url("/")
        let connection = try h.connection("bot", settings: settings, configuration: Self.hookConfiguration(h.simulator, http: h.http, calls: calls))
        let outcome = try await connection.run()
        #expect(calls.all == ["bot OnUserTokenInvalid"])
        guard case .reconnect(.zero?, _) = outcome else { Issue.record("expected an immediate reconnect with the recovered token, got \(outcome)"); return }
        await refusing.shutdown()
        await h.shutdown()
    }

    @Test func noConnectResultWithinTheHandshakeTimeoutReconnects() async throws {
        // A server that upgrades and then says nothing.
        let silent = try LoopbackWebSocketServer { connection in
            while (try? await connection.receive()) != nil {}
        }
        let h = try OpenIMHarness()
        let account = h.simulator.addAccount(userID: "bot")
        var settings = h.settings(account)
        settings.wsAddr = silent.url("/")
        let connection = try h.connection("main", settings: settings)
        let done = LockedValue(false)
        let run = Task {
            let outcome = try await connection.run()
            done.value.withLock { $0 = true }
            return outcome
        }
        await eventually("upgraded") { silent.upgradeRequests.count == 1 }
        await eventually("watchdog armed") { h.clock.sleeperCount >= 1 }
        await h.clock.advance(by: .seconds(9))
        for _ in 0..<5_000 { await Task.yield() }
        #expect(!done.value.withLock { $0 })
        if !(await advance(h.clock, upTo: .seconds(30), "handshake timeout") { done.value.withLock { $0 } }) { run.cancel() }
        let outcome = try await run.value
        guard case .reconnect(nil, let reason) = outcome else { Issue.record("expected a backoff reconnect, got \(outcome)"); return }
        #expect(reason.contains("no connect result"))
        await silent.shutdown()
        await h.shutdown()
    }

    @Test func probeChecksTheTokenAndTheGateway() async throws {
        let h = try OpenIMHarness()
        let account = h.simulator.addAccount(userID: "bot")
        let good = try h.connection("main", settings: h.settings(account))
        let probe = await good.probe()
        #expect(probe.isOK)
        #expect(probe.tokenOK == true && probe.gatewayReachable == true)
        h.simulator.invalidateTokens(userID: "bot")
        let bad = await good.probe()
        #expect(bad.tokenOK == false)
        #expect(!bad.isOK)
        #expect(bad.problems.allSatisfy { !$0.contains(account.token) })
        await h.shutdown()
    }
}
