/// Durable per-account storage of small JSON documents, with a per-key exclusive lock.
///
/// The default implementation is ``FileStateStore`` (one file per key under a state
/// directory, atomic replace, mode 0600, `flock` advisory locks shared across
/// processes). ``InMemoryStateStore`` serves tests and hosts that persist elsewhere.
///
/// Implementations must:
/// - never return a partially written document (a crash mid-save leaves the old one);
/// - report undecodable content as ``ChannelError/Code/storeCorrupt`` naming the key
///   and the file or field, and never delete it on their own;
/// - make ``withExclusiveAccess(_:_:)`` exclusive across every handle on the same key
///   (and across processes, for file-backed stores).
public protocol StateStore: Sendable {
    /// Reads and decodes the document, or returns `nil` when none is stored.
    /// - Throws: ``ChannelError`` `.storeCorrupt`, `.storeIO` or `.storePermissions`.
    func load<T: Decodable & Sendable>(_ type: T.Type, for key: StateKey) async throws -> T?

    /// Encodes and durably stores the document; when this returns, it survives a crash.
    /// - Throws: ``ChannelError`` `.storeIO`; the previously stored document is kept.
    func save<T: Encodable & Sendable>(_ value: T, for key: StateKey) async throws

    /// Removes the document (no error if absent).
    func remove(_ key: StateKey) async throws

    /// Runs `body` while holding the key's exclusive lock.
    ///
    /// Use it around read–modify–write sequences that must not interleave, such as
    /// spending a single-use refresh token. Cancellation is not observed while waiting
    /// for the lock; `body` sees the caller's cancellation as usual.
    /// - Throws: ``ChannelError`` `.lockFailed`, or whatever `body` throws.
    func withExclusiveAccess<T: Sendable>(_ key: StateKey, _ body: @Sendable () async throws -> T) async throws -> T
}
