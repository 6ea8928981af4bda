import ChannelKit
import ChannelKitTesting
import Foundation
import Testing

@Suite("Gateway settings")
struct GatewaySettingsTests {
    let platform = FakePlatform()
    var adapters: [any ChannelAdapter] { [FakeAdapter(channel: fakeA, platform: platform)] }

    func parse(_ json: String, env: [String: String] = [:], files: [String: String] = [:]) throws(ConfigError) -> GatewaySettings {
        let environment = ConfigEnvironment(variables: env, baseDirectory: "/cfg") { path in
            guard let text = files[path] else { throw CocoaError(.fileNoSuchFile) }
            return Data(text.utf8)
        }
        return try GatewaySettings.parse(Data(json.utf8), adapters: adapters, environment: environment)
    }

    func issues(_ json: String, env: [String: String] = [:], files: [String: String] = [:]) -> [String] {
        do {
            _ = try parse(json, env: env, files: files)
            return []
        } catch {
            return error.issues.map(\.description)
        }
    }

    @Test("a valid file: accounts, secrets inline / file / env, session, state, health interval")
    func valid() throws {
        let settings = try parse("""
        {"channels": {"fakea": {"healthCheckIntervalMinutes": 0, "accounts": {
            "one": {"token": "inline"},
            "two": {"tokenFile": "secrets/two.txt", "enabled": false},
            "three": {"tokenEnv": "THREE_TOKEN"}}}},
         "session": {"dmScope": "per-account-channel-peer", "agent": "ops"},
         "state": {"directory": "state"}}
        """, env: ["THREE_TOKEN": "from-env"], files: ["/cfg/secrets/two.txt": "from-file\n"])
        #expect(settings.dmScope == .perAccountChannelPeer)
        #expect(settings.agent == "ops")
        #expect(settings.stateDirectory == "/cfg/state")
        #expect(settings.channels[fakeA]?.healthCheckInterval == nil)
        let tokens = settings.accounts.compactMap { ($0.settings as? FakeSettings)?.token }
        #expect(Set(tokens) == ["inline", "from-file", "from-env"])
        #expect((settings.settings(for: AccountKey(fakeA, "two")) as? FakeSettings)?.enabled == false)
    }

    @Test("every error is listed with its JSON path, and secrets never appear")
    func allErrorsWithPaths() {
        let found = issues("""
        {"channels": {
            "fakea": {"appId": "top-level-creds", "accounts": {
                "ok": {"token": "s3cr3t-value", "tokenEnv": "X"},
                "bad id!": {"token": "x"},
                "nofile": {"tokenFile": "missing.txt"},
                "noenv": {"tokenEnv": "UNSET"},
                "none": {},
                "typo": {"token": "t", "enabeld": true},
                "wrongtype": {"token": 5, "enabled": "yes"}}},
            "telegram": {"accounts": {}}},
         "session": {"dmScope": "per-user"},
         "extra": 1}
        """)
        let expected = [
            "$.channels.fakea.appId",
            "$.channels.fakea.accounts.ok.tokenEnv",
            "$.channels.fakea.accounts[\"bad id!\"]",
            "$.channels.fakea.accounts.nofile.tokenFile",
            "$.channels.fakea.accounts.noenv.tokenEnv",
            "$.channels.fakea.accounts.none.token",
            "$.channels.fakea.accounts.typo.enabeld",
            "$.channels.fakea.accounts.wrongtype.token",
            "$.channels.fakea.accounts.wrongtype.enabled",
            "$.channels.telegram",
            "$.session.dmScope",
            "$.extra",
        ]
        for path in expected {
            #expect(found.contains { $0.hasPrefix(path + ":") }, "missing \(path) in \(found)")
        }
        #expect(!found.joined().contains("s3cr3t-value"))
    }

    @Test("named accounts are mandatory")
    func namedAccountsMandatory() {
        let found = issues(#"{"channels": {"fakea": {"token": "t"}}}"#)
        #expect(found.contains { $0.hasPrefix("$.channels.fakea.accounts: missing required field") })
        #expect(found.contains { $0.hasPrefix("$.channels.fakea.token:") && $0.contains("accounts.<id>") })
    }

    @Test("malformed JSON and wrong root types are reported, not crashed on")
    func malformed() {
        #expect(issues("{\"channels\": ").first?.hasPrefix("$: not valid JSON") == true)
        #expect(issues("[]").first == "$: expected an object, found an array")
        #expect(issues(#"{"channels": {"fakea": {"accounts": []}}}"#) == ["$.channels.fakea.accounts: expected an object, found an array"])
        #expect(issues("{}") == ["$.channels: missing required field \"channels\""])
    }
}
