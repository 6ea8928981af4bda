import Foundation
import Testing
@testable import ChannelKit
import ChannelKitTesting

/// The simulator against an independent client: Tencent's official Python SDK
/// `qq-botpy` (Peers/qq_botpy_client.py). `.ci/run` installs it; without python3 or
/// the SDK the test fails, it never skips.
@Suite struct QQBotPythonSDKTests {
    static var scriptPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Peers/qq_botpy_client.py").path
    }

    @Test func botpyConnectsReceivesAMessageAndReplies() async throws {
        let sim = try QQBotSimulator()
        let bot = sim.addBot(appId: "102000001", clientSecret: "botpy-secret")
        let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"),
                                     ["python3", Self.scriptPath, sim.apiBaseURL.absoluteString, sim.tokenURL.absoluteString, bot.appId, bot.clientSecret])
        let ready = await child.nextLine()
        #expect(ready == "ready \(bot.username)", "botpy did not get READY (is `pip install qq-botpy` done? .ci/run does it)")
        #expect(sim.identifyCount(appId: bot.appId) == 1)
        let openid = sim.userOpenID(appId: bot.appId, user: "alice")
        let id = sim.injectC2CMessage(appId: bot.appId, userOpenID: openid, text: "ping")
        #expect(await child.nextLine() == "message \(id) ping")
        #expect(await child.nextLine() == "replied \(id)")
        let sent = sim.sentMessages(appId: bot.appId)
        #expect(sent.count == 1)
        #expect(sent.first?.msgID == id && sent.first?.msgSeq == 1 && sent.first?.content == "pong: ping" && sent.first?.targetID == openid)
        #expect(sim.misroutedReplyCount == 0)
        try child.send("")
        child.killAbruptly()
        await sim.shutdown()
    }
}
