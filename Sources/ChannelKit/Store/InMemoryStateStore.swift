import Foundation

/// A ``StateStore`` that keeps JSON documents in memory (tests, or hosts that persist
/// through their own database). Documents round-trip through JSON, so a type that would
/// not survive ``FileStateStore`` does not survive here either.
///
/// ``failNextSaves(_:)`` makes the next saves throw, to test persist-before-swap.
public actor InMemoryStateStore: StateStore {
    private var documents: [StateKey: Data] = [:]
    private var locked: Set<StateKey> = []
    private var lockWaiters: [StateKey: [CheckedContinuation<Void, Never>]] = [:]
    private var failingSaves = 0
    /// Number of successful saves so far.
    public private(set) var saveCount = 0

    public init() {}

    /// Makes the next `count` saves throw `.storeIO` without storing anything.
    public func failNextSaves(_ count: Int) { failingSaves = count }

    /// The raw JSON of a stored document.
    public func rawDocument(for key: StateKey) -> Data? { documents[key] }

    /// Stores raw bytes as a document (e.g. corrupt JSON, to test error handling).
    public func setRawDocument(_ data: Data?, for key: StateKey) { documents[key] = data }

    public func load<T: Decodable & Sendable>(_ type: T.Type, for key: StateKey) async throws -> T? {
        guard let data = documents[key] else { return nil }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw ChannelError(.storeCorrupt, "stored document cannot be decoded: \(error)",
                               account: key.account, location: key.description)
        }
    }

    public func save<T: Encodable & Sendable>(_ value: T, for key: StateKey) async throws {
        if failingSaves > 0 {
            failingSaves -= 1
            throw ChannelError(.storeIO, "injected save failure", account: key.account, location: key.description)
        }
        let data = try JSONEncoder().encode(value)
        documents[key] = data
        saveCount += 1
    }

    public func remove(_ key: StateKey) async throws { documents[key] = nil }

    public func withExclusiveAccess<T: Sendable>(_ key: StateKey, _ body: @Sendable () async throws -> T) async throws -> T {
        while locked.contains(key) {
            await withCheckedContinuation { lockWaiters[key, default: []].append($0) }
        }
        locked.insert(key)
        defer {
            locked.remove(key)
            if var waiters = lockWaiters[key], !waiters.isEmpty {
                waiters.removeFirst().resume()
                lockWaiters[key] = waiters.isEmpty ? nil : waiters
            }
        }
        return try await body()
    }
}
