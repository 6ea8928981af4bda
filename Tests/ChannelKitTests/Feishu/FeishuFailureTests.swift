import Foundation
import Testing
@testable import ChannelKit
@testable import ChannelKitFeishu
import ChannelKitTesting

/// Handshake and endpoint classification, token-invalid retry, rate limits, uploads,
/// size-limit chunking, idempotent retries and secrets in logs.
@Suite struct FeishuFailureTests {
    static func failedReason(_ account: FeishuTestAccount) async -> String? {
        _ = await eventually("a run outcome") { account.runOutcomes.contains { if case .success(.failed) = $0 { true } else { false } } }
        for outcome in account.runOutcomes { if case .success(.failed(let reason)) = outcome { return reason } }
        return nil
    }

    @Test func handshake403AndConnectionLimitAreFatal() async throws {
        for (status, code) in [(403, nil), (514, 1_000_040_350)] as [(Int, Int?)] {
            let world = try FeishuTestWorld()
            let sim = world.simulator
            let app = sim.addApp(appId: "cli_fatal\(status)", appSecret: "s")
            sim.rejectHandshakes(appId: app.appId, status: status, authCode: code, message: "the number of connections exceeded the limit")
            let account = world.account("main", app: app)
            account.start()
            let reason = await Self.failedReason(account)
            #expect(reason?.contains("status \(status)") == true, "\(account.runOutcomes)")
            #expect(sim.endpointCallCount(appId: app.appId) == 1, "no retry after a fatal handshake")
            #expect(account.recorder.errors.contains { $0.code == .unauthorized })
            await world.shutdown(account)
        }
    }

    @Test func otherHandshakeFailuresAndEndpointHiccupsAreRetried() async throws {
        let world = try FeishuTestWorld()
        let sim = world.simulator
        let app = sim.addApp(appId: "cli_retry", appSecret: "s")
        sim.rejectHandshakes(appId: app.appId, status: 514, authCode: 1_000_040_343)
        sim.failEndpoint(appId: app.appId, code: 1)
        sim.failEndpoint(appId: app.appId, code: 1_000_040_343)
        sim.failEndpoint(appId: app.appId, status: 503, code: 0)
        let account = world.account("main", app: app)
        account.start()
        #expect(await eventually("four attempts") { account.runOutcomes.count >= 4 })
        #expect(account.runOutcomes.allSatisfy { if case .failure = $0 { true } else { false } }, "\(account.runOutcomes)")
        sim.rejectHandshakes(appId: app.appId, status: nil)
        await sim.waitUntilConnected(appId: app.appId)
        #expect(sim.isConnected(appId: app.appId))
        await world.shutdown(account)
    }

    @Test func endpointRejectingTheCredentialsIsFatal() async throws {
        let world = try FeishuTestWorld()
        let sim = world.simulator
        let app = sim.addApp(appId: "cli_creds", appSecret: "right")
        let account = FeishuTestAccount("main", settings: FeishuAccountSettings(appId: app.appId, appSecret: Secret("wrong"), baseURL: sim.baseURL),
                                        clock: world.clock, cache: world.cache)
        account.start()
        let reason = await Self.failedReason(account)
        #expect(reason?.contains("10014") == true)
        await world.shutdown(account)
    }

    @Test func invalidTokenIsDroppedRefetchedAndRetriedOnce() async throws {
        let world = try FeishuTestWorld()
        let sim = world.simulator
        let (account, app) = try await world.connectedAccount("main", appId: "cli_tok")
        let fetches = sim.tokenFetchCount(appId: app.appId)
        sim.injectDirectMessage(appId: app.appId, user: "u", text: "x")
        #expect(await account.waitForMessages(1))
        let origin = try #require(account.recorder.messages.first?.origin)
        sim.expireToken(appId: app.appId)
        _ = try await account.connection.send(.text("after expiry"), to: DeliveryTarget(replyingTo: origin))
        #expect(sim.tokenFetchCount(appId: app.appId) == fetches + 1)
        #expect(sim.allSends.filter { $0.errorCode == 99_991_663 }.count == 1)
        #expect(sim.sentMessages(appId: app.appId).count == 1)
        // A token the platform keeps refusing is not retried forever: one retry only.
        sim.failNextSend(appId: app.appId, status: 400, code: 99_991_663)
        sim.failNextSend(appId: app.appId, status: 400, code: 99_991_663)
        await #expect(throws: ChannelError.self) { _ = try await account.connection.send(.text("refused"), to: DeliveryTarget(replyingTo: origin)) }
        #expect(sim.tokenFetchCount(appId: app.appId) == fetches + 2)
        await world.shutdown(account)
    }

