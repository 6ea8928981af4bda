#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation

/// The default ``StateStore``: one JSON file per ``StateKey`` under a state directory.
///
/// Layout (see `SCHEMA.md`, "State directory"):
///
/// ```
/// <directory>/<channel>/<account>/<name>.json   the document, mode 0600
/// <directory>/<channel>/<account>/<name>.lock   its flock(2) lock file
/// ```
///
/// Channel and account ids are percent-encoded (every byte outside `[a-z0-9_-]` becomes
/// `%XX`, an empty id becomes `%`), so any id — `".."`, `"a/b"`, `"Main"` next to
/// `"main"` on a case-insensitive disk — maps to exactly one directory of its own.
/// Document names must be 1–128 letters, digits, `-`, `_` or `.`, not starting with `.`.
///
/// - Saving writes a temporary file in the same directory, fsyncs it, renames it over
///   the document and fsyncs the directory: readers and crashes see either the old or
///   the new document, never a mix. Temporary files left by a crashed writer are ignored
///   by ``load(_:for:)`` and removed by a later save once they are 10 minutes older
///   than the fresh document.
/// - Loading never modifies or deletes anything: a corrupt document is reported as
///   `.storeCorrupt`, a group/other-accessible one as `.storePermissions`.
/// - ``withExclusiveAccess(_:_:)`` takes an exclusive `flock` on the lock file, shared
///   with every other store instance and process using the same directory.
///
/// File I/O runs on the calling task (documents are small); only a contended lock is
/// waited for on a dedicated thread.
public final class FileStateStore: StateStore {
    /// The state directory (created with ``Configuration/directoryMode`` on first save).
    public let directory: URL
    /// The store's settings.
    public let configuration: Configuration

    private let root: String
    private let keyLocks = KeyedAsyncLock()

    /// A temporary file older than this (relative to the document just saved) is
    /// considered abandoned by a crashed writer.
    static let staleTemporaryFileAge: TimeInterval = 600

