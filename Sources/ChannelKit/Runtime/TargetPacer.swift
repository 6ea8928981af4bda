import Synchronization

/// Per-target pacing for one account's sends: chunks to one conversation go out in order,
/// at least ``Configuration/minimumInterval`` apart, and after the platform answers
/// "slow down" nothing goes to that target until its wait has passed.
///
/// Other targets are not held up (bug class "rate limits": chunk bursts and a 429
/// spiral). Waits run on the injected clock.
public final class TargetPacer: Sendable {
    /// Pacing settings.
    public struct Configuration: Sendable, Hashable {
        /// The least time between two sends to one target. Default 0.
        public var minimumInterval: Duration
        /// How often one chunk is retried after `.rateLimited`. Default 3.
        public var maximumRateLimitRetries: Int
        /// The wait when the platform did not say how long. Default: 1 s doubling, to 30 s.
        public var fallbackBackoff: Backoff.Configuration

        /// Creates a configuration; every parameter has the documented default.
        public init(minimumInterval: Duration = .zero, maximumRateLimitRetries: Int = 3, fallbackBackoff: Backoff.Configuration = Backoff.Configuration(initial: .seconds(1), maximum: .seconds(30))) {
            self.minimumInterval = minimumInterval
            self.maximumRateLimitRetries = maximumRateLimitRetries
            self.fallbackBackoff = fallbackBackoff
        }
    }

    /// The settings.
    public let configuration: Configuration
    private let time: TimeSource
    private let lanes = Mutex<[Peer: LaneState]>([:])

    private struct LaneState {
        var notBefore: Duration = .zero   // offset from `origin`
        var busy = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let elapsed: @Sendable () -> Duration

    /// Creates a pacer on `time`'s clock.
    public init(configuration: Configuration = Configuration(), time: TimeSource) {
        self.configuration = configuration
        self.time = time
        self.elapsed = Self.makeElapsed(time.clock)
    }

    private static func makeElapsed<C: Clock<Duration>>(_ clock: C) -> @Sendable () -> Duration {
        let start = clock.now
        return { start.duration(to: clock.now) }
    }

    /// Sends `items` to `peer` in order, holding the target's lane for all of them so two
    /// messages' chunks never interleave. Each item waits for its turn (the minimum
    /// interval and any rate-limit wait) and is retried after `.rateLimited` — after the
    /// platform's ``ChannelError/retryAfter``, or the fallback backoff — at most
    /// ``Configuration/maximumRateLimitRetries`` times.
    /// - Cancellation: a cancelled caller stops waiting and throws `CancellationError`;
    ///   the lane passes to the next sender.
    public func send<Item: Sendable, Result: Sendable>(
        to peer: Peer,
        _ items: [Item],
        _ send: @Sendable (Item) async throws -> Result
    ) async throws -> [Result] {
        await acquire(peer)
        defer { release(peer) }
        var results: [Result] = []
        results.reserveCapacity(items.count)
        for item in items {
            var backoff = Backoff(configuration.fallbackBackoff)
            var retries = 0
            while true {
                try Task.checkCancellation()
                let wait = lanes.withLock { $0[peer]?.notBefore ?? .zero } - elapsed()
                if wait > .zero { try await time.sleep(for: wait) }
                do {
                    let result = try await send(item)
                    setNotBefore(peer, elapsed() + configuration.minimumInterval)
                    results.append(result)
                    break
                } catch let error as ChannelError where error.code == .rateLimited && retries < configuration.maximumRateLimitRetries {
                    retries += 1
                    setNotBefore(peer, elapsed() + (error.retryAfter ?? backoff.next()))
                }
            }
        }
        return results
    }

    private func setNotBefore(_ peer: Peer, _ offset: Duration) {
        lanes.withLock { lanes in
            let current = lanes[peer]?.notBefore ?? .zero
            lanes[peer, default: LaneState()].notBefore = max(current, offset)
        }
    }

    private func acquire(_ peer: Peer) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = lanes.withLock { lanes -> Bool in
                if lanes[peer, default: LaneState()].busy {
                    lanes[peer]?.waiters.append(continuation)
                    return false
                }
                lanes[peer]?.busy = true
                return true
            }
            if granted { continuation.resume() }
        }
    }

    private func release(_ peer: Peer) {
        let next = lanes.withLock { lanes -> CheckedContinuation<Void, Never>? in
            guard var lane = lanes[peer] else { return nil }
            if lane.waiters.isEmpty {
                lane.busy = false
                // Forget idle lanes whose wait has passed, so the map stays small.
                if lane.notBefore <= elapsed() { lanes[peer] = nil } else { lanes[peer] = lane }
                return nil
            }
            let first = lane.waiters.removeFirst()
            lanes[peer] = lane
            return first
        }
        next?.resume()
    }
}
