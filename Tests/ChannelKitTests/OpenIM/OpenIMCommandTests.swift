import ChannelKit
import ChannelKitTesting
import Foundation
import Testing

/// `channelkit` as a black box with OpenIM accounts on two simulated servers: the
/// JSON-lines contract, `--echo` replies landing at the right peer, a refreshed token
/// written back into the config file, `check` and `probe`.
@Suite("channelkit command with OpenIM", .serialized)
struct OpenIMCommandTests: ChannelkitCommandTesting {
    func config(_ a: OpenIMSimulator, _ botA: OpenIMSimulator.Account, _ b: OpenIMSimulator, _ botB: OpenIMSimulator.Account, refresh: String = "") -> String {
        """
        {"channels": {"openim": {\(refresh)
            "accounts": {
                "alpha": {"token": "\(botA.token)", "wsAddr": "\(a.wsURL.absoluteString)", "apiAddr": "\(a.apiURL.absoluteString)"},
                "beta": {"tokenEnv": "CK_TEST_OPENIM_BETA", "wsAddr": "\(b.wsURL.absoluteString)", "apiAddr": "\(b.apiURL.absoluteString)",
                         "userID": "\(botB.userID)", "requireMention": false}}}},
         "session": {"dmScope": "per-account-channel-peer"},
         "state": {"directory": "state"}}
        """
    }

    @Test("run --echo: exact JSON lines, echoes at the right peer on the right server, a refreshed token written back")
    func runEcho() async throws {
        let a = OpenIMSimulator(), b = OpenIMSimulator()
        try a.start(); try b.start()
        let botA = a.addAccount(userID: "bot"), botB = b.addAccount(userID: "bot")
        a.addUser("alice"); b.addUser("bob")
        b.addGroup("g7", members: ["bot", "bob"])
        try await StoreTestSupport.withTemporaryDirectory { directory in
            let refresh = #""tokenRefresh": {"mode": "http", "http": {"endpoint": "\#(a.apiURL.absoluteString)/test/refresh", "body": {"userID": "bot"}, "responseTokenPath": "token"}},"#
            let path = try write(config(a, botA, b, botB, refresh: refresh), in: directory)
            let environment = ["CK_TEST_OPENIM_BETA": botB.token]
            let child = try ChildProcess(try StoreTestSupport.channelkitExecutable(), ["run", "--config", path, "--echo", "--log-level", "trace"],
                                         captureStandardError: true, environment: environment)
            let pid = child.process.processIdentifier
            let watchdog = Task {
                try await Task.sleep(for: .seconds(60))
                kill(pid, SIGKILL)
            }
            defer { watchdog.cancel() }
            var lines: [[String: JSONValue]] = []
            func next() async -> [String: JSONValue]? {
                guard let line = await child.nextLine() else { return nil }
                guard let object = try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)).objectValue else {
                    Issue.record("stdout line is not a JSON object: \(line)")
                    return nil
                }
                lines.append(object)
                return object
            }
            var connected = Set<String>()
            while connected.count < 2, let object = await next() {
                #expect(object["type"] == "status")
                if object["state"] == "connected", let account = object["account"]?.stringValue { connected.insert(account) }
            }
            #expect(connected == ["alpha", "beta"])
            #expect(await pollUntil { a.maxSeqRequestCount == 1 && b.maxSeqRequestCount == 1 })

            let direct = a.injectMessage(from: "alice", to: "bot", text: "hi alpha")
            var message: [String: JSONValue]?
            while message == nil, let object = await next() {
                if object["type"] == "message" { message = object }
            }
            let expected: JSONValue = [
                "type": "message", "channel": "openim", "account": "alpha",
                "peer": ["kind": "direct", "id": "alice"],
                "sender": ["id": "alice", "name": "alice"],
                "messageId": .string(direct.clientMsgID), "text": "hi alpha",
                "sessionKey": "agent:main:openim:alpha:direct:alice",
            ]
            #expect(message.map(JSONValue.object) == expected)

            let grouped = b.injectGroupMessage(from: "bob", groupID: "g7", text: "hello beta")
            var groupMessage: [String: JSONValue]?
            while groupMessage == nil, let object = await next() {
                if object["type"] == "message" { groupMessage = object }
            }
            #expect(groupMessage?["account"] == "beta")
            #expect(groupMessage?["peer"] == ["kind": "group", "id": "g7"])
            #expect(groupMessage?["messageId"] == .string(grouped.clientMsgID))
            #expect(groupMessage?["sessionKey"] == "agent:main:openim:beta:group:g7")

