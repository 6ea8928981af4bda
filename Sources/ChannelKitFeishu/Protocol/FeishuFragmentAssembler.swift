import Foundation
import ChannelKit

/// Reassembles data frames split by the server into `sum` parts (`seq` 0…sum−1, all
/// carrying the same `message_id`), in any arrival order.
///
/// Partials expire ``Configuration/partialLifetime`` after their first part arrived,
/// measured on the injected wall clock; at most ``Configuration/maximumPartials``
/// messages and ``Configuration/maximumBytes`` bytes are buffered (the oldest partial is
/// dropped first). One assembler per connection: nothing is shared between accounts.
public struct FeishuFragmentAssembler: Sendable {
    /// Limits.
    public struct Configuration: Sendable, Hashable {
        /// How long a partial message waits for its missing parts. Default 5 s (the Go SDK).
        public var partialLifetime: Duration
        /// The most partial messages buffered at once. Default 256.
        public var maximumPartials: Int
        /// The most bytes buffered across partials. Default 16 MiB.
        public var maximumBytes: Int
        /// The largest `sum` accepted. Default 1024.
        public var maximumParts: Int

        /// Creates limits; every parameter has the documented default.
        public init(partialLifetime: Duration = .seconds(5), maximumPartials: Int = 256, maximumBytes: Int = 16 << 20,
                    maximumParts: Int = 1024) {
            self.partialLifetime = partialLifetime
            self.maximumPartials = maximumPartials
            self.maximumBytes = maximumBytes
            self.maximumParts = maximumParts
        }
    }

    /// What one part did.
    public enum Result: Sendable, Equatable {
        /// The message is complete: its payload in `seq` order.
        case complete([UInt8])
        /// More parts are needed.
        case pending
        /// The part cannot be used (bad `sum`/`seq`, or a `sum` that disagrees with the
        /// earlier parts); the reason is safe to log.
        case rejected(String)
    }

    private struct Partial: Sendable {
        var sum: Int
        var parts: [[UInt8]?]
        var received: Int
        var bytes: Int
        var firstAt: Date
    }

    /// The limits.
    public let configuration: Configuration
    private var partials: [String: Partial] = [:]
    private var order: [String] = []
    private var bufferedBytes = 0

    /// Creates an empty assembler.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// How many partial messages are buffered.
    public var pendingCount: Int { partials.count }

    /// Adds one part received at `now`.
    /// - Parameters:
    ///   - messageID: The `message_id` header.
    ///   - sum: The `sum` header (1 when unsplit).
    ///   - seq: The `seq` header (0-based).
    ///   - payload: The part's payload.
    public mutating func add(messageID: String, sum: Int, seq: Int, payload: [UInt8], now: Date) -> Result {
        expire(now: now)
        guard sum >= 1, sum <= configuration.maximumParts else { return .rejected("sum \(sum) outside 1…\(configuration.maximumParts)") }
        guard seq >= 0, seq < sum else { return .rejected("seq \(seq) outside 0..<\(sum)") }
        if sum == 1 { return .complete(payload) }
        var partial = partials[messageID] ?? Partial(sum: sum, parts: Array(repeating: nil, count: sum), received: 0, bytes: 0, firstAt: now)
        if partials[messageID] == nil { order.append(messageID) }
        guard partial.sum == sum else { return .rejected("sum \(sum) differs from the earlier parts' \(partial.sum)") }
        if partial.parts[seq] == nil {
            partial.parts[seq] = payload
            partial.received += 1
            partial.bytes += payload.count
            bufferedBytes += payload.count
        }
        if partial.received == sum {
            remove(messageID)
            var joined: [UInt8] = []
            joined.reserveCapacity(partial.bytes)
            for part in partial.parts { joined.append(contentsOf: part ?? []) }
            return .complete(joined)
        }
        partials[messageID] = partial
        while (partials.count > configuration.maximumPartials || bufferedBytes > configuration.maximumBytes), let oldest = order.first {
            remove(oldest)
        }
        return partials[messageID] == nil ? .rejected("buffer limits exceeded") : .pending
    }

    /// Drops partials older than ``Configuration/partialLifetime`` at `now`.
    /// - Returns: How many were dropped.
    @discardableResult
    public mutating func expire(now: Date) -> Int {
        let lifetime = configuration.partialLifetime.seconds
        var dropped = 0
        while let oldest = order.first, let partial = partials[oldest], now.timeIntervalSince(partial.firstAt) >= lifetime {
            remove(oldest)
            dropped += 1
        }
        return dropped
    }

    private mutating func remove(_ id: String) {
        if let partial = partials.removeValue(forKey: id) { bufferedBytes -= partial.bytes }
        if let i = order.firstIndex(of: id) { order.remove(at: i) }
    }
}