    /// Creates a store over `directory`. Nothing is touched until the first call.
    /// - Parameters:
    ///   - directory: The state directory, e.g. the gateway's `stateDir`.
    ///   - configuration: File modes and logger. Defaults to 0600 files, 0700 directories,
    ///     logging disabled.
    public init(directory: URL, configuration: Configuration = .init()) {
        self.directory = directory
        self.configuration = configuration
        let path = directory.path
        self.root = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    /// The file that holds `key`'s document (whether or not it exists).
    /// - Throws: ``ChannelError`` `.invalidState` when `key.name` is not a valid name.
    public func documentURL(for key: StateKey) throws -> URL {
        URL(fileURLWithPath: try location(of: key).document)
    }

    /// Reads and decodes the document, or returns `nil` when none is stored.
    ///
    /// Never modifies, repairs or deletes the file.
    /// - Throws: ``ChannelError`` with the file path as `location`:
    ///   `.storeCorrupt` when the file is empty, truncated or does not decode as `T`
    ///   (the location then ends with the JSON path of the bad field, e.g.
    ///   `…/credentials.json: $.refreshToken`); `.storePermissions` when the file grants
    ///   group/other access beyond ``Configuration/fileMode``; `.storeIO` when it cannot
    ///   be read (e.g. a path component is not a directory); `.invalidState` for an
    ///   invalid `key.name`.
    public func load<T: Decodable & Sendable>(_ type: T.Type, for key: StateKey) async throws -> T? {
        let location = try location(of: key)
        let path = location.document
        let fd: Int32
        do throws(POSIXFile.Failure) {
            fd = try POSIXFile.open(path, O_RDONLY | O_NONBLOCK)
        } catch {
            if error.code == ENOENT { return nil }
            throw ioError(key, path, "cannot open state document", error)
        }
        defer { POSIXFile.closeQuietly(fd) }

        let status: (mode: UInt32, size: Int)
        do throws(POSIXFile.Failure) {
            status = try POSIXFile.status(fd)
        } catch {
            throw ioError(key, path, "cannot read state document", error)
        }
        guard status.mode & POSIXFile.typeMask == POSIXFile.regularFileType else {
            throw ChannelError(.storeIO, "state document is not a regular file", account: key.account, location: path)
        }
        let exposed = status.mode & 0o077 & ~UInt32(configuration.fileMode)
        if exposed != 0 {
            let mode = String(status.mode & 0o777, radix: 8)
            logger(key).warning("state document has mode 0\(mode); refusing to read it", metadata: ["path": path], source: "FileStateStore")
            throw ChannelError(
                .storePermissions,
                "state document has mode 0\(mode), accessible by group or others; fix with chmod \(String(configuration.fileMode, radix: 8))",
                account: key.account, location: path
            )
        }
        let data: Data
        do throws(POSIXFile.Failure) {
            data = try POSIXFile.readAll(fd, sizeHint: status.size)
        } catch {
            throw ioError(key, path, "cannot read state document", error)
        }

        guard !data.isEmpty else {
            logger(key).warning("state document is empty", metadata: ["path": path], source: "FileStateStore")
            throw ChannelError(.storeCorrupt, "state document is empty", account: key.account, location: path)
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            let (field, detail) = Self.describe(error)
            logger(key).warning("state document cannot be decoded: \(detail)", metadata: ["path": path], source: "FileStateStore")
            throw ChannelError(
                .storeCorrupt,
                "state document cannot be decoded: \(detail)",
                account: key.account,
                location: field.map { "\(path): \($0)" } ?? path
            )
        } catch {
            throw ChannelError(.storeCorrupt, "state document cannot be decoded: \(error)", account: key.account, location: path)
        }
    }

    /// Encodes the document as JSON (sorted keys) and durably replaces the stored one.
    ///
    /// When this returns, the new document survives a crash. On failure the previous
    /// document is untouched and no temporary file is left behind. Creates missing
    /// directories with ``Configuration/directoryMode``.
    /// - Throws: ``ChannelError`` `.storeIO` naming the document path, the failing step
    ///   and the system's reason; `.invalidState` for an invalid `key.name`.
    public func save<T: Encodable & Sendable>(_ value: T, for key: StateKey) async throws {
        let location = try location(of: key)
        let data: Data
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            data = try encoder.encode(value)
        } catch {
            throw ChannelError(.storeIO, "cannot encode state document: \(error)", account: key.account, location: location.document)
        }
        try makeDirectories(location.directory, key: key, path: location.document)

        do throws(AtomicFile.Failure) {
            try AtomicFile.write(data, to: location.document, mode: configuration.fileMode, temporaryName: Self.temporaryName(for: location.name))
        } catch {
            throw ChannelError(.storeIO, error.description, account: key.account, location: location.document, underlying: error.posix)
        }
        removeStaleTemporaryFiles(location, key: key)
    }

    /// Removes the document (no error if absent). The lock file stays: removing it could
    /// let two holders lock different files.
    /// - Throws: ``ChannelError`` `.storeIO` naming the path; `.invalidState` for an
    ///   invalid `key.name`.
    public func remove(_ key: StateKey) async throws {
        let location = try location(of: key)
        do throws(POSIXFile.Failure) {
            if try POSIXFile.unlink(location.document) {
                try POSIXFile.syncDirectory(location.directory)
            }
        } catch {
            throw ioError(key, location.document, "cannot remove state document", error)
        }
    }

