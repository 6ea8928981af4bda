import Foundation
import Testing
@testable import ChannelKit

/// `#expect` cannot call a mutating method on a captured value; this wrapper can.
private func insert(_ cache: inout DedupCache, _ id: String, now: Date) -> Bool {
    cache.insert(id, now: now)
}

@Suite struct DedupCacheTests {
    static let t0 = Date(timeIntervalSince1970: 1_767_225_600)
    static func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    @Test func defaultsAreTwentyMinutesAndFiveThousand() {
        let c = DedupCache.Configuration()
        #expect(c.ttl == .seconds(1200))
        #expect(c.capacity == 5000)
        #expect(DedupCache().configuration == c)
        #expect(DedupCache().count == 0)
    }

    @Test func duplicateWithinTTLIsRejected() {
        var cache = DedupCache()
        #expect(!cache.contains("m1", now: Self.at(0)))
        #expect(insert(&cache, "m1", now: Self.at(0)))
        #expect(cache.contains("m1", now: Self.at(0)))
        #expect(!insert(&cache, "m1", now: Self.at(0)))
        #expect(!insert(&cache, "m1", now: Self.at(600)))
        #expect(!insert(&cache, "m1", now: Self.at(1199.999)))
        #expect(insert(&cache, "m2", now: Self.at(1)), "other ids are unaffected")
        #expect(cache.count == 2)
    }

    @Test func acceptedAgainOnceTheTTLHasPassed() {
        var cache = DedupCache()
        #expect(insert(&cache, "m1", now: Self.at(0)))
        #expect(!cache.contains("m1", now: Self.at(1200)), "expired exactly at first-seen + ttl")
        #expect(insert(&cache, "m1", now: Self.at(1200)))
        #expect(!insert(&cache, "m1", now: Self.at(2399)), "a fresh TTL from the new sighting")
        #expect(insert(&cache, "m1", now: Self.at(2400)))
    }

    @Test func duplicatesDoNotExtendTheTTL() {
        var cache = DedupCache(configuration: .init(ttl: .seconds(100)))
        #expect(insert(&cache, "x", now: Self.at(0)))
        #expect(!insert(&cache, "x", now: Self.at(60)))
        #expect(!insert(&cache, "x", now: Self.at(99)))
        #expect(insert(&cache, "x", now: Self.at(100)))
    }

    @Test func capacityEvictsTheOldestFirst() {
        var cache = DedupCache(configuration: .init(capacity: 3))
        for (i, id) in ["a", "b", "c", "d"].enumerated() {
            #expect(insert(&cache, id, now: Self.at(Double(i))))
        }
        #expect(cache.count == 3)
        #expect(!cache.contains("a", now: Self.at(4)), "a was evicted")
        #expect(cache.contains("b", now: Self.at(4)))
        #expect(cache.contains("d", now: Self.at(4)))
        #expect(insert(&cache, "a", now: Self.at(5)), "an evicted id is delivered again")
        #expect(!cache.contains("b", now: Self.at(5)), "b is now the oldest and goes")
        #expect(cache.contains("c", now: Self.at(5)) && cache.contains("d", now: Self.at(5)) && cache.contains("a", now: Self.at(5)))
        #expect(cache.count == 3)
    }

    @Test func pruneAndLazyExpiryKeepCountHonest() {
        var cache = DedupCache(configuration: .init(ttl: .seconds(10)))
        for i in 0..<5 { _ = cache.insert("m\(i)", now: Self.at(Double(i))) }
        #expect(cache.count == 5)
        cache.prune(now: Self.at(12))   // m0, m1, m2 expired (seen at 0, 1, 2)
        #expect(cache.count == 2)
        #expect(cache.contains("m3", now: Self.at(12)))
        #expect(!cache.contains("m2", now: Self.at(12)))
        _ = cache.insert("n", now: Self.at(13.5))   // drops m3 on the way
        #expect(cache.count == 2)
        cache.prune(now: Self.at(100))
        #expect(cache.count == 0)
        #expect(cache.snapshot(now: Self.at(100)).entries.isEmpty)
    }

    @Test func clockGoingBackwardsStillRejectsDuplicates() {
        var cache = DedupCache()
        #expect(insert(&cache, "m", now: Self.at(1000)))
        #expect(cache.contains("m", now: Self.at(500)))
        #expect(!insert(&cache, "m", now: Self.at(500)))
        #expect(!insert(&cache, "m", now: Self.at(-10_000)))
        #expect(insert(&cache, "m", now: Self.at(2200)))
    }

    @Test func zeroCapacityOrTTLRemembersNothing() {
        var noRoom = DedupCache(configuration: .init(capacity: 0))
        #expect(insert(&noRoom, "x", now: Self.at(0)))
        #expect(insert(&noRoom, "x", now: Self.at(0)))
        #expect(noRoom.count == 0)
        var negative = DedupCache(configuration: .init(capacity: -3))
        #expect(insert(&negative, "x", now: Self.at(0)) && insert(&negative, "x", now: Self.at(0)))
        var noTime = DedupCache(configuration: .init(ttl: .zero))
        #expect(insert(&noTime, "x", now: Self.at(0)))
        #expect(insert(&noTime, "x", now: Self.at(0)))
        #expect(!noTime.contains("x", now: Self.at(0)))
    }

