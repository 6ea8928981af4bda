#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation

/// Thin wrappers over the POSIX calls ``FileStateStore`` needs: retried on `EINTR`,
/// returning or throwing the `errno` value so callers can name the path and the cause.
enum POSIXFile {
    /// A failed system call: the call's name and its `errno`.
    struct Failure: Error, Sendable, CustomStringConvertible {
        /// The failing operation, e.g. `"open"`.
        let operation: String
        /// The `errno` value.
        let code: Int32

        /// `strerror` text for ``code``.
        var reason: String { POSIXFile.errorText(code) }
        var description: String { "\(operation): \(reason) (errno \(code))" }
    }

    /// File-type bits of `st_mode` (spelled out: not every platform overlay imports the macros).
    static let typeMask: UInt32 = 0o170000
    /// `S_IFREG`.
    static let regularFileType: UInt32 = 0o100000
    /// `S_IFDIR`.
    static let directoryType: UInt32 = 0o040000

    /// `strerror(code)` as a Swift string.
    static func errorText(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }

    /// `open(2)` with `O_CLOEXEC`, retried on `EINTR`.
    static func open(_ path: String, _ flags: Int32, mode: UInt16 = 0) throws(Failure) -> Int32 {
        while true {
            let fd = path.withCString { Glue.open($0, flags | O_CLOEXEC, mode_t(mode)) }
            if fd >= 0 { return fd }
            let code = errno
            if code != EINTR { throw Failure(operation: "open", code: code) }
        }
    }

    /// `close(2)`. `EINTR` is not retried (the descriptor is gone either way on Linux and Darwin).
    static func close(_ fd: Int32) throws(Failure) {
        if Glue.close(fd) != 0 {
            let code = errno
            if code != EINTR { throw Failure(operation: "close", code: code) }
        }
    }

    /// Closes a descriptor on an error path, ignoring failures.
    static func closeQuietly(_ fd: Int32) { _ = Glue.close(fd) }

    /// Mode, file type and size of an open descriptor.
    static func status(_ fd: Int32) throws(Failure) -> (mode: UInt32, size: Int) {
        var info = stat()
        if fstat(fd, &info) != 0 { throw Failure(operation: "fstat", code: errno) }
        return (UInt32(info.st_mode), Int(info.st_size))
    }

    /// Mode and file type of a path (following symlinks), or `nil` when it does not exist.
    static func pathStatus(_ path: String) throws(Failure) -> UInt32? {
        var info = stat()
        let rc = path.withCString { stat($0, &info) }
        if rc == 0 { return UInt32(info.st_mode) }
        let code = errno
        if code == ENOENT { return nil }
        throw Failure(operation: "stat", code: code)
    }

