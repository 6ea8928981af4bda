import Foundation
import Synchronization

/// A TCP server on `127.0.0.1` with an ephemeral port, for tests: accepts connections
/// and runs a handler per connection with async byte I/O (``LoopbackTCPConnection``).
///
/// The core of ``LoopbackHTTPServer`` and of any other loopback protocol server (e.g. a
/// WebSocket server: parse the upgrade request, write `101`, then exchange frames on
/// the same connection). One `poll()` thread per server multiplexes all its sockets;
/// handlers run as child tasks of the server's accept task.
///
/// ```swift
/// let server = try LoopbackTCPServer { connection in
///     while let line = try? await connection.read(until: [10], maxBytes: 1024) {
///         try? await connection.write(line)          // echo
///     }
/// }
/// defer { Task { await server.shutdown() } }
/// ```
///
/// Call ``shutdown()`` when done: it closes the listener and every connection, waits
/// for every handler to return and for the poll thread to exit, so nothing leaks.
public final class LoopbackTCPServer: Sendable {
    /// Settings of a server.
    public struct Configuration: Sendable {
        /// The `listen` backlog. Defaults to 128.
        public var backlog: Int32
        /// The poll thread's name (shown in debuggers). Defaults to `"LoopbackTCPServer"`.
        public var threadName: String

        /// Creates a configuration; every parameter has the default documented on its
        /// property.
        public init(backlog: Int32 = 128, threadName: String = "LoopbackTCPServer") {
            self.backlog = backlog
            self.threadName = threadName
        }
    }

    private struct State {
        var connections: [Int: LoopbackTCPConnection] = [:]
        var nextID = 0
        var accepted = 0
        var shuttingDown = false
        var acceptTask: Task<Void, Never>?
    }

    /// The port the server listens on (on `127.0.0.1`).
    public let port: Int
    private let listener: LoopbackSocket
    private let poller: LoopbackPoller
    private let state = Mutex(State())

    /// Binds `127.0.0.1:0`, listens and starts accepting.
    /// - Parameters:
    ///   - configuration: Settings. Defaults to ``Configuration/init(backlog:threadName:)``.
    ///   - handler: Runs once per accepted connection, as a child task of the server.
    ///     The connection is closed when it returns. It must return once the
    ///     connection closes (reads and writes then throw) or its task is cancelled —
    ///     ``shutdown()`` waits for it.
    /// - Throws: ``LoopbackTCPError/system(operation:errno:)`` if the socket cannot be set up.
    public init(configuration: Configuration = Configuration(),
                handler: @escaping @Sendable (LoopbackTCPConnection) async -> Void) throws {
        let poller = try LoopbackPoller(name: configuration.threadName)
        let (fd, socketErrno) = Posix.tcpSocket()
        guard fd >= 0 else {
            poller.stop()
            throw LoopbackTCPError.system(operation: "socket", errno: socketErrno)
        }
        let listener = LoopbackSocket(fd: fd, poller: poller)
        func fail(_ operation: String, _ code: Int32) -> LoopbackTCPError {
            listener.close()
            poller.stop()
            return .system(operation: operation, errno: code)
        }
        let bound = Posix.bind(fd, port: 0)
        guard bound.result == 0 else { throw fail("bind", bound.errno) }
        let listening = Posix.listen(fd, backlog: configuration.backlog)
        guard listening.result == 0 else { throw fail("listen", listening.errno) }
        guard let port = Posix.localPort(fd) else { throw fail("getsockname", errno) }
        self.port = Int(port)
        self.listener = listener
        self.poller = poller
        let task = Task { [self] in await self.acceptLoop(handler) }
        state.withLock { $0.acceptTask = task }
    }

    /// Connections open right now.
    public var openConnectionCount: Int { state.withLock { $0.connections.count } }

    /// Connections accepted since the server started.
    public var acceptedConnectionCount: Int { state.withLock { $0.accepted } }

    /// Stops accepting, closes every connection, waits for every handler to return and
    /// for the poll thread to exit. Idempotent; concurrent callers all wait.
    public func shutdown() async {
        let (task, connections) = state.withLock { s in
            s.shuttingDown = true
            return (s.acceptTask, Array(s.connections.values))
        }
        listener.close()
        for connection in connections { connection.close() }
        task?.cancel()
        await task?.value
        poller.stop(join: true)
        await poller.join()
    }

    private func acceptLoop(_ handler: @escaping @Sendable (LoopbackTCPConnection) async -> Void) async {
        await withDiscardingTaskGroup { group in
            while true {
                guard let (fd, code) = listener.withDescriptor({ Posix.accept($0) }) else { break }
                if fd >= 0 {
                    let connection = state.withLock { s -> LoopbackTCPConnection? in
                        guard !s.shuttingDown else { return nil }
                        s.nextID += 1
                        s.accepted += 1
                        let connection = LoopbackTCPConnection(id: s.nextID, socket: LoopbackSocket(fd: fd, poller: poller), ownsPoller: false)
                        s.connections[connection.id] = connection
                        return connection
                    }
                    guard let connection else {
                        Posix.close(fd)
                        break
                    }
                    group.addTask {
                        await handler(connection)
                        connection.close()
                        _ = self.state.withLock { $0.connections.removeValue(forKey: connection.id) }
                    }
                } else if code == Posix.wouldBlock {
                    do { try await listener.wait(for: Posix.pollIn) } catch { break }
                } else if code == Posix.interrupted || code == ECONNABORTED {
                    continue
                } else {
                    // EMFILE and friends: stop accepting rather than spin.
                    break
                }
            }
        }
    }
}
