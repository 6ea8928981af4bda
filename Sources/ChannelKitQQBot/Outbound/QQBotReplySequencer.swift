import Foundation

/// Hands out `msg_seq` values per `msg_id`: 1, 2, 3, … in order, never random and never
/// reused, so two replies to one message can never collide (40054005).
///
/// A value type; the connection keeps one behind its lock. Entries older than
/// ``retention`` (longer than any passive-reply window) are forgotten once more than
/// ``pruneThreshold`` ids are tracked.
struct QQBotReplySequencer: Sendable {
    /// How long a msg_id is remembered. Default 2 h (the C2C reply window is 60 min).
    var retention: TimeInterval = 2 * 3600
    /// The number of ids above which old ones are pruned. Default 4096.
    var pruneThreshold = 4096
    private var entries: [String: (next: Int, firstUse: Date)] = [:]

    /// The next `msg_seq` for `messageID` at wall time `now`.
    mutating func next(for messageID: String, now: Date) -> Int {
        if entries.count > pruneThreshold {
            entries = entries.filter { now.timeIntervalSince($0.value.firstUse) < retention }
        }
        if var entry = entries[messageID] {
            let seq = entry.next
            entry.next += 1
            entries[messageID] = entry
            return seq
        }
        entries[messageID] = (2, now)
        return 1
    }

    /// The number of ids tracked.
    var count: Int { entries.count }
}