    @Test func rateLimitCarriesTheResetAndARetryReusesTheUUID() async throws {
        let world = try FeishuTestWorld()
        let sim = world.simulator
        let (account, app) = try await world.connectedAccount("main", appId: "cli_rate")
        sim.injectDirectMessage(appId: app.appId, user: "u", text: "x")
        #expect(await account.waitForMessages(1))
        let origin = try #require(account.recorder.messages.first?.origin)
        sim.failNextSend(appId: app.appId, status: 429, code: 99_991_400, message: "request trigger frequency limit", resetSeconds: 7)
        do {
            _ = try await account.connection.send(.text("slow"), to: DeliveryTarget(replyingTo: origin))
            Issue.record("expected a rate limit")
        } catch let error as ChannelError {
            #expect(error.code == .rateLimited && error.retryAfter == .seconds(7) && error.platformCode == 99_991_400)
        }
        _ = try await account.connection.send(.text("slow"), to: DeliveryTarget(replyingTo: origin))
        let uuids = sim.allSends.filter { $0.kind == "reply" }.map(\.uuid)
        #expect(uuids.count == 2 && uuids[0] != nil && uuids[0] == uuids[1], "the retry reused the uuid")
        // A new message gets a new uuid.
        _ = try await account.connection.send(.text("slow"), to: DeliveryTarget(replyingTo: origin))
        let all = sim.allSends.filter { $0.kind == "reply" }.map(\.uuid)
        #expect(all.count == 3 && all[2] != all[1])
        await world.shutdown(account)
    }

    @Test func aRetryAfterALostReplyIsSentAtMostOnce() async throws {
        let world = try FeishuTestWorld()
        let sim = world.simulator
        let (account, app) = try await world.connectedAccount("main", appId: "cli_idem")
        sim.injectDirectMessage(appId: app.appId, user: "u", text: "x")
        #expect(await account.waitForMessages(1))
        let origin = try #require(account.recorder.messages.first?.origin)
        // The first attempt succeeds on the platform but the client sees a 500.
        let route = try FeishuOutboundRoute(target: DeliveryTarget(replyingTo: origin), account: account.key)
        let content = FeishuConnection.content("hi", markdown: false)
        let fingerprint = route.fingerprint + "\u{1F}text\u{1F}" + content
        account.connection.state.withLock { $0.pendingUUIDs[fingerprint] = "fixed-uuid" }
        _ = try await account.connection.send(.text("hi"), to: DeliveryTarget(replyingTo: origin))
        account.connection.state.withLock { $0.pendingUUIDs[fingerprint] = "fixed-uuid" }
        _ = try await account.connection.send(.text("hi"), to: DeliveryTarget(replyingTo: origin))
        #expect(sim.duplicateUUIDCount(appId: app.appId) == 1)
        #expect(sim.sentMessages(appId: app.appId).count == 1)
        await world.shutdown(account)
    }

    @Test func markdownImagesFilesAndSizeLimits() async throws {
        let world = try FeishuTestWorld()
        let sim = world.simulator
        let (account, app) = try await world.connectedAccount("main", appId: "cli_media")
        sim.injectGroupMessage(appId: app.appId, group: "g", user: "u", text: "media please")
        #expect(await account.waitForMessages(1))
        let origin = try #require(account.recorder.messages.first?.origin)
        let media = [OutboundMedia(kind: .image, source: .data(Data([0x89, 0x50, 0x4E, 0x47])), fileName: "a.png", mimeType: "image/png"),
                     OutboundMedia(kind: .file, source: .data(Data("report".utf8)), fileName: "r.txt")]
        _ = try await account.connection.send(OutboundMessage(text: "**bold**", format: .markdown, media: media), to: DeliveryTarget(replyingTo: origin))
        let sent = sim.sentMessages(appId: app.appId)
        #expect(sent.map { $0.msgType ?? "" } == ["post", "image", "file"])
        #expect(sent.first?.text == "**bold**")
        #expect(sent.allSatisfy { $0.chatID == sim.groupChatID(group: "g") })
        // A chunk whose body exceeds the post limit (30 KiB) is split again by size.
        let big = String(repeating: "汉", count: 11_000)   // 33 KB of UTF-8
        _ = try await account.connection.send(OutboundMessage(text: big, format: .markdown), to: DeliveryTarget(peer: origin.peer))
        let posts = sim.sentMessages(appId: app.appId).dropFirst(3)
        #expect(posts.count >= 2 && posts.map { $0.text ?? "" }.joined() == big)
        #expect(sim.allSends.allSatisfy { $0.errorCode != 230025 })
        #expect(sim.misroutedCount == 0)
        await world.shutdown(account)
    }

