import Foundation
import Synchronization
import ChannelKit

/// Token-cache figures: hit path (1 task, 8 tasks) and single-flight fan-in.
/// Peer: `node ../shared/bench/token_cache_node.js`.
enum TokenCacheBench {
    static func run(hit: Bool = true, fanIn: Bool = true) async throws {
        say("== token cache (peer: node ../shared/bench/token_cache_node.js)")
        if hit { try await runHit() }
        if fanIn { try await runFanIn() }
    }

    static func runHit() async throws {
        let cache = TokenCache()
        let key = CredentialKey(.qqbot, "app-hit")
        let fetch: TokenFetcher = { key in IssuedToken(value: Secret("tok-\(key.identity)"), lifetime: .seconds(7200)) }
        let source = cache.source(for: key, fetch: fetch)
        _ = try await source.token()

        let n = 5_000_000
        let sourceNanos = try await best(of: 5) {
            let t0 = monotonicNanos()
            for _ in 0..<n { _ = try await source.token() }
            return monotonicNanos() - t0
        }
        report("token-cache hit, TokenSource, 1 task", "\(format(Double(sourceNanos) / Double(n))) ns/op")

        let keyedNanos = try await best(of: 5) {
            let t0 = monotonicNanos()
            for _ in 0..<n { _ = try await cache.token(for: key, fetch: fetch) }
            return monotonicNanos() - t0
        }
        report("token-cache hit, token(for:fetch:), 1 task", "\(format(Double(keyedNanos) / Double(n))) ns/op")

        // 8 concurrent tasks, each on its own key (an account each), then all on one key.
        for shared in [false, true] {
            let tasks = 8
            let perTask = 1_000_000
            let sources = (0..<tasks).map { i in
                cache.source(for: shared ? key : CredentialKey(.qqbot, "app-\(i)"), fetch: fetch)
            }
            for s in sources { _ = try await s.token() }
            let nanos = try await best(of: 3) {
                let t0 = monotonicNanos()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for s in sources {
                        group.addTask { for _ in 0..<perTask { _ = try await s.token() } }
                    }
                    try await group.waitForAll()
                }
                return monotonicNanos() - t0
            }
            let total = Double(tasks * perTask)
            report("token-cache hit, 8 tasks, \(shared ? "one shared key" : "8 keys")",
                   "\(format(Double(nanos) / total)) ns/op wall (\(format(total / (Double(nanos) / 1e9) / 1e6, 2)) M ops/s)")
        }

    }

    /// Fan-in: 10,000 concurrent callers over 1,000 keys, fetch = one scheduling turn.
    static func runFanIn() async throws {
        var bestFanIn = UInt64.max
        var fetchCounts: [Int] = []
        for _ in 0..<5 {
            let fanCache = TokenCache()
            let fetches = Atomic<Int>(0)
            let fanFetch: TokenFetcher = { key in
                fetches.add(1, ordering: .relaxed)
                await Task.yield()
                return IssuedToken(value: Secret("tok-\(key.identity)"), lifetime: .seconds(7200))
            }
            let sources = (0..<1000).map { fanCache.source(for: CredentialKey(.qqbot, "app-\($0)"), fetch: fanFetch) }
            let t0 = monotonicNanos()
            // Unstructured tasks: a task group's child bookkeeping is O(children) per
            // removal in the Swift runtime and would dominate this figure.
            let callers = (0..<10_000).map { i in
                let s = sources[i % 1000]
                return Task { try await s.token().key == s.key ? 0 : 1 }
            }
            var mismatches = 0
            for caller in callers { mismatches += try await caller.value }
            bestFanIn = min(bestFanIn, monotonicNanos() - t0)
            fetchCounts.append(fetches.load(ordering: .relaxed))
            if mismatches != 0 { report("fan-in MISMATCHED TOKENS", "\(mismatches)") }
        }
        report("single-flight fan-in, 10,000 callers / 1,000 keys",
               "\(fetchCounts.map(String.init).joined(separator: "/")) fetches, best \(format(Double(bestFanIn) / 1e6)) ms")
    }
}
