import ChannelKit
@testable import ChannelKitOpenIM
import ChannelKitTesting
import Foundation
import Synchronization
import Testing

/// `tokenRefresh`: the three modes, templates and dot-paths, write-back, the marker and
/// the no-storm rules, against a loopback refresh endpoint and the real file system.
@Suite struct OpenIMTokenRecoveryTests {
    static let account = AccountKey(ChannelID("openim"), AccountID("primary"))

    /// A recovery wired to a loopback server and a temporary state directory.
    struct World {
        let server: LoopbackHTTPServer
        let directory: URL
        let clock = TestClock()
        let logs = CapturingLogHandler()
        let refreshed = TestRecorder<String>()
        var store: FileStateStore { FileStateStore(directory: directory.appendingPathComponent("state")) }

        func context() -> AccountContext {
            AccountContext(account: OpenIMTokenRecoveryTests.account, time: clock.timeSource, logger: ChannelLogger(handler: logs, level: .trace),
                           store: store, http: URLSessionHTTPTransport(), webSocket: makeDefaultWebSocketTransport(),
                           tokenCache: TokenCache(configuration: .init(time: clock.timeSource)), events: AccountEventSink { _ in true })
        }

        func recovery(_ refresh: OpenIMTokenRefresh, token: String = "configured-jwt", hook: OpenIMTokenRecovery.Hook? = nil) -> OpenIMTokenRecovery {
            let refreshed = self.refreshed
            return OpenIMTokenRecovery(accountID: "primary", configuredToken: Secret(token), refresh: refresh, hook: hook,
                                       didRefresh: { _, token in refreshed.record(token.reveal()) }, context: context())
        }

        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

        var markerPath: String { directory.appendingPathComponent("state/openim/manual-login.primary.json").path }
    }

    func withWorld(_ body: (World) async throws -> Void) async throws {
        let server = try LoopbackHTTPServer()
        try await StoreTestSupport.withTemporaryDirectory { dir in
            try await body(World(server: server, directory: dir))
        }
        await server.shutdown()
    }

