import ChannelKit
import ChannelKitTesting
import Foundation
import Testing

/// The `channelkit` executable as a black box: exit codes, the JSON-lines contract of
/// `run`, `--echo` replies through the origin, and a clean exit on SIGTERM — against the
/// QQ and ClawChat simulators over real sockets.
@Suite("channelkit command", .serialized)
struct ChannelkitCommandTests: ChannelkitCommandTesting {
    @Test("check: 0 when valid, 2 with every JSON path when invalid, 1 for a missing file, 64 for usage")
    func checkExitCodes() async throws {
        try await StoreTestSupport.withTemporaryDirectory { directory in
            let valid = try write("""
            {"channels": {"qqbot": {"accounts": {"a": {"appId": "1001", "clientSecret": "s"}}},
                          "clawchat": {"accounts": {"c": {"baseUrl": "https://chat.example", "accessToken": "x", "refreshToken": "y"}}}}}
            """, in: directory)
            let (ok, okLines) = try await runToEnd(["check", "--config", valid])
            #expect(ok == 0)
            #expect(okLines.first?.hasPrefix("ok: 2 account(s)") == true)

            let invalid = try write("""
            {"channels": {"qqbot": {"appId": "1", "accounts": {"a": {"clientSecret": "super-secret-value", "intents": "nope"}}}},
             "session": {"dmScope": "nope"}}
            """, in: directory, name: "bad.json")
            let (bad, badLines) = try await runToEnd(["check", "--config", invalid])
            #expect(bad == 2)
            let text = badLines.joined(separator: "\n")
            #expect(text.contains("$.channels.qqbot.appId:"))
            #expect(text.contains("$.channels.qqbot.accounts.a.appId:"))
            #expect(text.contains("$.channels.qqbot.accounts.a.intents:"))
            #expect(text.contains("$.session.dmScope:"))
            #expect(!text.contains("super-secret-value"))

            let (missing, _) = try await runToEnd(["check", "--config", directory.appendingPathComponent("none.json").path])
            #expect(missing == 1)
            let (usage, _) = try await runToEnd(["check"])
            #expect(usage == 64)
        }
    }

