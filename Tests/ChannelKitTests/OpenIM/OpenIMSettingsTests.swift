import Foundation
import Testing
@testable import ChannelKit
@testable import ChannelKitOpenIM
import ChannelKitTesting

@Suite("OpenIM configuration")
struct OpenIMSettingsTests {
    static let token = TestJWT.make(["UserID": "bot", "PlatformID": 5, "exp": 2_000_000_000])

    func parse(_ openim: String, environment: [String: String] = [:]) -> (GatewaySettings?, [ConfigIssue]) {
        let json = #"{"channels": {"openim": \#(openim)}}"#
        do {
            let settings = try GatewaySettings.parse(Data(json.utf8), adapters: [OpenIMAdapter()],
                                                     environment: ConfigEnvironment(variables: environment, baseDirectory: "/cfg"))
            return (settings, [])
        } catch {
            return (nil, error.issues)
        }
    }

    func account(_ fields: String) -> String {
        #"{"accounts": {"main": {"token": "\#(Self.token)", "wsAddr": "ws://im:10001", "apiAddr": "http://im:10002"\#(fields)}}}"#
    }

    @Test func userAndPlatformComeFromTheTokenClaimsAndDefaultsApply() throws {
        let (settings, issues) = parse(account(""))
        #expect(issues.isEmpty)
        let main = try #require(settings?.settings(for: AccountKey(.openim, "main")) as? OpenIMAccountSettings)
        #expect(main.userID == "bot" && main.platformID == 5)
        #expect(main.enabled && main.requireMention && main.disableFriendSdk && main.inboundWhitelist.isEmpty)
        #expect(main.tokenRefresh == .off)
        #expect(settings?.channels[.openim]?.healthCheckInterval == .seconds(30 * 60))
        #expect(!main.description.contains(Self.token))
    }

    @Test func aConfiguredIdentityThatDisagreesWithTheClaimsIsAnErrorWithItsPath() {
        let (_, issues) = parse(account(#", "userID": "other", "platformID": 7"#))
        #expect(issues.map(\.path).sorted() == ["$.channels.openim.accounts.main.platformID", "$.channels.openim.accounts.main.userID"])
        #expect(issues.allSatisfy { !$0.message.contains(Self.token) })
    }

    @Test func aTokenWithoutClaimsNeedsUserIDAndPlatformID() throws {
        let (_, issues) = parse(#"{"accounts": {"main": {"token": "opaque", "wsAddr": "ws://im:10001", "apiAddr": "http://im:10002"}}}"#)
        #expect(Set(issues.map(\.path)) == ["$.channels.openim.accounts.main.userID", "$.channels.openim.accounts.main.platformID"])
        let (settings, ok) = parse(#"{"accounts": {"main": {"tokenEnv": "OPENIM_TOKEN", "wsAddr": "ws://im:10001", "apiAddr": "http://im:10002", "userID": "u1", "platformID": 7}}}"#,
                                   environment: ["OPENIM_TOKEN": "opaque"])
        #expect(ok.isEmpty)
        let main = try #require(settings?.settings(for: AccountKey(.openim, "main")) as? OpenIMAccountSettings)
        #expect(main.userID == "u1" && main.platformID == 7 && main.token.reveal() == "opaque")
    }

    @Test func channelLevelFieldsAndAccountOverrides() throws {
        let json = #"""
        {"healthCheckIntervalMinutes": 5, "disableFriendSdk": false, "tokenRefresh": {"mode": "hook"},
         "accounts": {
           "a": {"token": "\#(Self.token)", "wsAddr": "wss://a:10001", "apiAddr": "https://a:10002", "requireMention": false, "inboundWhitelist": ["u1", "u2"]},
           "b": {"token": "\#(Self.token)", "wsAddr": "ws://b:10001", "apiAddr": "http://b:10002", "disableFriendSdk": true, "enabled": false}}}
        """#
        let (settings, issues) = parse(json)
        #expect(issues.isEmpty)
        let a = try #require(settings?.settings(for: AccountKey(.openim, "a")) as? OpenIMAccountSettings)
        let b = try #require(settings?.settings(for: AccountKey(.openim, "b")) as? OpenIMAccountSettings)
        #expect(!a.disableFriendSdk && b.disableFriendSdk)
        #expect(!a.requireMention && a.inboundWhitelist == ["u1", "u2"])
        #expect(!b.enabled)
        #expect(a.tokenRefresh.mode == .hook && b.tokenRefresh.mode == .hook)
        #expect(settings?.channels[.openim]?.healthCheckInterval == .seconds(5 * 60))
        // A tokenRefresh change is a settings change (the account restarts).
        let (changed, _) = parse(json.replacingOccurrences(of: #""mode": "hook""#, with: #""mode": "off""#))
        let a2 = try #require(changed?.settings(for: AccountKey(.openim, "a")))
        #expect(!a.isSame(as: a2))
    }

    @Test func badFieldsAreReportedWithPaths() {
        let (_, issues) = parse(#"""
        {"token": "x", "accounts": {"main": {"token": "\#(Self.token)", "wsAddr": "http://im", "apiAddr": "ws://im",
          "inboundWhitelist": ["ok", 3], "requireMention": "yes", "platformID": 99, "extra": 1}}}
        """#)
        let paths = Set(issues.map(\.path))
        #expect(paths.isSuperset(of: [
            "$.channels.openim.accounts.main.wsAddr", "$.channels.openim.accounts.main.apiAddr",
            "$.channels.openim.accounts.main.inboundWhitelist[1]", "$.channels.openim.accounts.main.requireMention",
            "$.channels.openim.accounts.main.platformID", "$.channels.openim.accounts.main.extra",
        ]))
        #expect(paths.contains { $0.hasPrefix("$.channels.openim") && $0.hasSuffix("token") && !$0.contains("accounts") })
    }
}
