import ChannelKit
import ChannelKitTesting
import Foundation
import Synchronization
import Testing

@Suite("Gateway routing")
struct GatewayRoutingTests {
    let clock = TestClock()
    let platform = FakePlatform()

    func gateway(store: any StateStore = InMemoryStateStore()) -> ChannelGateway {
        ChannelGateway(
            adapters: [FakeAdapter(channel: fakeA, platform: platform), FakeAdapter(channel: fakeB, platform: platform)],
            configuration: .test(clock, store: store)
        )
    }

    @Test("interleaved traffic on 2 channels × 2 accounts never misroutes a reply (seed 004)")
    func interleavedRepliesGoHome() async throws {
        let gateway = gateway()
        let keys = [AccountKey(fakeA, "one"), AccountKey(fakeA, "two"), AccountKey(fakeB, "one"), AccountKey(fakeB, "two")]
        await gateway.apply(fakeSettings([
            fakeA: ["one": FakeSettings(token: "tok-a1"), "two": FakeSettings(token: "tok-a2")],
            fakeB: ["one": FakeSettings(token: "tok-b1"), "two": FakeSettings(token: "tok-b2")],
        ]))
        #expect(await eventually { keys.allSatisfy { platform.latest($0)?.active.withLock { $0 } == 1 } })

        // A responder that answers every message, concurrently, as a host would.
        let responder = Task {
            await withTaskGroup(of: Void.self) { group in
                var answered = 0
                for await event in gateway.events {
                    guard case .message(let message) = event else { continue }
                    group.addTask { _ = try? await gateway.reply(to: message, .text("echo: \(message.text)")) }
                    answered += 1
                    if answered == 400 { break }
                }
            }
        }
        // 100 messages per account from 5 peers each (the same peer id on every account,
        // as a shared human would look), all injected concurrently.
        await withTaskGroup(of: Void.self) { group in
            for key in keys {
                guard let connection = platform.latest(key) else { continue }
                for i in 0..<100 {
                    group.addTask {
                        let kind: PeerKind = i % 2 == 0 ? .direct : .group
                        await connection.inject("\(key) #\(i)", from: Peer(kind, "peer-\(i % 5)"), id: "\(key)-m\(i)")
                    }
                }
            }
        }
        await responder.value
        #expect(await eventually { platform.sent.count == 400 })
        let tokens = ["fakea:one": "tok-a1", "fakea:two": "tok-a2", "fakeb:one": "tok-b1", "fakeb:two": "tok-b2"]
        var misrouted = 0
        for sent in platform.sent.all {
            // The echoed text names the account that received the original.
            let original = sent.text.dropFirst("echo: ".count)
            let receivedBy = String(original.split(separator: " ").first ?? "")
            let index = Int(original.split(separator: "#").last ?? "") ?? -1
            let expectedPeer = Peer(index % 2 == 0 ? .direct : .group, "peer-\(index % 5)")
            if receivedBy != sent.account.description || sent.token != tokens[receivedBy]
                || sent.target.peer != expectedPeer || sent.target.reply?.account != sent.account {
                misrouted += 1
            }
        }
        #expect(misrouted == 0)
        await gateway.shutdown()
    }