    @Test("probe: a table per account; exit 1 when any check failed")
    func probeTable() async throws {
        let qq = try QQBotSimulator()
        let bot = qq.addBot(appId: "1002009", clientSecret: "right-secret")
        try await StoreTestSupport.withTemporaryDirectory { directory in
            let endpoints = "\"apiBaseUrl\": \"\(qq.apiBaseURL.absoluteString)\", \"tokenUrl\": \"\(qq.tokenURL.absoluteString)\""
            let good = try write(#"{"channels": {"qqbot": {"accounts": {"ok": {"appId": "\#(bot.appId)", "clientSecret": "right-secret", \#(endpoints)}}}}}"#, in: directory)
            let (status, lines) = try await runToEnd(["probe", "--config", good])
            #expect(status == 0)
            #expect(lines.first?.hasPrefix("ACCOUNT") == true)
            #expect(lines.contains { $0.hasPrefix("qqbot:ok") && $0.contains("ok") })

            let bad = try write(#"{"channels": {"qqbot": {"accounts": {"wrong": {"appId": "\#(bot.appId)", "clientSecret": "wrong-secret", \#(endpoints)}}}}}"#, in: directory, name: "bad.json")
            let (badStatus, badLines) = try await runToEnd(["probe", "--config", bad])
            #expect(badStatus == 1)
            #expect(badLines.contains { $0.hasPrefix("qqbot:wrong") && $0.contains("FAILED") })
            #expect(!badLines.joined().contains("wrong-secret"))
        }
        await qq.shutdown()
    }

    @Test("run: an invalid config starts nothing and exits 2")
    func runInvalidConfig() async throws {
        let qq = try QQBotSimulator()
        let bot = qq.addBot(appId: "1002003", clientSecret: "s3cr3t")
        try await StoreTestSupport.withTemporaryDirectory { directory in
            let path = try write("""
            {"channels": {"qqbot": {"accounts": {
                "good": {"appId": "\(bot.appId)", "clientSecret": "s3cr3t", "apiBaseUrl": "\(qq.apiBaseURL.absoluteString)", "tokenUrl": "\(qq.tokenURL.absoluteString)"},
                "bad": {"appId": "x"}}}}}
            """, in: directory)
            let (status, lines) = try await runToEnd(["run", "--config", path])
            #expect(status == 2)
            #expect(lines.isEmpty)
            #expect(qq.tokenFetchCount(appId: bot.appId) == 0)
        }
        await qq.shutdown()
    }

    @Test("run --echo: JSON lines for status and messages, echo through the origin, SIGTERM exits 0")
    func runEcho() async throws {
        let qq = try QQBotSimulator()
        let bots = [qq.addBot(appId: "1002001", clientSecret: "secret-one"), qq.addBot(appId: "1002002", clientSecret: "secret-two")]
        let claw = ClawChatSimulator()
        try claw.start()
        let agent = claw.addAccount(userID: "usr_agent", nickname: "Agent")
        try await StoreTestSupport.withTemporaryDirectory { directory in
            let endpoints = "\"apiBaseUrl\": \"\(qq.apiBaseURL.absoluteString)\", \"tokenUrl\": \"\(qq.tokenURL.absoluteString)\""
            let path = try write("""
            {"channels": {
                "qqbot": {"accounts": {
                    "one": {"appId": "\(bots[0].appId)", "clientSecret": "secret-one", \(endpoints)},
                    "two": {"appId": "\(bots[1].appId)", "clientSecretEnv": "CK_TEST_QQ_TWO", \(endpoints)}}},
                "clawchat": {"accounts": {
                    "agent": {"baseUrl": "\(claw.baseURL.absoluteString)", "accessToken": "\(agent.accessToken)",
                              "refreshToken": "\(agent.refreshToken)", "deviceId": "\(agent.deviceID)"}}}},
             "session": {"dmScope": "per-account-channel-peer"},
             "state": {"directory": "state"}}
            """, in: directory)
            let child = try ChildProcess(try StoreTestSupport.channelkitExecutable(), ["run", "--config", path, "--echo"], environment: ["CK_TEST_QQ_TWO": "secret-two"])
            let pid = child.process.processIdentifier
            let watchdog = Task {
                // Safety net only: a hung child fails the test instead of hanging the suite.
                try await Task.sleep(for: .seconds(60))
                kill(pid, SIGKILL)
            }
            defer { watchdog.cancel() }

            var connected = Set<String>()
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
            while connected.count < 3, let object = await next() {
                #expect(object["type"] == "status")
                #expect(Set(object.keys) == ["type", "channel", "account", "state", "reason"])
                if object["state"] == "connected", let channel = object["channel"]?.stringValue, let account = object["account"]?.stringValue {
                    connected.insert("\(channel):\(account)")
                }
            }
            #expect(connected == ["qqbot:one", "qqbot:two", "clawchat:agent"])

            // A C2C message to bot two.
            let openID = qq.userOpenID(appId: bots[1].appId, user: "alice")
            let messageID = qq.injectC2CMessage(appId: bots[1].appId, userOpenID: openID, text: "hi two")
            var message: [String: JSONValue]?
            while message == nil, let object = await next() {
                if object["type"] == "message" { message = object }
            }
            let expected: JSONValue = [
                "type": "message", "channel": "qqbot", "account": "two",
                "peer": ["kind": "direct", "id": .string(openID)],
                "sender": ["id": .string(openID), "name": .null],
                "messageId": .string(messageID), "text": "hi two",
                "sessionKey": .string("agent:main:qqbot:two:direct:\(openID)"),
            ]
            #expect(message.map(JSONValue.object) == expected)

            // A group message to the ClawChat agent.
            let group = claw.addChat(type: .group, members: [agent.userID, "usr_bob"])
            let clawMessageID = claw.injectMessage(toUser: agent.userID, chatID: group, chatType: .group, fromUser: "usr_bob", text: "hello agent", mentions: [agent.userID])
            var clawMessage: [String: JSONValue]?
            while clawMessage == nil, let object = await next() {
                if object["type"] == "message" { clawMessage = object }
            }
            #expect(clawMessage?["channel"] == "clawchat")
            #expect(clawMessage?["account"] == "agent")
            #expect(clawMessage?["peer"] == ["kind": "group", "id": .string(group)])
            #expect(clawMessage?["messageId"] == .string(clawMessageID))
            #expect(clawMessage?["sessionKey"] == .string("agent:main:clawchat:agent:group:\(group)"))

            // The echoes went through each message's own account and conversation.
            #expect(await pollUntil { qq.sentMessages(appId: bots[1].appId).contains { $0.accepted && $0.content == "echo: hi two" } })
            let qqSend = qq.sentMessages(appId: bots[1].appId).first { $0.content == "echo: hi two" }
            #expect(qqSend?.targetID == openID)
            #expect(qqSend?.msgID == messageID)
            #expect(qq.sentMessages(appId: bots[0].appId).isEmpty)
            #expect(await pollUntil { claw.sentMessages(userID: agent.userID).contains { $0.text == "echo: hello agent" } })
            #expect(claw.sentMessages(userID: agent.userID).first?.chatID == group)
            #expect(qq.misroutedReplyCount == 0 && claw.misroutedCount == 0)

            // SIGTERM: every account stops, exit 0.
            kill(child.process.processIdentifier, SIGTERM)
            var stopped = Set<String>()
            while let object = await next() {
                if object["type"] == "status", object["state"] == "stopped", let account = object["account"]?.stringValue {
                    stopped.insert(account)
                }
            }
            #expect(await child.waitForExit() == 0)
            #expect(stopped == ["one", "two", "agent"])
            #expect(await pollUntil { !qq.isConnected(appId: bots[0].appId) && !qq.isConnected(appId: bots[1].appId) })
            // Dedup state was flushed under the configured state directory.
            let files = StoreTestSupport.allFiles(under: directory.appendingPathComponent("state"))
            #expect(files.contains { $0.hasSuffix("qqbot/two/dedup.json") })
            // No secret reached stdout.
            let everything = lines.map { "\($0)" }.joined()
            #expect(!everything.contains("secret-one") && !everything.contains(agent.accessToken))
        }
        await qq.shutdown()
        await claw.shutdown()
    }

    @Test("run: SIGHUP reloads — added start, removed stop, untouched keep their socket; an invalid file keeps the running config")
    func runReloadsOnSIGHUP() async throws {
        let qq = try QQBotSimulator()
        for appID in ["8001", "8002", "8003"] { qq.addBot(appId: appID, clientSecret: "secret-\(appID)") }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ck-reload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try await reloadScenario(qq, directory: directory)
        await qq.shutdown()
    }

    private func reloadConfig(_ qq: QQBotSimulator, _ ids: [Int]) -> String {
        let accounts = ids.map { i in
            let appID = "800\(i + 1)"
            return #""bot\#(i)": {"appId": "\#(appID)", "clientSecret": "secret-\#(appID)", "apiBaseUrl": "\#(qq.apiBaseURL.absoluteString)", "tokenUrl": "\#(qq.tokenURL.absoluteString)"}"#
        }
        return #"{"channels": {"qqbot": {"accounts": {\#(accounts.joined(separator: ","))}}}, "state": {"directory": "state"}}"#
    }

    private static func object(_ line: String?) -> [String: JSONValue]? {
        guard let line else { return nil }
        return (try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)))?.objectValue ?? [:]
    }

