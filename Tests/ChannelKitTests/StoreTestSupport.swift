#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import Synchronization
import Testing

/// Helpers for ``FileStateStoreTests``: temporary directories, raw file access, one-shot
/// signals and child processes of the `channelkit` executable.
enum StoreTestSupport {
    /// Runs `body` with a fresh, empty directory under the system temporary directory,
    /// removed afterwards.
    static func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("ChannelKit-FileStateStoreTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: url) }
        return try await body(url)
    }

    /// Permission bits (`st_mode & 0o7777`) of `path`, following symlinks.
    static func mode(_ path: String) throws -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        return Int(info.st_mode & 0o7777)
    }

    /// Writes `data` to `path` (not atomically) and sets its permission bits.
    static func writeRaw(_ data: Data, to path: String, mode: Int = 0o600) throws {
        try data.write(to: URL(fileURLWithPath: path))
        try setMode(path, mode)
    }

    /// `chmod(path, mode)`.
    static func setMode(_ path: String, _ mode: Int) throws {
        guard chmod(path, mode_t(mode)) == 0 else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
    }

    /// The bytes of `path`.
    static func read(_ path: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: path))
    }

    /// Every regular file below `directory`, as absolute paths.
    static func allFiles(under directory: URL) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: directory.path) else { return [] }
        var files: [String] = []
        while let relative = enumerator.nextObject() as? String {
            let path = directory.path + "/" + relative
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                files.append(path)
            }
        }
        return files.sorted()
    }

    /// `true` when another open file description holds an exclusive lock on `path`
    /// (probed with `flock(LOCK_EX | LOCK_NB)` on a fresh descriptor).
    static func isLocked(_ path: String) -> Bool {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return false
        }
        return true
    }

    /// The longest path the platform accepts, plus one (`PATH_MAX`).
    static var pathMax: Int {
        #if os(Linux)
        4096
        #else
        1024
        #endif
    }

    /// Locates the `channelkit` executable built next to the test bundle.
    ///
    /// Looks beside (and up to four levels above) `/proc/self/exe`, the main and test
    /// bundles and `argv[0]`, which covers `.build/<triple>/debug/` on Linux and the
    /// `.xctest` bundle layout on Apple platforms.
    static func channelkitExecutable() throws -> URL {
        var starts: [URL] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            starts.append(URL(fileURLWithPath: exe))
        }
        starts.append(Bundle.main.bundleURL)
        if let executable = Bundle.main.executableURL { starts.append(executable) }
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            starts.append(bundle.bundleURL)
        }
        if let argument0 = CommandLine.arguments.first {
            starts.append(URL(fileURLWithPath: argument0).standardizedFileURL)
        }
        var looked: [String] = []
        for start in starts {
            var directory = start
            for _ in 0..<5 {
                let candidate = directory.appendingPathComponent("channelkit")
                looked.append(candidate.path)
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory),
                   !isDirectory.boolValue, FileManager.default.isExecutableFile(atPath: candidate.path) {
                    return candidate
                }
                directory = directory.deletingLastPathComponent()
            }
        }
        throw ExecutableNotFound(looked: looked)
    }

    struct ExecutableNotFound: Error, CustomStringConvertible {
        let looked: [String]
        var description: String {
            "the channelkit executable was not built next to the test bundle; run `swift build --product channelkit` "
                + "(or `swift build --build-tests`) first. Looked at: \(looked.joined(separator: ", "))"
        }
    }
}

/// A one-shot signal: ``wait()`` suspends until ``fire()`` was called (before or after).
final class Signal: Sendable {
    private let state = Mutex<(fired: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// Wakes every current and future waiter.
    func fire() {
        let waiters = state.withLock { state in
            state.fired = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// `true` once ``fire()`` has been called.
    var isFired: Bool { state.withLock { $0.fired } }

    /// Suspends until ``fire()`` has been called.
    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let fired = state.withLock { state in
                if !state.fired { state.waiters.append(continuation) }
                return state.fired
            }
            if fired { continuation.resume() }
        }
    }
}

/// A thread-safe, ordered record of events.
final class EventLog: Sendable {
    private let events = Mutex<[String]>([])
    func append(_ event: String) { events.withLock { $0.append(event) } }
    var all: [String] { events.withLock { $0 } }
}

/// A running child process (the `channelkit` binary, a Python peer) with piped stdin and
/// stdout. Its stdout is read on a dedicated thread and delivered line by line.
///
/// Started with `posix_spawn` rather than Foundation's `Process`: on this toolchain
/// `Process.run()` over-reads `/proc/self/fd` dirents (swift-corelibs-foundation #5472)
/// and crashed about one full parallel test run in twenty. Every descriptor above 2 is
/// closed in the child (`posix_spawn_file_actions_addclosefrom_np`), as `Process` does.
final class ChildProcess {
    /// The child's process id.
    let processIdentifier: pid_t
    /// `child.process.processIdentifier` reads as with Foundation's `Process`.
    var process: ChildProcess { self }
    private let stdinWrite: Int32
    /// Set once the child has been reaped.
    private final class ExitFlag: Sendable {
        let value = Mutex(false)
    }
    private let exited = ExitFlag()
    private var lines: AsyncStream<String>.Iterator
    private var errorLines: AsyncStream<String>.Iterator
    private var exits: AsyncStream<Int32>.Iterator
    private let linesContinuation: AsyncStream<String>.Continuation

