import Foundation
import Testing
@testable import ChannelKit
@testable import ChannelKitQQBot

@Suite struct QQBotAccountSettingsTests {
    static let path = "$.channels.qqbot.accounts.main"

    func parse(_ json: JSONValue, env: [String: String] = [:], files: [String: String] = [:]) -> (QQBotAccountSettings?, [ConfigIssue]) {
        let environment = ConfigEnvironment(variables: env, baseDirectory: "/etc/ck") { path in
            guard let text = files[path] else { throw CocoaError(.fileNoSuchFile) }
            return Data(text.utf8)
        }
        let config = ConfigObject(json, path: Self.path, environment: environment)
        let settings = QQBotAdapter().parseAccount(config) as? QQBotAccountSettings
        return (settings, config.issues)
    }

    @Test func minimalAccountGetsTheDocumentedDefaults() throws {
        let (settings, issues) = parse(["appId": "102863192", "clientSecret": "s3cr3t"])
        #expect(issues.isEmpty)
        let s = try #require(settings)
        #expect(s.appId == "102863192")
        #expect(s.clientSecret.reveal() == "s3cr3t")
        #expect(s.enabled)
        #expect(s.intents == [.groupAndC2CEvent, .publicGuildMessages, .directMessage])
        #expect(s.intents.rawValue == 1 << 25 | 1 << 30 | 1 << 12)
        #expect(s.sandbox == false)
        #expect(s.apiBaseURL.absoluteString == "https://api.sgroup.qq.com")
        #expect(s.tokenURL.absoluteString == "https://bots.qq.com/app/getAppAccessToken")
        #expect(s.markdownSupport == false)
        #expect(s.textChunkLimit == 2000)
    }

    @Test func everyFieldIsRead() throws {
        let (settings, issues) = parse([
            "appId": 102863260, "clientSecretEnv": "QQ_SECRET", "enabled": false, "intents": ["GROUP_AND_C2C_EVENT", "interaction"],
            "sandbox": true, "tokenUrl": "https://api.bot.qq.com/app/getAppAccessToken", "markdownSupport": true, "textChunkLimit": 1500,
        ], env: ["QQ_SECRET": "from-env"])
        #expect(issues.isEmpty, "\(issues)")
        let s = try #require(settings)
        #expect(s.appId == "102863260")
        #expect(s.clientSecret.reveal() == "from-env")
        #expect(!s.enabled)
        #expect(s.intents == [.groupAndC2CEvent, .interaction])
        #expect(s.apiBaseURL.absoluteString == "https://sandbox.api.sgroup.qq.com")
        #expect(s.tokenURL.host == "api.bot.qq.com")
        #expect(s.markdownSupport && s.textChunkLimit == 1500)
    }

    @Test func apiBaseUrlOverridesSandboxAndSecretComesFromFile() throws {
        let (settings, issues) = parse(["appId": "1", "clientSecretFile": "secret.txt", "sandbox": true, "apiBaseUrl": "http://127.0.0.1:9000",
                                        "intents": 1107300352], files: ["/etc/ck/secret.txt": "file-secret\n"])
        #expect(issues.isEmpty, "\(issues)")
        #expect(settings?.apiBaseURL.absoluteString == "http://127.0.0.1:9000")
        #expect(settings?.clientSecret.reveal() == "file-secret")
        #expect(settings?.intents.rawValue == 1107300352)
    }

    @Test func everyProblemIsReportedWithItsJSONPath() {
        let (settings, issues) = parse([
            "appId": "abc", "clientSecret": "x", "clientSecretEnv": "Y", "enabled": "yes", "intents": ["GROUP_AND_C2C_EVENT", "NOPE", 3],
            "apiBaseUrl": "ftp://x", "tokenUrl": "not a url", "textChunkLimit": 0, "markdown": true,
        ])
        #expect(settings == nil)
        let paths = Set(issues.map(\.path))
        for field in ["appId", "clientSecretEnv", "enabled", "intents[1]", "intents[2]", "apiBaseUrl", "tokenUrl", "textChunkLimit", "markdown"] {
            let path = "\(Self.path).\(field)"
            #expect(paths.contains(path), "missing issue at \(path): \(issues)")
        }
    }

    @Test func missingCredentialsAreReported() {
        let (settings, issues) = parse([:])
        #expect(settings == nil)
        #expect(issues.map(\.path).contains("\(Self.path).appId"))
        #expect(issues.map(\.path).contains("\(Self.path).clientSecret"))
    }

    @Test func secretsNeverAppearInIssues() {
        let (_, issues) = parse(["appId": "1", "clientSecret": "TOPSECRET", "clientSecretEnv": "UNSET"], env: [:])
        #expect(!issues.isEmpty)
        #expect(issues.allSatisfy { !$0.description.contains("TOPSECRET") })
        let (_, more) = parse(["appId": "1", "clientSecretFile": "/missing"])
        #expect(more.map(\.path).contains("\(Self.path).clientSecretFile"))
    }

    @Test func settingsCompareForReload() throws {
        let a = try #require(parse(["appId": "1", "clientSecret": "a"]).0)
        let b = try #require(parse(["appId": "1", "clientSecret": "b"]).0)
        #expect(a.isSame(as: a))
        #expect(!a.isSame(as: b), "a changed secret restarts the account")
    }

    @Test func makeConnectionRejectsForeignSettings() {
        struct Other: AccountSettings, Equatable { var enabled = true }
        let context = AccountContext(account: AccountKey(.qqbot, "x"), time: .system, logger: .disabled, store: InMemoryStateStore(),
                                     http: URLSessionHTTPTransport(), webSocket: makeDefaultWebSocketTransport(), tokenCache: TokenCache(),
                                     events: .discarding)
        #expect(throws: ChannelError.self) { try QQBotAdapter().makeConnection(settings: Other(), context: context) }
    }
}
