import ChannelKit
import ChannelKitQQBot
import ChannelKitTesting
import Foundation
import Synchronization
import Testing

/// The QQ adapter inside the real ``ChannelGateway``: duplicate pushes and resume replays
/// reach the event stream once; two bots' echoes go home.
@Suite("QQ Bot through the gateway")
struct QQBotGatewayTests {
    @Test("duplicate pushes, a dropped socket and op 7 deliver every message exactly once, and replies go home")
    func exactlyOnceAcrossResume() async throws {
        let clock = TestClock()
        let simulator = try QQBotSimulator(configuration: .init(time: clock.timeSource))
        let bots = [simulator.addBot(appId: "7001", clientSecret: "s1"), simulator.addBot(appId: "7002", clientSecret: "s2")]
        let gateway = ChannelGateway(
            adapters: [QQBotAdapter()],
            configuration: ChannelGateway.Configuration(time: clock.timeSource, dedupFlushDelay: .zero)
        )
        let settings = try GatewaySettings.parse(.object(["channels": .object(["qqbot": .object(["accounts": .object([
            "a": simulator.accountConfig(for: bots[0]),
            "b": simulator.accountConfig(for: bots[1]),
        ])])])]), adapters: [QQBotAdapter()], environment: ConfigEnvironment())
        let delivered = TestRecorder<InboundMessage>()
        let responder = Task {
            for await event in gateway.events {
                guard case .message(let message) = event else { continue }
                delivered.record(message)
                _ = try? await gateway.reply(to: message, .text("echo: \(message.text)"))
            }
        }
        await gateway.apply(settings)
        let a = AccountKey(.qqbot, "a"), b = AccountKey(.qqbot, "b")
        #expect(await eventually { await gateway.status(of: a)?.state == .connected })
        #expect(await eventually { await gateway.status(of: b)?.state == .connected })

        let userA = simulator.userOpenID(appId: "7001", user: "alice"), userB = simulator.userOpenID(appId: "7002", user: "alice")
        simulator.injectC2CMessage(appId: "7001", userOpenID: userA, text: "one")
        simulator.injectC2CMessage(appId: "7002", userOpenID: userB, text: "uno")
        simulator.duplicateLastPush(appId: "7001")
        simulator.duplicateLastPush(appId: "7002")
        #expect(await eventually { delivered.count == 2 })

        // Dropped socket: messages pushed while it is down come back on resume, once.
        simulator.dropConnections(appId: "7001")
        #expect(await eventually { await gateway.status(of: a)?.state.isUp == false })
        simulator.injectC2CMessage(appId: "7001", userOpenID: userA, text: "two")
        #expect(await clock.waitForSleepers(1))
        await clock.advance(by: .seconds(2))
        #expect(await eventually { delivered.count == 3 })

        // op 7: resume at once, nothing lost, nothing repeated.
        simulator.sendReconnect(appId: "7002")
        simulator.injectC2CMessage(appId: "7002", userOpenID: userB, text: "dos")
        #expect(await eventually { delivered.count == 4 })
        simulator.duplicateLastPush(appId: "7002")
        #expect(await eventually { await gateway.status(of: b)?.counters.duplicatesSuppressed ?? 0 >= 2 })

        #expect(await eventually { simulator.allSends.filter(\.accepted).count == 4 })
        let texts = delivered.all.map { "\($0.account.account):\($0.text)" }.sorted()
        #expect(texts == ["a:one", "a:two", "b:dos", "b:uno"])
        for send in simulator.allSends {
            #expect(send.accepted)
            let appID = send.appId ?? "?"
            #expect(send.targetID == (appID == "7001" ? userA : userB))
        }
        #expect(simulator.sentMessages(appId: "7001").compactMap(\.content).sorted() == ["echo: one", "echo: two"])
        #expect(simulator.sentMessages(appId: "7002").compactMap(\.content).sorted() == ["echo: dos", "echo: uno"])
        #expect(simulator.misroutedReplyCount == 0)
        #expect(simulator.resumeCount(appId: "7001") >= 1 && simulator.resumeCount(appId: "7002") >= 1)

        await gateway.shutdown()
        await responder.value
        await simulator.shutdown()
    }

    @Test("a restarted process resumes the saved session: what was pushed while it was down arrives once, nothing repeats")
    func restartResumesSavedSession() async throws {
        let clock = TestClock()
        let simulator = try QQBotSimulator(configuration: .init(time: clock.timeSource))
        let bot = simulator.addBot(appId: "7101", clientSecret: "s")
        let store = InMemoryStateStore()
        let settings = try GatewaySettings.parse(.object(["channels": .object(["qqbot": .object(["accounts": .object([
            "a": simulator.accountConfig(for: bot),
        ])])])]), adapters: [QQBotAdapter()], environment: ConfigEnvironment())
        let key = AccountKey(.qqbot, "a")
        let user = simulator.userOpenID(appId: "7101", user: "alice")

        func runGateway(_ body: (ChannelGateway, TestRecorder<String>) async throws -> Void) async throws {
            let gateway = ChannelGateway(adapters: [QQBotAdapter()], configuration: .init(time: clock.timeSource, store: store, dedupFlushDelay: .zero))
            let texts = TestRecorder<String>()
            let collector = Task {
                for await event in gateway.events { if case .message(let m) = event { texts.record(m.text) } }
            }
            await gateway.apply(settings)
            #expect(await eventually { await gateway.status(of: key)?.state == .connected })
            try await body(gateway, texts)
            await gateway.shutdown()
            await collector.value
        }

        try await runGateway { _, texts in
            simulator.injectC2CMessage(appId: "7101", userOpenID: user, text: "before")
            #expect(await eventually { texts.all == ["before"] })
        }
        // The process is down: the platform keeps pushing into the session.
        simulator.injectC2CMessage(appId: "7101", userOpenID: user, text: "while down")
        await clock.advance(by: .seconds(60))
        try await runGateway { _, texts in
            #expect(await eventually { texts.all == ["while down"] })
            simulator.injectC2CMessage(appId: "7101", userOpenID: user, text: "after")
            #expect(await eventually { texts.all == ["while down", "after"] })
        }
        #expect(simulator.identifyCount(appId: "7101") == 1)
        #expect(simulator.resumeCount(appId: "7101") == 1)

        // Past the resume window a restart identifies afresh.
        await clock.advance(by: .seconds(301))
        try await runGateway { _, _ in }
        #expect(simulator.identifyCount(appId: "7101") == 2)
        await simulator.shutdown()

        // A session saved against another deployment is never resumed: a new simulator
        // (another port) gets an Identify, not a Resume, even inside the window.
        let other = try QQBotSimulator(configuration: .init(time: clock.timeSource))
        let otherBot = other.addBot(appId: "7101", clientSecret: "s")
        let otherSettings = try GatewaySettings.parse(.object(["channels": .object(["qqbot": .object(["accounts": .object([
            "a": other.accountConfig(for: otherBot),
        ])])])]), adapters: [QQBotAdapter()], environment: ConfigEnvironment())
        let gateway = ChannelGateway(adapters: [QQBotAdapter()], configuration: .init(time: clock.timeSource, store: store))
        await gateway.apply(otherSettings)
        #expect(await eventually { await gateway.status(of: key)?.state == .connected })
        #expect(other.identifyCount(appId: "7101") == 1 && other.resumeCount(appId: "7101") == 0)
        await gateway.shutdown()
        await other.shutdown()
    }
}