    @Test func twoAccountsAreIndependent() {
        var qq = DedupCache()
        var feishu = DedupCache()
        #expect(insert(&qq, "shared-id", now: Self.at(0)))
        #expect(insert(&feishu, "shared-id", now: Self.at(0)), "another account's cache has not seen it")
        #expect(!insert(&qq, "shared-id", now: Self.at(1)))
        #expect(!insert(&feishu, "shared-id", now: Self.at(1)))
        var copy = qq                                  // value semantics: copies diverge
        #expect(insert(&copy, "only-in-copy", now: Self.at(2)))
        #expect(!qq.contains("only-in-copy", now: Self.at(2)))
    }

    // MARK: Persistence

    @Test func snapshotRoundTripsAndRejectsDuplicatesAfterRestart() throws {
        var cache = DedupCache()
        for i in 0..<100 { _ = cache.insert("msg-\(i)", now: Self.at(Double(i))) }
        let snapshot = cache.snapshot(now: Self.at(100))
        #expect(snapshot.entries.map(\.id) == (0..<100).map { "msg-\($0)" })
        let data = try JSONEncoder().encode(snapshot)
        let decoded = try JSONDecoder().decode(DedupCache.Snapshot.self, from: data)
        #expect(decoded == snapshot)

        // "Restart" 10 minutes later.
        let restartTime = Self.at(700)
        var restored = DedupCache(restoring: decoded, now: restartTime)
        #expect(restored.count == 100)
        for i in 0..<100 { #expect(!insert(&restored, "msg-\(i)", now: restartTime)) }
        #expect(insert(&restored, "msg-new", now: restartTime))
        // Entries keep their original first-seen time: msg-0 (seen at 0) expires at 1200.
        #expect(restored.contains("msg-0", now: Self.at(1199)))
        #expect(insert(&restored, "msg-0", now: Self.at(1200)))
        #expect(!insert(&restored, "msg-99", now: Self.at(1200)))
    }

    @Test func snapshotDropsExpiredEntries() {
        var cache = DedupCache(configuration: .init(ttl: .seconds(60)))
        _ = cache.insert("old", now: Self.at(0))
        _ = cache.insert("mid", now: Self.at(30))
        _ = cache.insert("new", now: Self.at(59))
        #expect(cache.snapshot(now: Self.at(60)).entries.map(\.id) == ["mid", "new"])
        #expect(cache.snapshot(now: Self.at(90)).entries.map(\.id) == ["new"])
        #expect(cache.snapshot(now: Self.at(60)).entries.map(\.firstSeen) == [Self.at(30), Self.at(59)])
    }

    @Test func snapshotEncodingIsIndependentOfTheDateStrategy() throws {
        let snapshot = DedupCache.Snapshot(entries: [.init(id: "a", firstSeen: Date(timeIntervalSince1970: 1_767_225_600.5))])
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        let text = String(decoding: try encoder.encode(snapshot), as: UTF8.self)
        #expect(text == #"{"entries":[{"id":"a","seen":1767225600.5}]}"#)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        #expect(try decoder.decode(DedupCache.Snapshot.self, from: Data(text.utf8)) == snapshot)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(DedupCache.Snapshot.self, from: Data(#"{"entries":[{"id":"a"}]}"#.utf8))
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(DedupCache.Snapshot.self, from: Data(#"{"entries":[{"id":"a","seen":"x"}]}"#.utf8))
        }
    }

    @Test func restoreKeepsOnlyLiveEntriesAndTheNewestUpToCapacity() {
        let entries = (0..<10).map { DedupCache.Snapshot.Entry(id: "e\($0)", firstSeen: Self.at(Double($0) * 100)) }
        // Shuffled order in the snapshot does not matter.
        var rng = SeededRandomNumberGenerator(seed: 8)
        let snapshot = DedupCache.Snapshot(entries: entries.shuffled(using: &rng))
        let now = Self.at(1500)   // ttl 1200: e0–e3 (seen ≤ 300) have expired
        let all = DedupCache(restoring: snapshot, now: now)
        #expect(all.count == 6)
        #expect((0..<4).allSatisfy { !all.contains("e\($0)", now: now) })
        #expect((4..<10).allSatisfy { all.contains("e\($0)", now: now) })

        var small = DedupCache(configuration: .init(capacity: 4), restoring: snapshot, now: now)
        #expect(small.count == 4)
        #expect(small.snapshot(now: now).entries.map(\.id) == ["e6", "e7", "e8", "e9"])
        // Restored order drives eviction: the oldest restored entry goes first.
        _ = small.insert("fresh", now: now)
        #expect(!small.contains("e6", now: now))
        #expect(small.contains("e7", now: now))

        let shortTTL = DedupCache(configuration: .init(ttl: .seconds(750)), restoring: snapshot, now: now)
        #expect(shortTTL.snapshot(now: now).entries.map(\.id) == ["e8", "e9"], "the new configuration's TTL applies")
    }

    @Test func restoreTreatsFutureEntriesAsSeenNow() {
        let now = Self.at(0)
        let snapshot = DedupCache.Snapshot(entries: [
            .init(id: "future", firstSeen: Self.at(3600)),   // written by a clock an hour ahead
            .init(id: "present", firstSeen: Self.at(-100)),
        ])
        var cache = DedupCache(restoring: snapshot, now: now)
        #expect(cache.count == 2)
        #expect(cache.contains("future", now: Self.at(1199)))
        #expect(!cache.contains("future", now: Self.at(1200)), "expires a TTL after restore, not after its future time")
        #expect(cache.snapshot(now: now).entries.first { $0.id == "future" }?.firstSeen == now)
        #expect(cache.snapshot(now: now).entries.map(\.id) == ["present", "future"])
        #expect(insert(&cache, "future", now: Self.at(1200)))
    }

    @Test func restoreWithRepeatedIdsKeepsTheEarliestLiveSighting() {
        let now = Self.at(1000)
        let snapshot = DedupCache.Snapshot(entries: [
            .init(id: "dup", firstSeen: Self.at(500)),
            .init(id: "dup", firstSeen: Self.at(100)),
            .init(id: "dup", firstSeen: Self.at(-500)),   // expired: ignored
        ])
        let cache = DedupCache(restoring: snapshot, now: now)
        #expect(cache.count == 1)
        #expect(cache.snapshot(now: now).entries == [.init(id: "dup", firstSeen: Self.at(100))])
    }

    // MARK: Scale and model check

    @Test func staysBoundedUnderHeavyTraffic() {
        var cache = DedupCache(configuration: .init(ttl: .seconds(3600), capacity: 5000))
        for i in 0..<50_000 {
            #expect(insert(&cache, "m\(i)", now: Self.at(Double(i) * 0.01)))
        }
        #expect(cache.count == 5000)
        #expect(cache.bufferedCount <= 2 * 5000 + 64)
        let now = Self.at(500)
        #expect(!insert(&cache, "m49999", now: now))
        #expect(!insert(&cache, "m45000", now: now))
        #expect(insert(&cache, "m44999", now: now), "evicted by capacity")

        // The same id expiring and returning over and over leaves no garbage behind.
        var churn = DedupCache(configuration: .init(ttl: .seconds(1), capacity: 10))
        for i in 0..<20_000 {
            #expect(insert(&churn, "same", now: Self.at(Double(i))))
        }
        #expect(churn.count == 1)
        #expect(churn.bufferedCount < 200)

        // Same, but behind an entry from a clock that ran ahead, which blocks the front.
        var skewed = DedupCache(configuration: .init(ttl: .seconds(1), capacity: 10))
        #expect(insert(&skewed, "from-the-future", now: Self.at(1_000_000)))
        for i in 0..<20_000 {
            #expect(insert(&skewed, "same", now: Self.at(Double(i))))
        }
        #expect(skewed.count == 2)
        #expect(skewed.bufferedCount < 200)
        #expect(skewed.snapshot(now: Self.at(19_999.5)).entries.map(\.id) == ["from-the-future", "same"])
    }

    /// Compares against a naive reference (a list in insertion order) under monotonic time.
    @Test(arguments: [(UInt64(1), 50), (2, 1), (3, 500)])
    func matchesANaiveModel(seed: UInt64, capacity: Int) {
        let ttl = 100.0
        var cache = DedupCache(configuration: .init(ttl: .seconds(ttl), capacity: capacity))
        var model: [(id: String, seen: Double)] = []
        var rng = SeededRandomNumberGenerator(seed: seed)
        var t = 0.0
        for step in 0..<20_000 {
            t += Double(Int.random(in: 0...6, using: &rng)) * 0.5
            let id = "id\(Int.random(in: 0..<200, using: &rng))"
            let now = Self.at(t)
            if Int.random(in: 0..<4, using: &rng) == 0 {
                let expected = model.contains { $0.id == id && t - $0.seen < ttl }
                #expect(cache.contains(id, now: now) == expected, "step \(step)")
                continue
            }
            model.removeAll { t - $0.seen >= ttl }
            let expected = !model.contains { $0.id == id }
            if expected {
                model.append((id, t))
                if model.count > capacity { model.removeFirst(model.count - capacity) }
            }
            #expect(insert(&cache, id, now: now) == expected, "step \(step)")
            if step % 997 == 0 {
                #expect(cache.snapshot(now: now).entries.map(\.id) == model.map(\.id))
                var pruned = cache
                pruned.prune(now: now)
                #expect(pruned.count == model.count)
            }
        }
    }
}
