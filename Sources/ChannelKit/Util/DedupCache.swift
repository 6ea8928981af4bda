import Foundation

/// Remembers recently seen inbound message ids of one account, so a platform's
/// redelivery (after a reconnect, a resume, a webhook retry) is not delivered twice.
///
/// A value type with no locking: its owner (one cache per account, never shared across
/// accounts) serialises access, e.g. inside the account's actor. Time is passed in, never
/// read from the system.
///
/// ```swift
/// var dedup = DedupCache()
/// if dedup.insert(event.id, now: time.now()) { deliver(event) }
/// try await store.save(dedup.snapshot(now: time.now()), for: StateKey(account, "dedup"))
/// ```
///
/// Rules:
/// - An id is a duplicate while `now < firstSeen + ttl`; at `firstSeen + ttl` it has
///   expired and is accepted (and remembered) again. Seeing a duplicate does not extend
///   its lifetime.
/// - When more than ``Configuration/capacity`` ids are remembered, the earliest inserted
///   are forgotten first.
/// - Time going backwards is harmless: an entry whose first-seen time is after `now` is
///   still a duplicate.
/// - ``insert(_:now:)`` is O(1) amortised: a dictionary plus a FIFO of insertion order;
///   expired entries at the front are dropped as inserts go by.
public struct DedupCache: Sendable {
    /// Lifetime and size limits.
    public struct Configuration: Sendable, Hashable {
        /// How long an id counts as seen, from its first sighting. Default 20 minutes.
        /// Negative acts as zero (nothing is ever a duplicate).
        public var ttl: Duration
        /// The most ids remembered; beyond it the earliest inserted are evicted.
        /// Default 5000. Negative acts as zero.
        public var capacity: Int

        /// Creates a configuration; every parameter has the documented default.
        public init(ttl: Duration = .seconds(20 * 60), capacity: Int = 5000) {
            self.ttl = ttl
            self.capacity = capacity
        }
    }

    /// What survives a restart: the remembered ids with their first-seen times.
    ///
    /// Encoded as `{"entries":[{"id":"…","seen":1767225600.123},…]}` with `seen` in
    /// Unix seconds, independent of the encoder's date strategy.
    public struct Snapshot: Codable, Sendable, Hashable {
        /// One remembered id.
        public struct Entry: Codable, Sendable, Hashable {
            /// The message id.
            public var id: String
            /// When the id was first seen.
            public var firstSeen: Date

            /// Creates an entry.
            public init(id: String, firstSeen: Date) {
                self.id = id
                self.firstSeen = firstSeen
            }

            private enum CodingKeys: String, CodingKey { case id, seen }

            public init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                id = try c.decode(String.self, forKey: .id)
                let seen = try c.decode(Double.self, forKey: .seen)
                guard seen.isFinite else {
                    throw DecodingError.dataCorruptedError(forKey: .seen, in: c, debugDescription: "seen is not finite")
                }
                firstSeen = Date(timeIntervalSince1970: seen)
            }

