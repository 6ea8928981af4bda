#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation

/// An exclusive `flock(2)` on a lock file, held through its own open file description.
///
/// Each ``acquire(path:mode:)`` opens the file anew, so two acquisitions conflict even
/// inside one process (two ``FileStateStore`` instances on one directory) as well as
/// across processes. The descriptor is `O_CLOEXEC`, so child processes never inherit
/// the lock. A contended lock is waited for on a dedicated thread, never on Swift's
/// cooperative pool.
struct FileLock: Sendable {
    /// The locked descriptor.
    let descriptor: Int32

    /// Opens (creating with `mode`) the lock file at `path` and waits for `LOCK_EX`.
    /// `onContention` runs before waiting when another open file description holds the
    /// lock. Cancellation is not observed while waiting.
    static func acquire(path: String, mode: UInt16, onContention: () -> Void = {}) async throws(POSIXFile.Failure) -> FileLock {
        let fd = try POSIXFile.open(path, O_RDWR | O_CREAT, mode: mode)
        do throws(POSIXFile.Failure) {
            if try POSIXFile.lock(fd, LOCK_EX | LOCK_NB) { return FileLock(descriptor: fd) }
        } catch {
            POSIXFile.closeQuietly(fd)
            throw error
        }
        onContention()
        let outcome = await waitOnThread(fd)
        if case .failure(let failure) = outcome {
            POSIXFile.closeQuietly(fd)
            throw failure
        }
        return FileLock(descriptor: fd)
    }

    /// Unlocks and closes the descriptor. Closing alone would release the lock too;
    /// the explicit `LOCK_UN` keeps it explicit. Errors are ignored: there is nothing a
    /// caller could do, and the close releases the lock regardless.
    func release() {
        _ = try? POSIXFile.lock(descriptor, LOCK_UN)
        POSIXFile.closeQuietly(descriptor)
    }

    /// Runs the blocking `flock(LOCK_EX)` on a new thread and resumes when it returns.
    private static func waitOnThread(_ fd: Int32) async -> Result<Void, POSIXFile.Failure> {
        await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, POSIXFile.Failure>, Never>) in
            let thread = Thread {
                do throws(POSIXFile.Failure) {
                    _ = try POSIXFile.lock(fd, LOCK_EX)
                    continuation.resume(returning: .success(()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
            thread.name = "ChannelKit.FileLock"
            thread.start()
        }
    }
}