    struct SpawnFailure: Error, CustomStringConvertible {
        let what: String
        let code: Int32
        var description: String { "\(what): \(String(cString: strerror(code)))" }
    }

    /// Starts `executable` with `arguments`. Stderr is inherited, unless
    /// `captureStandardError` is set: then its lines are read by ``nextErrorLine()``.
    /// `environment` adds variables for the child only: tests never `setenv` (that
    /// reallocates `environ` while another thread may be reading it).
    init(_ executable: URL, _ arguments: [String], captureStandardError: Bool = false, environment: [String: String] = [:]) throws {
        let (lineStream, lineContinuation) = AsyncStream.makeStream(of: String.self)
        let (exitStream, exitContinuation) = AsyncStream.makeStream(of: Int32.self)
        let (errorStream, errorContinuation) = AsyncStream.makeStream(of: String.self)
        lines = lineStream.makeAsyncIterator()
        exits = exitStream.makeAsyncIterator()
        errorLines = errorStream.makeAsyncIterator()
        linesContinuation = lineContinuation

        func makePipe() throws -> (read: Int32, write: Int32) {
            var fds: [Int32] = [-1, -1]
            guard pipe(&fds) == 0 else { throw SpawnFailure(what: "pipe", code: errno) }
            // Close-on-exec for other spawns (children also close every fd above 2).
            _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
            return (fds[0], fds[1])
        }
        let stdinPipe = try makePipe()
        let stdoutPipe = try makePipe()
        let stderrPipe = captureStandardError ? try makePipe() : nil

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe.read, 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe.write, 1)
        if let stderrPipe { posix_spawn_file_actions_adddup2(&actions, stderrPipe.write, 2) }
        if let closeFrom = Self.closeFrom { _ = closeFrom(&actions, 3) }

        let argv = ([executable.path] + arguments).map { strdup($0) } + [nil]
        let variables = ProcessInfo.processInfo.environment.merging(environment) { _, added in added }
        let envp = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable.path, &actions, nil, argv, envp)
        close(stdinPipe.read)
        close(stdoutPipe.write)
        if let stderrPipe { close(stderrPipe.write) }
        guard rc == 0 else {
            close(stdinPipe.write)
            close(stdoutPipe.read)
            if let stderrPipe { close(stderrPipe.read) }
            throw SpawnFailure(what: "posix_spawn \(executable.path)", code: rc)
        }
        processIdentifier = pid
        stdinWrite = stdinPipe.write

        Self.readLines(stdoutPipe.read, into: lineContinuation)
        if let stderrPipe { Self.readLines(stderrPipe.read, into: errorContinuation) } else { errorContinuation.finish() }
        let exited = self.exited
        let childPID = pid
        Thread {
            var status: Int32 = 0
            while waitpid(childPID, &status, 0) < 0 && errno == EINTR {}
            exited.value.withLock { $0 = true }
            // Exit code, or the signal number when killed (as `Process.terminationStatus`).
            let signal = status & 0x7f
            exitContinuation.yield(signal == 0 ? (status >> 8) & 0xff : signal)
            exitContinuation.finish()
        }.start()
    }

    /// `posix_spawn_file_actions_addclosefrom_np` (glibc ≥ 2.34), looked up at run time.
    private static let closeFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32).self)
    }()

    /// Reads `handle` on a dedicated thread, one `read(2)` per chunk, yielding lines.
    private static func readLines(_ descriptor: Int32, into continuation: AsyncStream<String>.Continuation) {
        Thread {
            var buffer = Data()
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                // One read(2) per chunk: FileHandle.read(upToCount:) would wait for a full chunk.
                let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                buffer.append(contentsOf: chunk[0..<count])
                while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    continuation.yield(String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self))
                    buffer.removeSubrange(buffer.startIndex...newline)
                }
            }
            close(descriptor)
            continuation.finish()
        }.start()
    }

    deinit {
        // Never leave a child behind when a test fails early.
        if !exited.value.withLock({ $0 }) { killAbruptly() }
        close(stdinWrite)
    }

    /// The next line the child printed, or `nil` once its stdout closed.
    func nextLine() async -> String? { await lines.next() }

    /// The next line the child wrote to stderr (when captured), or `nil` once it closed.
    func nextErrorLine() async -> String? { await errorLines.next() }

    /// Writes a line to the child's stdin.
    func send(_ line: String) throws {
        let bytes = Array((line + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(stdinWrite, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SpawnFailure(what: "write to the child's stdin", code: errno)
            }
            offset += n
        }
    }

    /// Sends SIGKILL.
    func killAbruptly() {
        _ = kill(processIdentifier, SIGKILL)
    }

    /// Waits for the child to exit; returns its status (the signal number when killed).
    func waitForExit() async -> Int32? {
        let status = await exits.next()
        linesContinuation.finish()
        return status
    }
}
