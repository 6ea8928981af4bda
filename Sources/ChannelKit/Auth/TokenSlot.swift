import Foundation
import Synchronization

/// The cache state of one credential key: the current token, the in-flight fetch and its
/// waiters. All access is under one small lock; the hit path takes it once.
@usableFromInline
final class TokenSlot: Sendable {
    struct Flight {
        let id: UInt64
        /// `false` once `clear` ran during the fetch: waiters still get the result, the
        /// cache does not keep it.
        var keepResult = true
        var task: Task<Void, Never>?
        var waiters: [UInt64: UnsafeContinuation<AccessToken, any Error>] = [:]
    }

    struct State {
        var token: AccessToken?
        /// Seconds since the reference date; the token is served without a refresh
        /// until then.
        var refreshAt: Double = -.infinity
        /// Seconds since the reference date; the token is served (while a refresh runs)
        /// until then.
        var expiresAt: Double = -.infinity
        var flight: Flight?
        var nextID: UInt64 = 0
        var cancelledWaiters: Set<UInt64> = []
    }

    let key: CredentialKey
    let state = Mutex(State())

    init(key: CredentialKey) { self.key = key }

    enum Lookup {
        case hit(AccessToken)
        /// Serve the token and start a background refresh.
        case hitStartRefresh(AccessToken, flightID: UInt64)
        case miss
    }

    /// The hit path: one lock, two comparisons.
    @inline(__always)
    func lookup(now: Double) -> Lookup {
        state.withLock { s in
            guard let token = s.token else { return .miss }
            if now < s.refreshAt { return .hit(token) }
            if now < s.expiresAt {
                if s.flight != nil { return .hit(token) }
                s.nextID += 1
                s.flight = Flight(id: s.nextID)
                return .hitStartRefresh(token, flightID: s.nextID)
            }
            return .miss
        }
    }
}