            #expect(await pollUntil { a.sentMessages(userID: "bot").contains { $0.text == "echo: hi alpha" } })
            #expect(await pollUntil { b.sentMessages(userID: "bot").contains { $0.text == "echo: hello beta" } })
            #expect(a.sentMessages(userID: "bot").map(\.peerID) == ["alice"])
            #expect(b.sentMessages(userID: "bot").map(\.peerID) == ["g7"])
            #expect(a.misroutedCount == 0 && b.misroutedCount == 0)

            // Kicked on server A: tokenRefresh http gets a new token, which run writes into the file.
            a.kick(userID: "bot")
            #expect(await pollUntil { a.refreshCount(userID: "bot") == 1 && a.liveSessionCount(userID: "bot") == 1 })
            let fresh = try #require(a.account("bot")?.token)
            #expect(await pollUntil { (try? String(contentsOfFile: path, encoding: .utf8))?.contains(fresh) == true })
            let rewritten = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
            #expect(rewritten["channels"]?["openim"]?["accounts"]?["alpha"]?["token"]?.stringValue == fresh)
            #expect(rewritten["channels"]?["openim"]?["accounts"]?["beta"]?["tokenEnv"] == "CK_TEST_OPENIM_BETA")

            kill(child.process.processIdentifier, SIGTERM)
            var stopped = Set<String>()
            while let object = await next() {
                if object["type"] == "status", object["state"] == "stopped", let account = object["account"]?.stringValue { stopped.insert(account) }
            }
            #expect(await child.waitForExit() == 0)
            #expect(stopped == ["alpha", "beta"])
            var logLines: [String] = []
            while let line = await child.nextErrorLine() { logLines.append(line) }
            let log = logLines.joined(separator: "\n")
            #expect(log.contains("OnKickedOffline"))
            #expect(!log.contains(botA.token) && !log.contains(botB.token) && !log.contains(fresh), "a token reached the log")
            let files = StoreTestSupport.allFiles(under: directory.appendingPathComponent("state"))
            #expect(files.contains { $0.hasSuffix("openim/alpha/openim-seqs.json") })
            let everything = lines.map { "\($0)" }.joined()
            #expect(!everything.contains(botA.token) && !everything.contains(botB.token) && !everything.contains(fresh))
        }
        await a.shutdown()
        await b.shutdown()
    }

    @Test("check and probe with OpenIM accounts")
    func checkAndProbe() async throws {
        let a = OpenIMSimulator(), b = OpenIMSimulator()
        try a.start(); try b.start()
        let botA = a.addAccount(userID: "bot"), botB = b.addAccount(userID: "bot")
        try await StoreTestSupport.withTemporaryDirectory { directory in
            let environment = ["CK_TEST_OPENIM_BETA": botB.token]
            let path = try write(config(a, botA, b, botB), in: directory)
            let (checkStatus, _) = try await runToEnd(["check", "--config", path], environment: environment)
            #expect(checkStatus == 0)
            let (status, lines) = try await runToEnd(["probe", "--config", path], environment: environment)
            #expect(status == 0)
            #expect(lines.contains { $0.hasPrefix("openim:alpha") && $0.contains("ok") })
            #expect(lines.contains { $0.hasPrefix("openim:beta") && $0.contains("ok") })
            #expect(!lines.joined().contains(botA.token))

            // A userID that disagrees with the token's claim is a config error with its path.
            let mismatch = try write("""
            {"channels": {"openim": {"accounts": {"alpha": {"token": "\(botA.token)", "wsAddr": "\(a.wsURL.absoluteString)",
              "apiAddr": "\(a.apiURL.absoluteString)", "userID": "someone-else"}}}}}
            """, in: directory, name: "mismatch.json")
            let (mismatchStatus, mismatchLines) = try await runToEnd(["check", "--config", mismatch], environment: environment)
            #expect(mismatchStatus == 2)
            let errors = mismatchLines.joined(separator: "\n")
            #expect(errors.contains("$.channels.openim.accounts.alpha.userID"))
            #expect(!errors.contains(botA.token))

            a.invalidateTokens(userID: "bot")
            let (badStatus, badLines) = try await runToEnd(["probe", "--config", path], environment: environment)
            #expect(badStatus == 1)
            #expect(badLines.contains { $0.hasPrefix("openim:alpha") && $0.contains("FAILED") })
        }
        await a.shutdown()
        await b.shutdown()
    }
}
