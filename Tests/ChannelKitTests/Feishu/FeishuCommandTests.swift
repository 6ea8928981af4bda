import ChannelKit
import ChannelKitTesting
import Foundation
import Testing

/// The `channelkit` executable as a black box with Feishu accounts on the simulator:
/// `run --echo` JSON lines and replies through the origin, `check` and `probe`.
@Suite("channelkit command with Feishu", .serialized)
struct FeishuCommandTests: ChannelkitCommandTesting {
    @Test("check: Feishu fields validated with their JSON paths")
    func check() async throws {
        try await StoreTestSupport.withTemporaryDirectory { directory in
            let valid = try write("""
            {"channels": {"feishu": {"accounts": {
                "a": {"appId": "cli_a1", "appSecret": "s", "domain": "lark", "requireMention": false},
                "b": {"appId": "cli_b1", "appSecretEnv": "SOME_ENV_THAT_IS_SET", "domain": "https://open.example.com", "enabled": false}}}}}
            """, in: directory)
            let (status, _) = try await runToEnd(["check", "--config", valid], environment: ["SOME_ENV_THAT_IS_SET": "x"])
            #expect(status == 0)
            let invalid = try write("""
            {"channels": {"feishu": {"accounts": {
                "a": {"appId": "cli_a1", "appSecret": "super-secret-value", "domain": "http://open.example.com"},
                "b": {"appId": "", "appSecret": "s", "appSecretFile": "/nonexistent", "requireMention": "yes", "colour": 1}}}}}
            """, in: directory, name: "bad.json")
            let child = try ChildProcess(try StoreTestSupport.channelkitExecutable(), ["check", "--config", invalid], captureStandardError: true)
            var text = ""
            while let line = await child.nextLine() { text += line + "\n" }
            while let line = await child.nextErrorLine() { text += line + "\n" }
            #expect(await child.waitForExit() == 2)
            for path in ["$.channels.feishu.accounts.a.domain:", "$.channels.feishu.accounts.b.appId:", "$.channels.feishu.accounts.b.appSecretFile:",
                         "$.channels.feishu.accounts.b.requireMention:", "$.channels.feishu.accounts.b.colour:"] {
                #expect(text.contains(path), "\(path) missing in \(text)")
            }
            #expect(!text.contains("super-secret-value"))
        }
    }

