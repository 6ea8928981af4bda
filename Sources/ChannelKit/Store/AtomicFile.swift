#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation

/// Crash-safe replacement of one file: write a uniquely named temporary file in the same
/// directory, set its mode, fsync, rename it over the target, fsync the directory.
///
/// A reader sees either the old file or the new one, never a mix. ``FileStateStore`` saves
/// its documents with it; adapters use it for files outside the state store (the OpenIM
/// refresh `stateFile`, manual-login markers, a config file's rotated token), together
/// with ``withLock(_:_:)`` around read–modify–write sequences.
package enum AtomicFile {
    /// A failed step: what was being done, and the system's reason.
    package struct Failure: Error, Sendable, CustomStringConvertible {
        /// The step, e.g. "cannot create temporary file /x/.a.json.12-….tmp".
        package let step: String
        /// The failing system call.
        let posix: POSIXFile.Failure
        package var description: String { "\(step): \(posix.operation): \(posix.reason)" }
        /// The `errno` value.
        package var code: Int32 { posix.code }
    }

    /// Replaces `path` with `data` (file mode `mode`), creating it if needed.
    ///
    /// `temporaryName` names the temporary file (default `.<file>.<pid>-<random>.tmp`); the
    /// parent directory must exist. On failure the temporary file is removed and the old
    /// file is untouched, except when only the final directory sync failed (then the new
    /// content is in place but may not survive a power loss).
    package static func write(_ data: Data, to path: String, mode: UInt16, temporaryName: String? = nil) throws(Failure) {
        let directory = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        let file = (path as NSString).lastPathComponent
        var fd: Int32 = -1
        var temporary = ""
        var attempts = 0
        while fd < 0 {
            temporary = directory + "/" + (temporaryName ?? defaultTemporaryName(for: file))
            do throws(POSIXFile.Failure) {
                fd = try POSIXFile.open(temporary, O_WRONLY | O_CREAT | O_EXCL, mode: mode)
            } catch {
                attempts += 1
                if error.code == EEXIST && attempts < 8 { continue }
                throw Failure(step: "cannot create temporary file \(temporary)", posix: error)
            }
        }
        do throws(POSIXFile.Failure) {
            try POSIXFile.changeMode(fd, mode)  // the creation mode is masked by umask
            try POSIXFile.writeAll(fd, data)
            try POSIXFile.sync(fd)
            let written = fd
            fd = -1
            try POSIXFile.close(written)
            try POSIXFile.rename(temporary, path)
        } catch {
            if fd >= 0 { POSIXFile.closeQuietly(fd) }
            _ = try? POSIXFile.unlink(temporary)
            throw Failure(step: "cannot replace \(path) (temporary file \(temporary))", posix: error)
        }
        do throws(POSIXFile.Failure) {
            try POSIXFile.syncDirectory(directory)
        } catch {
            throw Failure(step: "replaced \(path), but syncing its directory failed", posix: error)
        }
    }

    /// Creates `directory` and its missing parents with `mode` (no error if it exists).
    package static func makeDirectories(_ directory: String, mode: UInt16 = 0o700) throws(Failure) {
        do throws(POSIXFile.Failure) {
            if let existing = try POSIXFile.pathStatus(directory) {
                guard existing & POSIXFile.typeMask == POSIXFile.directoryType else {
                    throw POSIXFile.Failure(operation: "mkdir", code: ENOTDIR)
                }
                return
            }
        } catch {
            throw Failure(step: "cannot create directory \(directory)", posix: error)
        }
        let parent = (directory as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != directory { try makeDirectories(parent, mode: mode) }
        do throws(POSIXFile.Failure) {
            _ = try POSIXFile.makeDirectory(directory, mode: mode)
        } catch {
            throw Failure(step: "cannot create directory \(directory)", posix: error)
        }
    }

    /// Runs `body` holding an exclusive `flock` on `<path>.lock` (shared across processes
    /// and across handles in this one). Cancellation is not observed while waiting.
    package static func withLock<T: Sendable>(_ path: String, _ body: () async throws -> T) async throws -> T {
        let lock: FileLock
        do throws(POSIXFile.Failure) {
            lock = try await FileLock.acquire(path: path + ".lock", mode: 0o600)
        } catch {
            throw Failure(step: "cannot lock \(path).lock", posix: error)
        }
        defer { lock.release() }
        return try await body()
    }

    /// Removes `path`; `false` when it did not exist.
    package static func remove(_ path: String) throws(Failure) -> Bool {
        do throws(POSIXFile.Failure) {
            return try POSIXFile.unlink(path)
        } catch {
            throw Failure(step: "cannot remove \(path)", posix: error)
        }
    }

    /// `.<file>.<pid>-<16 hex digits>.tmp`.
    static func defaultTemporaryName(for file: String) -> String {
        let random = String(UInt64.random(in: .min ... .max), radix: 16)
        return ".\(file).\(POSIXFile.processID)-\(String(repeating: "0", count: 16 - random.count))\(random).tmp"
    }
}
