import Foundation
import Testing
@testable import ChannelKit
import ChannelKitTesting

/// The simulator against an independent client: the official Feishu/Lark Python SDK
/// `lark-oapi` (Peers/lark_oapi_client.py), pointed at the simulator's base URL with its
/// `domain` option. `.ci/run` installs it; without python3 or the SDK the test fails, it
/// never skips.
@Suite struct FeishuPythonSDKTests {
    static var scriptPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Peers/lark_oapi_client.py").path
    }

    @Test func larkOapiConnectsThroughTheEndpointReceivesAcksAndSends() async throws {
        let sim = try FeishuSimulator()
        let app = sim.addApp(appId: "cli_sdk0001", appSecret: "sdk-secret")
        sim.setFragmentation(appId: app.appId, parts: 3, reversed: true)
        let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"),
                                     ["python3", Self.scriptPath, sim.baseURL.absoluteString, app.appId, app.appSecret])
        let started = await child.nextLine()
        guard started == "starting" else {
            Issue.record("the lark-oapi peer did not start (is `pip install lark-oapi` done? .ci/run does it): \(started ?? "no output")")
            child.killAbruptly()
            await sim.shutdown()
            return
        }
        await sim.waitUntilConnected(appId: app.appId)
        #expect(sim.isConnected(appId: app.appId), "lark-oapi's ws client did not connect")
        #expect(sim.endpointCallCount(appId: app.appId) == 1)
        let id = sim.injectDirectMessage(appId: app.appId, user: "alice", text: "ping from the simulator")
        let chat = sim.p2pChatID(appId: app.appId, user: "alice")
        #expect(await child.nextLine() == "message \(id) \(chat) ping from the simulator")
        let sentLine = await child.nextLine()
        #expect(sentLine?.hasPrefix("sent 0 om_") == true, "\(sentLine ?? "nil")")
        #expect(await eventually("the SDK's ack") { sim.acks(appId: app.appId).count == 1 })
        let ack = sim.acks(appId: app.appId).first
        #expect(ack?.code == 200 && ack?.bizRT != nil && ack?.echoedFrame == true)
        let sent = sim.sentMessages(appId: app.appId)
        #expect(sent.count == 1)
        #expect(sent.first?.chatID == chat && sent.first?.text == "pong: ping from the simulator" && sent.first?.receiveIDType == "chat_id")
        #expect(sim.tokenFetchCount(appId: app.appId) == 1)
        #expect(await eventually("the SDK's ping") { sim.pingCount(appId: app.appId) >= 1 })
        #expect(sim.pingServices(appId: app.appId).allSatisfy { $0 == 33_554_678 })
        #expect(sim.misroutedCount == 0)
        try? child.send("")
        child.killAbruptly()
        await sim.shutdown()
    }
}
