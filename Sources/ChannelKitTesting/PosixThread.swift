#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// A joinable POSIX thread (Foundation's `Thread` cannot be joined, so a test could not
/// prove that a server's thread is gone after shutdown).
///
/// Create it, then ``start(_:)`` it once; end with exactly one of ``join()`` or
/// ``detach()``.
final class PosixThread: Sendable {
    private final class Body {
        let name: String
        let run: @Sendable () -> Void
        init(name: String, run: @escaping @Sendable () -> Void) {
            self.name = name
            self.run = run
        }
    }

    private let name: String
    private let handle = Mutex<pthread_t?>(nil)

    /// A thread named `name` (shown in debuggers and `/proc`; Linux keeps 15 bytes).
    init(name: String) { self.name = name }

    /// Starts the thread running `run`.
    /// - Throws: ``LoopbackTCPError/system(operation:errno:)`` if `pthread_create` fails.
    func start(_ run: @escaping @Sendable () -> Void) throws {
        let body = Unmanaged.passRetained(Body(name: name, run: run))
        #if canImport(Darwin)
        var created: pthread_t?
        let result = pthread_create(&created, nil, { raw in
            PosixThread.main(raw)
            return nil
        }, body.toOpaque())
        #elseif canImport(Musl)
        var created: pthread_t?
        let result = pthread_create(&created, nil, { raw in
            if let raw { PosixThread.main(raw) }
            return nil
        }, body.toOpaque())
        #else
        var created = pthread_t()
        let result = pthread_create(&created, nil, { raw in
            if let raw { PosixThread.main(raw) }
            return nil
        }, body.toOpaque())
        #endif
        guard result == 0 else {
            body.release()
            throw LoopbackTCPError.system(operation: "pthread_create", errno: result)
        }
        handle.withLock { $0 = created }
    }

    private static func main(_ raw: UnsafeMutableRawPointer) {
        let body = Unmanaged<Body>.fromOpaque(raw).takeRetainedValue()
        // Foundation names the OS thread only when the thread names itself.
        Thread.current.name = body.name
        body.run()
    }

    /// Waits for the thread to end and reaps it. At most once (with ``detach()``).
    func join() {
        guard let thread = take() else { return }
        _ = pthread_join(thread, nil)
    }

    /// Lets the system reap the thread when it ends. At most once (with ``join()``).
    func detach() {
        guard let thread = take() else { return }
        _ = pthread_detach(thread)
    }

    private func take() -> pthread_t? {
        handle.withLock { h in
            defer { h = nil }
            return h
        }
    }
}