    func parse(_ json: String, base: String = "/cfg") -> (OpenIMTokenRefresh?, [ConfigIssue]) {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)) else { return (nil, []) }
        let object = ConfigObject(value, path: "$.channels.openim.tokenRefresh", environment: ConfigEnvironment(baseDirectory: base))
        let parsed = OpenIMTokenRefresh.parse(object)
        return (parsed, object.issues)
    }

    func httpRefresh(_ world: World, _ extra: String = "") -> OpenIMTokenRefresh? {
        parse("""
        {"mode": "http", "http": {
          "stateFile": "\(world.path("tokens.json"))",
          "endpoint": "\(world.server.baseURL.absoluteString)/refresh/{accountId}",
          "headers": {"content-type": "application/json", "x-refresh": "{state.refresh_token}"},
          "body": {"refreshToken": "{state.refresh_token}", "who": "{accountId}", "n": 3},
          "responseTokenPath": ["tokens.openimToken", "data.openimToken"],
          "stateWriteBack": {"refresh_token": ["tokens.refreshToken", "data.refreshToken"], "issued": "data.issued"}
          \(extra)}}
        """).0
    }

    // MARK: Parsing

    @Test func parsesNestedAndFlatHTTPSettings() throws {
        let (nested, issues) = parse(#"{"mode": "http", "http": {"endpoint": "https://auth/refresh", "timeoutMs": 2000, "stateFile": "s.json"}, "manualLoginMarkerPath": "m/login.json"}"#)
        #expect(issues.isEmpty)
        guard case .http(let http)? = nested?.mode else { Issue.record("not http: \(issues)"); return }
        #expect(http.endpoint == "https://auth/refresh")
        #expect(http.method == "POST")
        #expect(http.timeout == .milliseconds(2000))
        #expect(http.stateFile == "/cfg/s.json")
        #expect(http.responseTokenPath == ["token"])
        #expect(nested?.manualLoginMarkerPath == "/cfg/m/login.json")

        let (flat, flatIssues) = parse(#"{"mode": "http", "endpoint": "https://auth/refresh", "method": "put", "responseTokenPath": "data.token"}"#)
        #expect(flatIssues.isEmpty)
        guard case .http(let f)? = flat?.mode else { Issue.record("not http"); return }
        #expect(f.method == "PUT")
        #expect(f.responseTokenPath == ["data.token"])
        #expect(parse(#"{"mode": "hook"}"#).0?.mode == .hook)
        #expect(parse(#"{"mode": "off"}"#).0?.mode == .off)
    }

    @Test func configProblemsNameTheirPaths() {
        let cases: [(String, String)] = [
            (#"{}"#, "$.channels.openim.tokenRefresh.mode"),
            (#"{"mode": "sometimes"}"#, "$.channels.openim.tokenRefresh.mode"),
            (#"{"mode": "http"}"#, "$.channels.openim.tokenRefresh.http"),
            (#"{"mode": "http", "http": {"method": "POST"}}"#, "$.channels.openim.tokenRefresh.http.endpoint"),
            (#"{"mode": "http", "http": {"endpoint": "ftp://x"}}"#, "$.channels.openim.tokenRefresh.http.endpoint"),
            (#"{"mode": "http", "http": {"endpoint": "https://x/{user}"}}"#, "$.channels.openim.tokenRefresh.http.endpoint"),
            (#"{"mode": "http", "http": {"endpoint": "https://x", "body": {"a": "{state.rt}"}}}"#, "$.channels.openim.tokenRefresh.http.body.a"),
            (#"{"mode": "http", "http": {"endpoint": "https://x", "responseTokenPath": []}}"#, "$.channels.openim.tokenRefresh.http.responseTokenPath"),
            (#"{"mode": "http", "http": {"endpoint": "https://x", "retries": 3}}"#, "$.channels.openim.tokenRefresh.http.retries"),
            (#"{"mode": "http", "endpoint": "https://x", "http": {"endpoint": "https://y"}}"#, "$.channels.openim.tokenRefresh.http"),
            (#"{"mode": "off", "clearOnSuccess": [1]}"#, "$.channels.openim.tokenRefresh.clearOnSuccess[0]"),
        ]
        for (json, path) in cases {
            let (parsed, issues) = parse(json)
            #expect(parsed == nil, "\(json)")
            #expect(issues.map(\.path).contains(path), "\(json) → \(issues)")
        }
    }

    @Test func descriptionRedactsHeadersAndBody() throws {
        let (parsed, _) = parse(#"{"mode": "http", "http": {"endpoint": "https://auth/refresh", "headers": {"authorization": "Bearer sk-very-secret"}, "body": {"password": "hunter2"}}}"#)
        let refresh = try #require(parsed)
        for text in [String(describing: refresh), String(reflecting: refresh), "\(refresh)"] {
            #expect(!text.contains("sk-very-secret"))
            #expect(!text.contains("hunter2"))
        }
    }

    @Test func templatesFillAccountAndStateFields() throws {
        let state: [String: JSONValue] = ["rt": .string("r-1"), "n": .number(42), "flag": .bool(true)]
        #expect(try OpenIMTokenTemplate.fill("{state.rt}/{accountId}/{state.n}/{state.flag}/{open", accountID: "a", state: state) == "r-1/a/42/true/{open")
        #expect(throws: OpenIMTokenRefreshFailure.self) { try OpenIMTokenTemplate.fill("{state.missing}", accountID: "a", state: state) }
        #expect(OpenIMManualLoginMarker.path(template: "/s/openim/manual-login.json", accountID: "team-b") == "/s/openim/manual-login.team-b.json")
        #expect(OpenIMManualLoginMarker.path(template: "/s/marker", accountID: "x") == "/s/marker.x")
        #expect(OpenIMManualLoginMarker.path(template: "/s/{accountId}/login.json", accountID: "x") == "/s/x/login.json")
        #expect(JSONValue.object(["a": .array([.object(["b": .string("v")])])]).value(atDotPath: "a.0.b") == .string("v"))
    }

    // MARK: http mode

    @Test func httpRefreshFillsTheRequestWritesBackAndPersists() async throws {
        try await withWorld { world in
            try #"{"primary": {"refresh_token": "r-1"}, "team-b": {"refresh_token": "other"}}"#.write(toFile: world.path("tokens.json"), atomically: true, encoding: .utf8)
            try "old".write(toFile: world.path("clear-primary.json"), atomically: true, encoding: .utf8)
            world.server.route(.post, prefix: "/refresh/") { _ in
                .json(raw: #"{"data": {"openimToken": "new-jwt-1", "refreshToken": "r-2", "issued": 7}}"#)
            }
            let refresh = try #require(httpRefresh(world, #", "clearOnSuccess": ["\#(world.path("clear-{accountId}.json"))"]"#))
            let recovery = world.recovery(refresh)
            #expect(await recovery.currentToken() == .recovered(Secret("configured-jwt")))
            #expect(await recovery.recover(.expired(code: 1501, message: "TokenExpiredError")) == .recovered(Secret("new-jwt-1")))

            let request = try #require(world.server.requests.first)
            #expect(request.path == "/refresh/primary")
            #expect(request.headers["x-refresh"] == "r-1")
            let body = try JSONDecoder().decode(JSONValue.self, from: request.body)
            #expect(body == .object(["refreshToken": .string("r-1"), "who": .string("primary"), "n": .number(3)]))

            let state = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: world.path("tokens.json"))))
            #expect(state["primary"]?["refresh_token"] == .string("r-2"))
            #expect(state["primary"]?["issued"] == .number(7))
            #expect(state["team-b"]?["refresh_token"] == .string("other"), "other accounts' entries are kept")
            #expect(!FileManager.default.fileExists(atPath: world.path("clear-primary.json")), "clearOnSuccess")
            #expect(world.refreshed.all == ["new-jwt-1"], "the host hears of the new token")
            #expect(await recovery.currentToken() == .recovered(Secret("new-jwt-1")))

            // A restarted process with the same configured token uses the persisted one;
            // an operator's new configured token wins over it.
            #expect(await world.recovery(refresh).currentToken() == .recovered(Secret("new-jwt-1")))
            #expect(await world.recovery(refresh, token: "operator-new").currentToken() == .recovered(Secret("operator-new")))

            let log = world.logs.lines.map(\.description).joined(separator: "\n")
            for secret in ["new-jwt-1", "r-1", "r-2", "configured-jwt"] { #expect(!log.contains(secret), "\(secret) in logs") }
        }
    }

    @Test func responseTokenPathFallsBackInOrder() async throws {
        try await withWorld { world in
            world.server.route(.post, prefix: "/refresh/") { _ in .json(raw: #"{"tokens": {"openimToken": ""}, "data": {"openimToken": "second"}}"#) }
            try "{}".write(toFile: world.path("tokens.json"), atomically: true, encoding: .utf8)
            let refresh = try #require(parse("""
            {"mode": "http", "http": {"endpoint": "\(world.server.baseURL.absoluteString)/refresh/{accountId}", "responseTokenPath": ["tokens.openimToken", "data.openimToken"]}}
            """).0)
            #expect(await world.recovery(refresh).recover(.invalid(code: 1502, message: "")) == .recovered(Secret("second")))
        }
    }

    @Test func garbageReplyMeansManualLoginWithAMarkerAndNoStorm() async throws {
        try await withWorld { world in
            try #"{"primary": {"refresh_token": "r-1"}}"#.write(toFile: world.path("tokens.json"), atomically: true, encoding: .utf8)
            world.server.route(.post, prefix: "/refresh/") { _ in .text("<html>502 gateway</html>") }
            let refresh = try #require(httpRefresh(world))
            let recovery = world.recovery(refresh)
            guard case .manualLoginRequired(let reason) = await recovery.recover(.expired(code: 1501, message: "TokenExpiredError")) else {
                Issue.record("expected manual login"); return
            }
            #expect(reason.contains("OnUserTokenExpired"))
            #expect(reason.contains("not JSON"))
            let marker = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: world.markerPath)))
            #expect(marker["accountId"] == .string("primary"))
            #expect(marker["trigger"] == .string("OnUserTokenExpired"))
            #expect(try StoreTestSupport.mode(world.markerPath) == 0o600)

            // No storm: every later trigger answers at once, with no request.
            for _ in 0..<20 {
                guard case .manualLoginRequired = await recovery.recover(.kicked(code: 1506, message: "")) else { Issue.record("retried"); return }
            }
            #expect(world.server.requests.count == 1)
            // A restarted process with the same token and settings does not try again…
            guard case .manualLoginRequired = await world.recovery(refresh).currentToken() else { Issue.record("restart retried"); return }
            #expect(world.server.requests.count == 1)
            // …but a new token clears the marker.
            #expect(await world.recovery(refresh, token: "fresh").currentToken() == .recovered(Secret("fresh")))
            #expect(!FileManager.default.fileExists(atPath: world.markerPath))
        }
    }

    @Test func transientFailuresBackOffOnTheClock() async throws {
        try await withWorld { world in
            let status = Mutex(503)
            world.server.route(.post, prefix: "/refresh/") { _ in
                let code = status.withLock { $0 }
                return code == 200 ? .json(raw: #"{"token": "t-ok"}"#) : .text("busy", status: code)
            }
            let refresh = try #require(parse("""
            {"mode": "http", "http": {"endpoint": "\(world.server.baseURL.absoluteString)/refresh/{accountId}"}}
            """).0)
            let recovery = world.recovery(refresh)
            guard case .retryLater(let reason) = await recovery.recover(.expired(code: 1501, message: "")) else { Issue.record("not transient"); return }
            #expect(reason.contains("HTTP 503"))
            #expect(!FileManager.default.fileExists(atPath: world.markerPath))

            status.withLock { $0 = 200 }
            let second = Task { await recovery.recover(.expired(code: 1501, message: "")) }
            #expect(await world.clock.waitForSleepers(1), "the second attempt waits its backoff")
            #expect(world.server.requests.count == 1)
            await world.clock.advance(by: .seconds(2))
            #expect(await second.value == .recovered(Secret("t-ok")))
            #expect(world.server.requests.count == 2)
        }
    }

    @Test func concurrentTriggersShareOneAttempt() async throws {
        try await withWorld { world in
            let gate = AsyncGate()
            world.server.route(.post, prefix: "/refresh/") { _ in
                await gate.wait()
                return .json(raw: #"{"token": "shared"}"#)
            }
            let refresh = try #require(parse("""
            {"mode": "http", "http": {"endpoint": "\(world.server.baseURL.absoluteString)/refresh/{accountId}"}}
            """).0)
            let recovery = world.recovery(refresh)
            let results = TestRecorder<OpenIMTokenRecoveryResult>()
            let callers = (0..<10).map { i in
                Task { results.record(await recovery.recover(i % 2 == 0 ? .expired(code: 1501, message: "") : .kicked(code: 1506, message: ""))) }
            }
            _ = await world.server.waitForRequests(1)
            gate.open()
            for caller in callers { await caller.value }
            #expect(results.all.count == 10)
            #expect(results.all.allSatisfy { $0 == .recovered(Secret("shared")) })
            #expect(world.server.requests.count == 1)
            #expect(world.refreshed.all == ["shared"])
        }
    }

    // MARK: hook and off

    @Test func hookGetsTheAccountAndReasonAndNilIsTerminal() async throws {
        try await withWorld { world in
            let calls = TestRecorder<String>()
            let answer = Mutex<String?>("hooked-token")
            let hook: OpenIMTokenRecovery.Hook = { key, reason in
                calls.record("\(key.account.rawValue) \(reason)")
                return answer.withLock { $0 }
            }
            let recovery = world.recovery(OpenIMTokenRefresh(mode: .hook), hook: hook)
            #expect(await recovery.recover(.connectFailed(code: 10001, message: "dial timeout")) == .recovered(Secret("hooked-token")))
            answer.withLock { $0 = nil }
            guard case .manualLoginRequired = await recovery.recover(.expired(code: 1501, message: "")) else { Issue.record("nil hook answer must be terminal"); return }
            #expect(calls.all == ["primary OnConnectFailed errCode=10001", "primary OnUserTokenExpired"])
            #expect(FileManager.default.fileExists(atPath: world.markerPath))

            // No hook registered at all: terminal at once.
            guard case .manualLoginRequired(let reason) = await world.recovery(OpenIMTokenRefresh(mode: .hook), token: "other").recover(.invalid(code: 1502, message: "")) else {
                Issue.record("expected manual login"); return
            }
            #expect(reason.contains("no token hook"))
        }
    }

    @Test func offWritesTheMarkerForTokenErrorsButNotForNetworkFailures() async throws {
        try await withWorld { world in
            let recovery = world.recovery(.off)
            guard case .retryLater = await recovery.recover(.connectFailed(code: 10001, message: "")) else { Issue.record("network failure must not be terminal"); return }
            #expect(!FileManager.default.fileExists(atPath: world.markerPath))
            guard case .manualLoginRequired = await recovery.recover(.kicked(code: 2002, message: "kicked")) else { Issue.record("expected manual login"); return }
            #expect(FileManager.default.fileExists(atPath: world.markerPath))
            #expect(world.server.requests.isEmpty)
        }
    }

    @Test func markerTemplateIsPerAccount() async throws {
        try await withWorld { world in
            let template = world.path("markers/manual-login.json")
            let recovery = world.recovery(OpenIMTokenRefresh(mode: .off, manualLoginMarkerPath: template))
            _ = await recovery.recover(.expired(code: 1501, message: ""))
            #expect(FileManager.default.fileExists(atPath: world.path("markers/manual-login.primary.json")))
            #expect(!FileManager.default.fileExists(atPath: template))
        }
    }
}
