import Foundation
import Testing
@testable import ChannelKit
@testable import ChannelKitFeishu

@Suite struct FeishuAccountSettingsTests {
    static let path = "$.channels.feishu.accounts.main"

    func parse(_ json: JSONValue, env: [String: String] = [:], files: [String: String] = [:]) -> (FeishuAccountSettings?, [ConfigIssue]) {
        let environment = ConfigEnvironment(variables: env, baseDirectory: "/etc/ck") { path in
            guard let text = files[path] else { throw CocoaError(.fileNoSuchFile) }
            return Data(text.utf8)
        }
        let config = ConfigObject(json, path: Self.path, environment: environment)
        let settings = FeishuAdapter().parseAccount(config) as? FeishuAccountSettings
        return (settings, config.issues)
    }

    @Test func minimalAccountGetsTheDocumentedDefaults() throws {
        let (settings, issues) = parse(["appId": "cli_a1", "appSecret": "s3cr3t"])
        #expect(issues.isEmpty)
        let s = try #require(settings)
        #expect(s.appId == "cli_a1" && s.appSecret.reveal() == "s3cr3t")
        #expect(s.baseURL.absoluteString == "https://open.feishu.cn")
        #expect(s.enabled && s.requireMention)
        #expect(!s.description.contains("s3cr3t"))
    }

    @Test func domainsAndSecretSources() throws {
        let (lark, i1) = parse(["appId": "cli_a1", "appSecretEnv": "LARK", "domain": "lark", "requireMention": false, "enabled": false], env: ["LARK": "e"])
        #expect(i1.isEmpty)
        #expect(lark?.baseURL.absoluteString == "https://open.larksuite.com" && lark?.appSecret.reveal() == "e")
        #expect(lark?.requireMention == false && lark?.enabled == false)
        let (priv, i2) = parse(["appId": "cli_a1", "appSecretFile": "s.txt", "domain": "https://open.example.cn/base"], files: ["/etc/ck/s.txt": "file-secret\n"])
        #expect(i2.isEmpty, "\(i2)")
        #expect(priv?.baseURL.absoluteString == "https://open.example.cn/base" && priv?.appSecret.reveal() == "file-secret")
        #expect(priv?.url("/open-apis/bot/v3/info").absoluteString == "https://open.example.cn/base/open-apis/bot/v3/info")
        for loopback in ["http://127.0.0.1:8080", "http://localhost:9", "http://[::1]:80"] {
            let (s, issues) = parse(["appId": "cli_a1", "appSecret": "x", "domain": .string(loopback)])
            #expect(issues.isEmpty && s != nil, "\(loopback): \(issues)")
        }
    }

    @Test func problemsAreReportedWithTheirPaths() {
        let cases: [(JSONValue, String)] = [
            (["appSecret": "x"], "appId"),
            (["appId": "", "appSecret": "x"], "appId"),
            (["appId": "cli a1", "appSecret": "x"], "appId"),
            (["appId": "cli_a1"], "appSecret"),
            (["appId": "cli_a1", "appSecret": "x", "appSecretEnv": "Y"], "appSecretEnv"),
            (["appId": "cli_a1", "appSecret": "x", "domain": "http://open.example.cn"], "domain"),
            (["appId": "cli_a1", "appSecret": "x", "domain": "ftp://x"], "domain"),
            (["appId": "cli_a1", "appSecret": "x", "domain": "feishu.cn"], "domain"),
            (["appId": "cli_a1", "appSecret": "x", "domain": "https://u:p@open.example.cn"], "domain"),
            (["appId": "cli_a1", "appSecret": "x", "domain": 5], "domain"),
            (["appId": "cli_a1", "appSecret": "x", "requireMention": "yes"], "requireMention"),
            (["appId": "cli_a1", "appSecret": "x", "colour": "red"], "colour"),
        ]
        for (json, field) in cases {
            let (settings, issues) = parse(json)
            #expect(issues.contains { $0.path == Self.path + "." + field }, "\(json): \(issues)")
            if field != "requireMention" && field != "colour" { #expect(settings == nil, "\(json)") }
            #expect(!issues.map(\.description).joined().contains("u:p@"))
        }
    }

    @Test func equalSettingsAreTheSameAccountAndASecretChangeIsNot() {
        let a = FeishuAccountSettings(appId: "cli_a", appSecret: Secret("1"))
        #expect(a.isSame(as: FeishuAccountSettings(appId: "cli_a", appSecret: Secret("1"))))
        #expect(!a.isSame(as: FeishuAccountSettings(appId: "cli_a", appSecret: Secret("2"))))
        #expect(!a.isSame(as: FeishuAccountSettings(appId: "cli_a", appSecret: Secret("1"), requireMention: false)))
    }
}