    /// Runs `body` while holding the key's exclusive lock: first an in-process queue per
    /// key (FIFO), then an exclusive `flock` on `<name>.lock`, opened for this call only.
    ///
    /// The lock excludes every other caller on the same key — in this store, in other
    /// `FileStateStore` instances on the same directory, and in other processes. It is
    /// released (unlocked and closed) however `body` exits. Not reentrant: calling it
    /// again for the same key inside `body` deadlocks. Cancellation is not observed while
    /// waiting; a contended `flock` is waited for on a dedicated thread, not on the
    /// cooperative pool. Waiting is logged at `.debug`.
    /// - Throws: ``ChannelError`` `.lockFailed` naming the lock file when it cannot be
    ///   created, opened or locked; `.invalidState` for an invalid `key.name`; or whatever
    ///   `body` throws.
    public func withExclusiveAccess<T: Sendable>(_ key: StateKey, _ body: @Sendable () async throws -> T) async throws -> T {
        let location = try location(of: key)
        await keyLocks.acquire(key) {
            logger(key).debug("waiting for state lock held by another task of this store", metadata: ["path": location.lock], source: "FileStateStore")
        }
        defer { keyLocks.release(key) }

        let lock: FileLock
        do {
            try makeDirectories(location.directory, key: key, path: location.lock)
            lock = try await FileLock.acquire(path: location.lock, mode: configuration.fileMode) {
                logger(key).debug("waiting for state lock held by another store or process", metadata: ["path": location.lock], source: "FileStateStore")
            }
        } catch {
            let reason = (error as? ChannelError)?.message ?? String(describing: error)
            throw ChannelError(.lockFailed, "cannot lock state document: \(reason)", account: key.account, location: location.lock)
        }
        defer { lock.release() }
        return try await body()
    }

    // MARK: - Paths

    /// The files of one key.
    struct Location {
        let name: String
        let directory: String
        let document: String
        let lock: String
    }

    func location(of key: StateKey) throws(ChannelError) -> Location {
        guard StatePath.isValidName(key.name) else {
            throw ChannelError(
                .invalidState,
                "invalid state document name: use 1–\(StatePath.maxNameLength) letters, digits, '-', '_' or '.', not starting with '.'",
                account: key.account,
                location: key.name
            )
        }
        let directory = root + "/" + StatePath.escape(key.account.channel.rawValue) + "/" + StatePath.escape(key.account.account.rawValue)
        return Location(
            name: key.name,
            directory: directory,
            document: directory + "/" + key.name + ".json",
            lock: directory + "/" + key.name + ".lock"
        )
    }

    /// `.<name>.json.<pid>-<16 hex digits>.tmp`: hidden, unique, and never a valid document name.
    static func temporaryName(for name: String) -> String {
        let random = String(UInt64.random(in: .min ... .max), radix: 16)
        return ".\(name).json.\(POSIXFile.processID)-\(String(repeating: "0", count: 16 - random.count))\(random).tmp"
    }