    @Test("probe: token, identity and endpoint per Feishu account; exit 1 on a wrong secret")
    func probe() async throws {
        let sim = try FeishuSimulator()
        let app = sim.addApp(appId: "cli_probe01", appSecret: "right-secret", name: "Probe Bot")
        try await StoreTestSupport.withTemporaryDirectory { directory in
            let good = try write(#"{"channels": {"feishu": {"accounts": {"ok": {"appId": "\#(app.appId)", "appSecret": "right-secret", "domain": "\#(sim.baseURL.absoluteString)"}}}}}"#, in: directory)
            let (status, lines) = try await runToEnd(["probe", "--config", good])
            #expect(status == 0, "\(lines)")
            #expect(lines.contains { $0.hasPrefix("feishu:ok") && $0.contains("ok") && $0.contains(app.botOpenID) })
            let bad = try write(#"{"channels": {"feishu": {"accounts": {"wrong": {"appId": "\#(app.appId)", "appSecret": "wrong-secret", "domain": "\#(sim.baseURL.absoluteString)"}}}}}"#, in: directory, name: "bad.json")
            let (badStatus, badLines) = try await runToEnd(["probe", "--config", bad])
            #expect(badStatus == 1)
            #expect(badLines.contains { $0.hasPrefix("feishu:wrong") && $0.contains("FAILED") })
            #expect(!badLines.joined().contains("wrong-secret") && !badLines.joined().contains("right-secret"))
        }
        await sim.shutdown()
    }

    @Test("run --echo: exact JSON lines for Feishu messages; echoes land in the chat they came from")
    func runEcho() async throws {
        let sim = try FeishuSimulator()
        let one = sim.addApp(appId: "cli_run0001", appSecret: "secret-one")
        let two = sim.addApp(appId: "cli_run0002", appSecret: "secret-two")
        try await StoreTestSupport.withTemporaryDirectory { directory in
            let domain = sim.baseURL.absoluteString
            let path = try write("""
            {"channels": {"feishu": {"accounts": {
                "one": {"appId": "\(one.appId)", "appSecret": "secret-one", "domain": "\(domain)"},
                "two": {"appId": "\(two.appId)", "appSecretEnv": "CK_TEST_FEISHU_TWO", "domain": "\(domain)"}}}},
             "session": {"dmScope": "per-account-channel-peer"},
             "state": {"directory": "state"}}
            """, in: directory)
            let child = try ChildProcess(try StoreTestSupport.channelkitExecutable(), ["run", "--config", path, "--echo"], environment: ["CK_TEST_FEISHU_TWO": "secret-two"])
            let pid = child.process.processIdentifier
            let watchdog = Task {
                try await Task.sleep(for: .seconds(60))
                kill(pid, SIGKILL)
            }
            defer { watchdog.cancel() }
            var lines: [String] = []
            func next() async -> [String: JSONValue]? {
                guard let line = await child.nextLine() else { return nil }
                lines.append(line)
                guard let object = try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)).objectValue else {
                    Issue.record("stdout line is not a JSON object: \(line)")
                    return nil
                }
                return object
            }
            var connected = Set<String>()
            while connected.count < 2, let object = await next() {
                #expect(object["type"] == "status")
                if object["state"] == "connected", let account = object["account"]?.stringValue { connected.insert(account) }
            }
            #expect(connected == ["one", "two"])

            // A p2p message to app two.
            let openID = sim.userOpenID(appId: two.appId, user: "alice")
            let messageID = sim.injectDirectMessage(appId: two.appId, user: "alice", text: "hi two")
            var message: [String: JSONValue]?
            while message == nil, let object = await next() {
                if object["type"] == "message" { message = object }
            }
            let expected: JSONValue = [
                "type": "message", "channel": "feishu", "account": "two",
                "peer": ["kind": "direct", "id": .string(openID)],
                "sender": ["id": .string(openID), "name": .null],
                "messageId": .string(messageID), "text": "hi two",
                "sessionKey": .string("agent:main:feishu:two:direct:\(openID)"),
            ]
            #expect(message.map(JSONValue.object) == expected)

            // A group message @-mentioning app one (and one that does not mention it).
            sim.injectGroupMessage(appId: one.appId, group: "team", user: "bob", text: "not for you", mentionBot: false)
            let groupID = sim.injectGroupMessage(appId: one.appId, group: "team", user: "bob", text: "status?")
            let chat = sim.groupChatID(group: "team")
            var groupMessage: [String: JSONValue]?
            while groupMessage == nil, let object = await next() {
                if object["type"] == "message" { groupMessage = object }
            }
            #expect(groupMessage?["account"] == "one")
            #expect(groupMessage?["messageId"] == .string(groupID), "the unmentioned message was not delivered")
            #expect(groupMessage?["peer"] == ["kind": "group", "id": .string(chat)])
            #expect(groupMessage?["text"] == "status?")
            #expect(groupMessage?["sessionKey"] == .string("agent:main:feishu:one:group:\(chat)"))

            // The echoes went through each message's own app, to its own chat.
            #expect(await pollUntil { sim.sentMessages(appId: two.appId).contains { $0.text == "echo: hi two" } })
            let dm = sim.sentMessages(appId: two.appId).first { $0.text == "echo: hi two" }
            #expect(dm?.kind == "reply" && dm?.target == messageID && dm?.chatID == sim.p2pChatID(appId: two.appId, user: "alice"))
            #expect(await pollUntil { sim.sentMessages(appId: one.appId).contains { $0.text == "echo: status?" } })
            let group = sim.sentMessages(appId: one.appId).first { $0.text == "echo: status?" }
            #expect(group?.kind == "reply" && group?.target == groupID && group?.chatID == chat)
            #expect(sim.sentMessages(appId: one.appId).count == 1 && sim.sentMessages(appId: two.appId).count == 1)
            #expect(sim.misroutedCount == 0)
            #expect(await pollUntil { sim.acks(appId: one.appId).count == 2 && sim.acks(appId: two.appId).count == 1 })

            kill(pid, SIGTERM)
            while await next() != nil {}
            #expect(await child.waitForExit() == 0)
            let everything = lines.joined()
            for secret in ["secret-one", "secret-two", sim.currentToken(appId: one.appId) ?? "-", sim.currentToken(appId: two.appId) ?? "-"] {
                #expect(!everything.contains(secret))
            }
        }
        await sim.shutdown()
    }
}
