import ChannelKit
import Foundation
import Testing

/// Adapters with channel-level fields (OpenIM `tokenRefresh`): accepted only for the
/// adapter that declares them, read once per account, each problem reported once.
@Suite("Channel-level fields")
struct ChannelFieldsTests {
    struct Settings: AccountSettings, Equatable {
        var enabled = true
        var mode: String
    }

    struct ModeAdapter: ChannelAdapter {
        let channel = ChannelID("modal")
        var channelFields: Set<String> { ["mode"] }
        var defaultHealthCheckMinutes: Int { 30 }
        func parseAccount(_ config: ConfigObject) -> (any AccountSettings)? { nil }
        func parseAccount(_ config: ConfigObject, channel: ConfigObject) -> (any AccountSettings)? {
            let mode = channel.choice("mode", ["a", "b"]) ?? "a"
            config.rejectUnknownKeys()
            return Settings(mode: mode)
        }
        func makeConnection(settings: any AccountSettings, context: AccountContext) throws -> any AccountConnection {
            throw ChannelError(.invalidConfiguration, "not used")
        }
    }

    func parse(_ json: String) throws(ConfigError) -> GatewaySettings {
        try GatewaySettings.parse(Data(json.utf8), adapters: [ModeAdapter(), FakeAdapter(channel: fakeA, platform: FakePlatform())], environment: ConfigEnvironment(variables: [:], baseDirectory: "/"))
    }

    @Test func declaredFieldsReachEveryAccountAndTheDefaultIntervalApplies() throws {
        let settings = try parse(#"{"channels": {"modal": {"mode": "b", "accounts": {"x": {}, "y": {}}}}}"#)
        let accounts = settings.channels[ChannelID("modal")]?.accounts ?? []
        #expect(accounts.map { ($0.settings as? Settings)?.mode } == ["b", "b"])
        #expect(settings.channels[ChannelID("modal")]?.healthCheckInterval == .seconds(30 * 60))
    }

    @Test func aBadChannelFieldIsReportedOnceAndUndeclaredOnesStayErrors() {
        do {
            _ = try parse(#"{"channels": {"modal": {"mode": "z", "accounts": {"x": {}, "y": {}}}, "fakea": {"mode": "b", "accounts": {}}}}"#)
            Issue.record("expected errors")
        } catch {
            let paths = error.issues.map(\.path)
            #expect(paths.filter { $0 == "$.channels.modal.mode" }.count == 1)
            #expect(paths.contains("$.channels.fakea.mode"))
        }
    }
}