    /// `true` when `entry` is a temporary file of document `name`, as made by ``temporaryName(for:)``.
    static func isTemporaryName(_ entry: String, for name: String) -> Bool {
        let prefix = ".\(name).json.", suffix = ".tmp"
        guard entry.hasPrefix(prefix), entry.hasSuffix(suffix), entry.count > prefix.count + suffix.count else { return false }
        let middle = entry.dropFirst(prefix.count).dropLast(suffix.count)
        let parts = middle.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].count == 16 else { return false }
        return parts[0].allSatisfy(\.isASCIIDigit) && parts[1].allSatisfy(\.isASCIIHexDigit)
    }

    // MARK: - Helpers

    /// Creates `directory` and missing parents with ``Configuration/directoryMode``,
    /// syncing each parent that gained an entry.
    private func makeDirectories(_ directory: String, key: StateKey, path: String) throws(ChannelError) {
        do throws(POSIXFile.Failure) {
            try makeDirectory(directory, depth: 0)
        } catch {
            throw ioError(key, path, "cannot create state directory \(directory)", error)
        }
    }

    private func makeDirectory(_ directory: String, depth: Int) throws(POSIXFile.Failure) {
        if let mode = try POSIXFile.pathStatus(directory) {
            guard mode & POSIXFile.typeMask == POSIXFile.directoryType else {
                throw POSIXFile.Failure(operation: "mkdir", code: ENOTDIR)
            }
            return
        }
        let parent = Self.parent(of: directory)
        if let parent, depth < 64 {
            try makeDirectory(parent, depth: depth + 1)
        }
        if try POSIXFile.makeDirectory(directory, mode: configuration.directoryMode) {
            try POSIXFile.changeMode(path: directory, configuration.directoryMode)  // mkdir's mode is masked by umask
            if let parent { try POSIXFile.syncDirectory(parent) }
        } else if let mode = try POSIXFile.pathStatus(directory), mode & POSIXFile.typeMask != POSIXFile.directoryType {
            throw POSIXFile.Failure(operation: "mkdir", code: ENOTDIR)  // lost a race against a non-directory
        }
    }

    private static func parent(of path: String) -> String? {
        guard let slash = path.lastIndex(of: "/") else { return nil }
        if slash == path.startIndex { return path == "/" ? nil : "/" }
        return String(path[..<slash])
    }

    /// Removes temporary files of this document that a crashed writer left behind, when
    /// they are ``staleTemporaryFileAge`` older than the document just written (file-system
    /// timestamps only; a concurrent writer's fresh temporary file is never touched).
    private func removeStaleTemporaryFiles(_ location: Location, key: StateKey) {
        let files = FileManager.default
        guard let entries = try? files.contentsOfDirectory(atPath: location.directory),
              let reference = (try? files.attributesOfItem(atPath: location.document))?[.modificationDate] as? Date
        else { return }
        for entry in entries where Self.isTemporaryName(entry, for: location.name) {
            let path = location.directory + "/" + entry
            guard let attributes = try? files.attributesOfItem(atPath: path),
                  attributes[.type] as? FileAttributeType == .typeRegular,
                  let modified = attributes[.modificationDate] as? Date,
                  reference.timeIntervalSince(modified) > Self.staleTemporaryFileAge
            else { continue }
            if (try? POSIXFile.unlink(path)) == true {
                logger(key).info("removed stale temporary state file", metadata: ["path": path], source: "FileStateStore")
            }
        }
    }

    private func ioError(_ key: StateKey, _ path: String, _ what: String, _ failure: POSIXFile.Failure) -> ChannelError {
        ChannelError(.storeIO, "\(what): \(failure.operation): \(failure.reason)", account: key.account, location: path, underlying: failure)
    }

    private func ioError(_ key: StateKey, _ path: String, _ what: String, _ error: any Error) -> ChannelError {
        if let channelError = error as? ChannelError { return channelError }
        if let failure = error as? POSIXFile.Failure { return ioError(key, path, what, failure) }
        return ChannelError(.storeIO, "\(what): \(error)", account: key.account, location: path)
    }

    private func logger(_ key: StateKey) -> ChannelLogger { configuration.logger.scoped(to: key.account) }

    /// The JSON path of the offending field (`$.a.b[0]`), if any, and a short explanation.
    static func describe(_ error: DecodingError) -> (field: String?, detail: String) {
        let path: [any CodingKey]
        let detail: String
        switch error {
        case .typeMismatch(let type, let context):
            path = context.codingPath
            detail = "wrong type (expected \(type)): \(context.debugDescription)"
        case .valueNotFound(let type, let context):
            path = context.codingPath
            detail = "missing value (expected \(type)): \(context.debugDescription)"
        case .keyNotFound(let key, let context):
            path = context.codingPath + [key]
            detail = "missing field \"\(key.stringValue)\""
        case .dataCorrupted(let context):
            path = context.codingPath
            detail = path.isEmpty ? "not valid JSON (truncated or corrupt): \(context.debugDescription)" : context.debugDescription
        @unknown default:
            return (nil, String(describing: error))
        }
        guard !path.isEmpty else { return (nil, detail) }
        let field = path.reduce("$") { result, key in
            if let index = key.intValue, key.stringValue == "Index \(index)" { return result + "[\(index)]" }
            return result + "." + key.stringValue
        }
        return (field, detail)
    }
}

private extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
    var isASCIIHexDigit: Bool { isASCII && isHexDigit }
}