    @Test func secretsNeverReachTheLogs() async throws {
        let world = try FeishuTestWorld()
        let sim = world.simulator
        let handler = CapturingLogHandler()
        let (account, app) = try await world.connectedAccount("main", appId: "cli_logs", logger: handler.logger(level: .trace))
        sim.injectDirectMessage(appId: app.appId, user: "u", text: "x")
        #expect(await account.waitForMessages(1))
        sim.dropConnections(appId: app.appId)
        #expect(await eventually("reconnected") { sim.endpointCallCount(appId: app.appId) == 2 && sim.isConnected(appId: app.appId) })
        sim.failNextSend(appId: app.appId, status: 400, code: 230001, message: "bad tenant_access_token=t-leaked12345")
        _ = try? await account.connection.send(.text("y"), to: DeliveryTarget(replyingTo: account.recorder.messages[0].origin))
        let token = try #require(sim.currentToken(appId: app.appId))
        #expect(!handler.lines.isEmpty)
        for needle in [app.appSecret, token, "ticket=", "access_key=", "t-leaked12345"] {
            #expect(handler.lines(containing: needle).isEmpty, "\(needle) leaked: \(handler.lines(containing: needle))")
        }
        let settings = world.settings(for: app)
        #expect(!"\(settings)".contains(app.appSecret) && !String(reflecting: settings).contains(app.appSecret))
        for error in account.recorder.errors { #expect(!error.description.contains(app.appSecret) && !error.description.contains(token)) }
        await world.shutdown(account)
    }

    @Test func theGatewayReportsAFatalHandshakeAsFailedAndLeavesTheOtherAppRunning() async throws {
        let clock = TestClock()
        let sim = try FeishuSimulator(configuration: .init(time: clock.timeSource))
        let banned = sim.addApp(appId: "cli_banned", appSecret: "banned-app-secret-123")
        let fine = sim.addApp(appId: "cli_fine", appSecret: "fine-app-secret-456")
        sim.rejectHandshakes(appId: banned.appId, status: 514, authCode: 1_000_040_350, message: "the number of connections exceeded the limit")
        let handler = CapturingLogHandler()
        let gateway = ChannelGateway(adapters: [FeishuAdapter(configuration: .init(random: { 0 }))],
                                     configuration: ChannelGateway.Configuration(time: clock.timeSource, logger: handler.logger(level: .trace), dedupFlushDelay: .zero))
        let bannedKey = AccountKey(.feishu, "banned"), fineKey = AccountKey(.feishu, "fine")
        try await gateway.add(bannedKey, settings: FeishuAccountSettings(appId: banned.appId, appSecret: Secret(banned.appSecret), baseURL: sim.baseURL))
        try await gateway.add(fineKey, settings: FeishuAccountSettings(appId: fine.appId, appSecret: Secret(fine.appSecret), baseURL: sim.baseURL))
        let failed = await eventually { () async -> Bool in
            if case .failed(let reason) = await gateway.status(of: bannedKey)?.state { return reason.contains("514") && reason.contains("1000040350") }
            return false
        }
        #expect(failed)
        #expect(await eventually { await gateway.status(of: fineKey)?.state == .connected })
        #expect(sim.endpointCallCount(appId: banned.appId) == 1)
        sim.injectDirectMessage(appId: fine.appId, user: "u", text: "hello")
        sim.dropConnections(appId: fine.appId)
        #expect(await eventually("reconnected") { sim.endpointCallCount(appId: fine.appId) == 2 && sim.isConnected(appId: fine.appId) })
        let token = sim.currentToken(appId: fine.appId) ?? "no token fetched"
        #expect(!handler.lines.isEmpty)
        for needle in [banned.appSecret, fine.appSecret, "ticket=", "access_key=", token] {
            #expect(handler.lines(containing: needle).isEmpty, "\(needle): \(handler.lines(containing: needle))")
        }
        await gateway.shutdown()
        await sim.shutdown()
    }

    @Test func theTenantTokenIsRefreshedBeforeItsLastThreeMinutes() async throws {
        let world = try FeishuTestWorld()
        let sim = world.simulator
        let (account, app) = try await world.connectedAccount("main", appId: "cli_expiry")
        sim.injectDirectMessage(appId: app.appId, user: "u", text: "x")
        #expect(await account.waitForMessages(1))
        let origin = try #require(account.recorder.messages.first?.origin)
        _ = try await account.connection.send(.text("t0"), to: DeliveryTarget(replyingTo: origin))
        let first = try #require(sim.sentMessages(appId: app.appId).last?.token)
        let fetches = sim.tokenFetchCount(appId: app.appId)
        // expire 7200 s: handed to the cache as 7020 s (3 min early), refreshed a further
        // margin + jitter (60 + 15 s here) before that.
        await world.clock.advance(by: .seconds(6_900))
        _ = try await account.connection.send(.text("t6900"), to: DeliveryTarget(replyingTo: origin))
        #expect(sim.sentMessages(appId: app.appId).last?.token == first)
        #expect(sim.tokenFetchCount(appId: app.appId) == fetches)
        await world.clock.advance(by: .seconds(60))
        _ = try await account.connection.send(.text("t6960"), to: DeliveryTarget(replyingTo: origin))
        #expect(await eventually("the refresh") { sim.tokenFetchCount(appId: app.appId) == fetches + 1 })
        let key = CredentialKey(.feishu, app.appId)
        let horizon = world.clock.wallStart.addingTimeInterval(7_200)
        #expect(await eventually("the new token cached") {
            if case .valid(let expiresAt) = world.cache.status(key) { return expiresAt > horizon }
            return false
        })
        _ = try await account.connection.send(.text("t6960b"), to: DeliveryTarget(replyingTo: origin))
        let last = try #require(sim.sentMessages(appId: app.appId).last?.token)
        #expect(last != first, "a new token before the last three minutes")
        #expect(sim.allSends.allSatisfy { $0.accepted }, "no request was refused")
        await world.shutdown(account)
    }
}
