import Foundation

/// One account's inbound dedup: a ``DedupCache`` (TTL + capacity) whose contents are
/// saved in the state store (`<channel>/<account>/dedup.json`) so a restart does not
/// deliver again what was delivered before it (bug class "volatile dedupe").
///
/// Not thread-safe on its own: the account's runtime actor owns it.
struct InboundDeduplicator {
    static let stateName = "dedup"

    private var cache: DedupCache
    private(set) var isDirty = false
    let key: StateKey

    init(account: AccountKey, configuration: DedupCache.Configuration) {
        self.cache = DedupCache(configuration: configuration)
        self.key = StateKey(account, Self.stateName)
    }

    /// Replaces the contents with a saved snapshot (entries expired at `now` are dropped).
    mutating func restore(_ snapshot: DedupCache.Snapshot, now: Date) {
        cache = DedupCache(configuration: cache.configuration, restoring: snapshot, now: now)
    }

    /// Whether any of `keys` was seen; records all of them either way.
    mutating func isDuplicate(_ keys: [String], now: Date) -> Bool {
        var seen = false
        for key in keys where !cache.insert(key, now: now) {
            seen = true
        }
        if !seen { isDirty = true }
        return seen
    }

    /// The snapshot to save when the cache changed since the last call, else `nil`.
    /// Call ``markUnsaved()`` if saving it fails.
    mutating func takeSnapshotIfDirty(now: Date) -> DedupCache.Snapshot? {
        guard isDirty else { return nil }
        isDirty = false
        return cache.snapshot(now: now)
    }

    /// Marks the cache as changed again after a failed save.
    mutating func markUnsaved() {
        isDirty = true
    }
}