    private func reloadScenario(_ qq: QQBotSimulator, directory: URL) async throws {
        let path = try write(reloadConfig(qq, [0, 1]), in: directory)
        let child = try ChildProcess(try StoreTestSupport.channelkitExecutable(), ["run", "--config", path], captureStandardError: true)
        let pid = child.process.processIdentifier
        let watchdog = Task {
            try await Task.sleep(for: .seconds(60))  // safety net only
            kill(pid, SIGKILL)
        }
        defer { watchdog.cancel() }

        var connected = Set<String>()
        while connected.count < 2, let object = Self.object(await child.nextLine()) {
            if object["state"] == "connected", let account = object["account"]?.stringValue { connected.insert(account) }
        }
        #expect(connected == ["bot0", "bot1"])

        // Remove bot1, add bot2, keep bot0.
        try Data(reloadConfig(qq, [0, 2]).utf8).write(to: URL(fileURLWithPath: path))
        kill(pid, SIGHUP)
        var seen: [String: Set<String>] = [:]
        while seen["bot1", default: []].contains("stopped") == false || seen["bot2", default: []].contains("connected") == false,
              let object = Self.object(await child.nextLine()) {
            if let account = object["account"]?.stringValue, let state = object["state"]?.stringValue {
                seen[account, default: []].insert(state)
            }
        }
        #expect(seen["bot1"]?.contains("stopped") == true)
        #expect(seen["bot2"]?.contains("connected") == true)
        #expect(seen["bot0"] == nil, "the untouched account printed \(seen["bot0"] ?? [])")
        #expect(qq.identifyCount(appId: "8001") == 1 && qq.resumeCount(appId: "8001") == 0)
        #expect(await pollUntil { !qq.isConnected(appId: "8002") })

        // An invalid file on SIGHUP changes nothing; the gateway keeps serving.
        try Data(#"{"channels": {"qqbot": {"accounts": {"bot0": {"appId": "8001", "clientSecret": "s", "enabled": "yes"}}}}}"#.utf8)
            .write(to: URL(fileURLWithPath: path))
        kill(pid, SIGHUP)
        var failed = false, reported = false
        while !reported, let line = await child.nextErrorLine() {
            failed = failed || line.contains("reload failed, keeping the running configuration")
            reported = failed && line.contains("$.channels.qqbot.accounts.bot0.enabled: expected true or false")
        }
        #expect(reported)
        let openID = qq.userOpenID(appId: "8001", user: "u")
        let messageID = qq.injectC2CMessage(appId: "8001", userOpenID: openID, text: "still here")
        var message: [String: JSONValue]?
        while message == nil, let object = Self.object(await child.nextLine()) {
            if object["type"] == "message" { message = object }
            if object["type"] == "status", object["account"] == "bot0" { Issue.record("bot0 changed state after an invalid reload: \(object)") }
        }
        #expect(message?["messageId"] == .string(messageID))
        #expect(qq.identifyCount(appId: "8001") == 1)

        kill(pid, SIGTERM)
        while await child.nextLine() != nil {}
        #expect(await child.waitForExit() == 0)
    }

}

extension ChannelkitCommandTests {
    @Test("demo: the README's main command answers everything through its origin and exits 0")
    func demoSmoke() async throws {
        let (status, lines) = try await runToEnd(["demo", "--duration", "3", "--accounts", "2"])
        #expect(status == 0, "\(lines.joined(separator: "\n"))")
        #expect(lines.contains("misrouted replies: 0 (must be 0)"))
        #expect(lines.contains { $0.hasPrefix("OK: every message answered exactly once") })
        for account in ["qqbot:qq-1", "qqbot:qq-2", "clawchat:claw-1", "clawchat:claw-2", "feishu:feishu-1", "feishu:feishu-2", "openim:openim-1", "openim:openim-2"] {
            #expect(lines.contains { $0.hasPrefix(account) && $0.contains("connected") })
        }
    }
}