    /// Reads the whole file from the current offset, handling short reads and `EINTR`.
    static func readAll(_ fd: Int32, sizeHint: Int) throws(Failure) -> Data {
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: max(4096, min(sizeHint + 1, 1 << 20)))
        while true {
            let count = chunk.withUnsafeMutableBytes { Glue.read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                data.append(contentsOf: chunk[0..<count])
            } else if count == 0 {
                return data
            } else {
                let code = errno
                if code != EINTR { throw Failure(operation: "read", code: code) }
            }
        }
    }

    /// Writes all of `data`, handling partial writes and `EINTR`.
    static func writeAll(_ fd: Int32, _ data: Data) throws(Failure) {
        let failure: Failure? = data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) -> Failure? in
            guard var pointer = buffer.baseAddress else { return nil }
            var remaining = buffer.count
            while remaining > 0 {
                let written = Glue.write(fd, pointer, remaining)
                if written > 0 {
                    pointer += written
                    remaining -= written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    // write(2) returning 0 for a non-empty buffer should not happen; treat as ENOSPC.
                    return Failure(operation: "write", code: written == 0 ? ENOSPC : errno)
                }
            }
            return nil
        }
        if let failure { throw failure }
    }

    /// Flushes a descriptor to stable storage (`F_FULLFSYNC` on Darwin, falling back to
    /// `fsync`). `EINVAL` (descriptor does not support syncing, e.g. some directories)
    /// is ignored when `allowUnsupported` is set.
    static func sync(_ fd: Int32, allowUnsupported: Bool = false) throws(Failure) {
        #if canImport(Darwin)
        if fcntl(fd, F_FULLFSYNC) == 0 { return }
        #endif
        while fsync(fd) != 0 {
            let code = errno
            if code == EINTR { continue }
            if allowUnsupported && (code == EINVAL || code == ENOTSUP) { return }
            throw Failure(operation: "fsync", code: code)
        }
    }

    /// Opens a directory read-only and flushes it, so a rename or new entry inside survives a crash.
    static func syncDirectory(_ path: String) throws(Failure) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { closeQuietly(fd) }
        try sync(fd, allowUnsupported: true)
    }

    /// `fchmod(2)`.
    static func changeMode(_ fd: Int32, _ mode: UInt16) throws(Failure) {
        if fchmod(fd, mode_t(mode)) != 0 { throw Failure(operation: "fchmod", code: errno) }
    }

    /// `rename(2)`.
    static func rename(_ from: String, _ to: String) throws(Failure) {
        let rc = from.withCString { f in to.withCString { t in Glue.rename(f, t) } }
        if rc != 0 { throw Failure(operation: "rename", code: errno) }
    }

    /// `unlink(2)`; returns `false` when the file did not exist.
    @discardableResult
    static func unlink(_ path: String) throws(Failure) -> Bool {
        if path.withCString({ Glue.unlink($0) }) == 0 { return true }
        let code = errno
        if code == ENOENT { return false }
        throw Failure(operation: "unlink", code: code)
    }

    /// `mkdir(2)`; returns `false` when something already exists at `path`.
    static func makeDirectory(_ path: String, mode: UInt16) throws(Failure) -> Bool {
        if path.withCString({ mkdir($0, mode_t(mode)) }) == 0 { return true }
        let code = errno
        if code == EEXIST { return false }
        throw Failure(operation: "mkdir", code: code)
    }

    /// `chmod(2)`.
    static func changeMode(path: String, _ mode: UInt16) throws(Failure) {
        if path.withCString({ chmod($0, mode_t(mode)) }) != 0 { throw Failure(operation: "chmod", code: errno) }
    }

    /// `flock(2)`, retried on `EINTR`. Returns `false` when `LOCK_NB` was given and the
    /// lock is held elsewhere.
    static func lock(_ fd: Int32, _ operation: Int32) throws(Failure) -> Bool {
        while flock(fd, operation) != 0 {
            let code = errno
            if code == EINTR { continue }
            if code == EWOULDBLOCK && operation & LOCK_NB != 0 { return false }
            throw Failure(operation: "flock", code: code)
        }
        return true
    }

    /// The current process id.
    static var processID: Int32 { Int32(getpid()) }
}

/// The libc functions whose names clash with ``POSIXFile``'s members.
private enum Glue {
    #if canImport(Darwin)
    static func open(_ path: UnsafePointer<CChar>, _ flags: Int32, _ mode: mode_t) -> Int32 {
        Darwin.open(path, flags, mode)
    }
    static func close(_ fd: Int32) -> Int32 { Darwin.close(fd) }
    static func read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
        Darwin.read(fd, buffer, count)
    }
    static func write(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
        Darwin.write(fd, buffer, count)
    }
    static func rename(_ from: UnsafePointer<CChar>, _ to: UnsafePointer<CChar>) -> Int32 {
        Darwin.rename(from, to)
    }
    static func unlink(_ path: UnsafePointer<CChar>) -> Int32 { Darwin.unlink(path) }
    #elseif canImport(Glibc)
    static func open(_ path: UnsafePointer<CChar>, _ flags: Int32, _ mode: mode_t) -> Int32 {
        Glibc.open(path, flags, mode)
    }
    static func close(_ fd: Int32) -> Int32 { Glibc.close(fd) }
    static func read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
        Glibc.read(fd, buffer, count)
    }
    static func write(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
        Glibc.write(fd, buffer, count)
    }
    static func rename(_ from: UnsafePointer<CChar>, _ to: UnsafePointer<CChar>) -> Int32 {
        Glibc.rename(from, to)
    }
    static func unlink(_ path: UnsafePointer<CChar>) -> Int32 { Glibc.unlink(path) }
    #elseif canImport(Musl)
    static func open(_ path: UnsafePointer<CChar>, _ flags: Int32, _ mode: mode_t) -> Int32 {
        Musl.open(path, flags, mode)
    }
    static func close(_ fd: Int32) -> Int32 { Musl.close(fd) }
    static func read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
        Musl.read(fd, buffer, count)
    }
    static func write(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
        Musl.write(fd, buffer, count)
    }
    static func rename(_ from: UnsafePointer<CChar>, _ to: UnsafePointer<CChar>) -> Int32 {
        Musl.rename(from, to)
    }
    static func unlink(_ path: UnsafePointer<CChar>) -> Int32 { Musl.unlink(path) }
    #endif
}