    @Test("send requires an explicit, running account; there is no default")
    func noDefaultAccount() async throws {
        let gateway = gateway()
        let key = AccountKey(fakeA, "one")
        await gateway.apply(fakeSettings([fakeA: ["one": FakeSettings(token: "t")]]))
        #expect(await eventually { platform.latest(key)?.active.withLock { $0 } == 1 })
        let error = await #expect(throws: ChannelError.self) {
            try await gateway.send(.text("hi"), via: AccountKey(fakeA, "default"), to: Peer(.direct, "u"))
        }
        #expect(error?.code == .invalidState)
        await gateway.stop(key)
        let stopped = await #expect(throws: ChannelError.self) {
            try await gateway.send(.text("hi"), via: key, to: Peer(.direct, "u"))
        }
        #expect(stopped?.code == .invalidState)
        #expect(platform.sent.count == 0)
        await gateway.shutdown()
    }

    @Test("a reply to an account that is gone fails instead of using another account")
    func replyNeverFallsBack() async throws {
        let gateway = gateway()
        let one = AccountKey(fakeA, "one")
        await gateway.apply(fakeSettings([fakeA: ["one": FakeSettings(token: "t1"), "two": FakeSettings(token: "t2")]]))
        #expect(await eventually { platform.latest(one)?.active.withLock { $0 } == 1 })
        let origin = Origin(account: one, peer: Peer(.direct, "u"), messageID: "m1")
        await gateway.remove(one)
        await #expect(throws: ChannelError.self) { try await gateway.reply(to: origin, .text("x")) }
        #expect(platform.sent.count == 0)
        await gateway.shutdown()
    }

    @Test("duplicates are delivered once, also after a restart of the gateway (persisted dedup)")
    func persistedDedup() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ck-dedup-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let key = AccountKey(fakeA, "one")
        let other = AccountKey(fakeA, "two")
        let settings = fakeSettings([fakeA: ["one": FakeSettings(token: "t1"), "two": FakeSettings(token: "t2")]])

        let first = gateway(store: FileStateStore(directory: directory))
        await first.apply(settings)
        #expect(await eventually { platform.latest(key)?.active.withLock { $0 } == 1 && platform.latest(other)?.active.withLock { $0 } == 1 })
        let c1 = try #require(platform.latest(key))
        #expect(await c1.inject("a", from: Peer(.direct, "u"), id: "m1"))
        #expect(await c1.inject("a again", from: Peer(.direct, "u"), id: "m1") == false)
        // Same id on another account is a different message.
        #expect(await platform.latest(other)?.inject("a", from: Peer(.direct, "u"), id: "m1") == true)
        #expect(await first.status(of: key)?.counters.duplicatesSuppressed == 1)
        await first.shutdown()

        let second = gateway(store: FileStateStore(directory: directory))
        await second.apply(settings)
        #expect(await eventually { platform.count(key) == 2 && platform.latest(key)?.active.withLock { $0 } == 1 })
        let c2 = try #require(platform.latest(key))
        #expect(await c2.inject("replayed", from: Peer(.direct, "u"), id: "m1") == false)
        #expect(await c2.inject("new", from: Peer(.direct, "u"), id: "m2"))
        await second.shutdown()
    }

    @Test("messages carry canonical session keys from the configured dmScope")
    func sessionKeysStamped() async throws {
        let gateway = gateway()
        let key = AccountKey(fakeA, "one")
        await gateway.apply(fakeSettings([fakeA: ["one": FakeSettings(token: "t")]], dmScope: .perAccountChannelPeer))
        #expect(await eventually { platform.latest(key)?.active.withLock { $0 } == 1 })
        let collected = Task { () -> [String] in
            var keys: [String] = []
            for await event in gateway.events {
                if case .message(let message) = event, let sessionKey = message.sessionKey { keys.append(sessionKey) }
                if keys.count == 2 { break }
            }
            return keys
        }
        await platform.latest(key)?.inject("dm", from: Peer(.direct, "u:1"), id: "m1")
        await platform.latest(key)?.inject("group", from: Peer(.group, "g1"), id: "m2")
        #expect(await collected.value == ["agent:main:fakea:one:direct:u%3A1", "agent:main:fakea:one:group:g1"])
        await gateway.shutdown()
    }

    @Test("long text is chunked at the account's limit and sent in order")
    func chunking() async throws {
        let gateway = gateway()
        let key = AccountKey(fakeA, "one")
        await gateway.apply(fakeSettings([fakeA: ["one": FakeSettings(token: "t", textLimit: 40)]]))
        #expect(await eventually { platform.latest(key)?.active.withLock { $0 } == 1 })
        let text = (1...20).map { "word\($0)" }.joined(separator: " ")
        let receipt = try await gateway.send(.text(text), via: key, to: Peer(.direct, "u"))
        let sent = platform.sent.all.map(\.text)
        #expect(receipt.parts.count == sent.count)
        #expect(sent.count > 1)
        #expect(sent.allSatisfy { $0.count <= 40 })
        #expect(sent.joined(separator: " ") == text)
        await gateway.shutdown()
    }

    @Test("a rate-limited target waits the platform's retry-after; other targets are not held up")
    func pacingHonoursRateLimits() async throws {
        let gateway = gateway()
        let key = AccountKey(fakeA, "one")
        await gateway.apply(fakeSettings([fakeA: ["one": FakeSettings(token: "t")]]))
        #expect(await eventually { platform.latest(key)?.active.withLock { $0 } == 1 })
        platform.rateLimitsBeforeSuccess.withLock { $0["slow"] = 2 }
        let slow = Task { try await gateway.send(.text("to slow"), via: key, to: Peer(.direct, "slow")) }
        #expect(await clock.waitForSleepers(1))
        // Another target goes through while "slow" waits.
        try await gateway.send(.text("to fast"), via: key, to: Peer(.direct, "fast"))
        #expect(platform.sent.all.map(\.text) == ["to fast"])
        await clock.advance(by: .seconds(2))
        #expect(await clock.waitForSleepers(1))
        await clock.advance(by: .seconds(2))
        _ = try await slow.value
        #expect(platform.sent.all.map(\.text) == ["to fast", "to slow"])
        await gateway.shutdown()
    }
}