            public func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(id, forKey: .id)
                try c.encode(firstSeen.timeIntervalSince1970, forKey: .seen)
            }
        }

        /// The entries, earliest inserted first.
        public var entries: [Entry]

        /// Creates a snapshot.
        public init(entries: [Entry]) {
            self.entries = entries
        }
    }

    /// The limits in force.
    public let configuration: Configuration

    /// First-seen time of every remembered id.
    private var seen: [String: Date] = [:]
    /// Insertion order; `order[head...]` is live. An element is stale when `seen` holds a
    /// different time for its id (the id expired and was inserted again later).
    private var order: [Snapshot.Entry] = []
    private var head = 0

    /// Creates an empty cache.
    /// - Parameter configuration: Limits. Default: 20 minutes, 5000 ids.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Restores a cache from a ``Snapshot`` taken before a restart.
    ///
    /// Keeps only entries not yet expired at `now`, and of those at most `capacity`
    /// with the latest first-seen times. Entries first seen after `now` (clock skew)
    /// are kept as if seen at `now`. When an id appears more than once, its earliest
    /// surviving first-seen time is kept.
    /// - Parameters:
    ///   - configuration: Limits (may differ from those the snapshot was taken with).
    ///   - snapshot: The saved entries, in any order.
    ///   - now: The current wall-clock time.
    public init(configuration: Configuration = Configuration(), restoring snapshot: Snapshot, now: Date) {
        self.init(configuration: configuration)
        var earliest: [String: Date] = [:]
        for entry in snapshot.entries {
            let firstSeen = min(entry.firstSeen, now)
            guard !isExpired(firstSeen, now: now) else { continue }
            if let existing = earliest[entry.id], existing <= firstSeen { continue }
            earliest[entry.id] = firstSeen
        }
        let newest = earliest
            .map { Snapshot.Entry(id: $0.key, firstSeen: $0.value) }
            .sorted { ($0.firstSeen, $0.id) < ($1.firstSeen, $1.id) }
            .suffix(capacity)
        for entry in newest {
            seen[entry.id] = entry.firstSeen
            order.append(entry)
        }
    }

    /// The number of remembered ids. May include expired ids until the next
    /// ``insert(_:now:)`` or ``prune(now:)`` drops them.
    public var count: Int { seen.count }

    /// Records `id` as seen at `now`.
    /// - Returns: `true` when `id` was not seen within the TTL (deliver it); `false`
    ///   when it is a duplicate (drop it). A duplicate does not refresh the TTL.
    public mutating func insert(_ id: String, now: Date) -> Bool {
        dropExpiredFront(now: now)
        if let firstSeen = seen[id], !isExpired(firstSeen, now: now) { return false }
        seen[id] = now
        order.append(Snapshot.Entry(id: id, firstSeen: now))
        while seen.count > capacity { evictFront() }
        compactIfNeeded()
        return true
    }

    /// `true` when `id` was seen within the TTL before `now`. Does not record it.
    public func contains(_ id: String, now: Date) -> Bool {
        guard let firstSeen = seen[id] else { return false }
        return !isExpired(firstSeen, now: now)
    }

    /// Forgets every id expired at `now`, so ``count`` is exact. O(n).
    public mutating func prune(now: Date) {
        let live = order[head...].filter { isLive($0) && !isExpired($0.firstSeen, now: now) }
        seen = seen.filter { !isExpired($0.value, now: now) }
        order = live
        head = 0
    }

    /// The ids not expired at `now`, earliest inserted first, for persisting.
    public func snapshot(now: Date) -> Snapshot {
        Snapshot(entries: order[head...].filter { isLive($0) && !isExpired($0.firstSeen, now: now) })
    }

    // MARK: Helpers

    /// Elements held by the insertion-order buffer, including dead ones (for tests of
    /// memory bounds).
    var bufferedCount: Int { order.count }

    private var capacity: Int { max(configuration.capacity, 0) }

    private func isExpired(_ firstSeen: Date, now: Date) -> Bool {
        now.timeIntervalSince(firstSeen) >= configuration.ttl.seconds
    }

    /// `true` when `entry` is the current record of its id (not superseded).
    private func isLive(_ entry: Snapshot.Entry) -> Bool {
        seen[entry.id] == entry.firstSeen
    }

    /// Drops expired entries from the front of the insertion order (stops at the first
    /// entry that is still fresh; entries behind it are checked on lookup).
    private mutating func dropExpiredFront(now: Date) {
        while head < order.count {
            let entry = order[head]
            if isLive(entry) {
                guard isExpired(entry.firstSeen, now: now) else { break }
                seen[entry.id] = nil
            }
            head += 1
        }
    }

    /// Removes the earliest live entry.
    private mutating func evictFront() {
        while head < order.count {
            let entry = order[head]
            head += 1
            if isLive(entry) {
                seen[entry.id] = nil
                return
            }
        }
    }

    /// Keeps the FIFO's memory proportional to the live entries.
    private mutating func compactIfNeeded() {
        if head > 64 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
        if order.count - head > 2 * seen.count + 64 {
            order = order[head...].filter(isLive)
            head = 0
        }
    }
}
