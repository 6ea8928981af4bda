/// The platforms `channelkit demo` runs, each on its built-in simulator.
enum DemoPlatforms {
    static func make(accounts: Int) async throws -> [any DemoPlatform] {
        [try QQDemoPlatform(accounts: accounts), try ClawChatDemoPlatform(accounts: accounts), try FeishuDemoPlatform(accounts: accounts),
         try OpenIMDemoPlatform(accounts: accounts)]
    }
}
