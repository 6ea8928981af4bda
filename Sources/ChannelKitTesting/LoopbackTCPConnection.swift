import Foundation
import Synchronization

/// One TCP connection of a loopback server (or a test client made with
/// ``connect(port:)``), with async reads and writes over a non-blocking socket and a
/// read-ahead buffer.
///
/// Protocol layers build on it: ``LoopbackHTTPServer`` reads request heads with
/// ``read(until:maxBytes:)``; a WebSocket test server can take the same connection over
/// after the upgrade request (bytes already read ahead stay in the buffer) and speak
/// frames with ``read(exactly:)`` and ``write(_:)``.
///
/// Read from one task at a time; writing from another task concurrently is fine.
/// Every wait ends when the connection closes (``LoopbackTCPError/closed``) or the
/// calling task is cancelled (`CancellationError`).
public final class LoopbackTCPConnection: Sendable {
    private struct ReadBuffer {
        var bytes: [UInt8] = []
        var start = 0
        var count: Int { bytes.count - start }

        mutating func take(_ n: Int) -> Data {
            let data = Data(bytes[start..<(start + n)])
            start += n
            if start == bytes.count {
                bytes.removeAll(keepingCapacity: true)
                start = 0
            } else if start > 65536 && start * 2 > bytes.count {
                bytes.removeFirst(start)
                start = 0
            }
            return data
        }

        /// The offset (from `start`) just past the first `delimiter` at or after `from`.
        func end(of delimiter: [UInt8], from: Int) -> Int? {
            let n = delimiter.count
            guard n > 0, count >= n else { return nil }
            var i = start + max(0, from)
            let last = bytes.count - n
            while i <= last {
                if bytes[i] == delimiter[0] {
                    var j = 1
                    while j < n && bytes[i + j] == delimiter[j] { j += 1 }
                    if j == n { return i + n - start }
                }
                i += 1
            }
            return nil
        }
    }

    /// A number unique within its server, from 1 in accept order (0 for a client).
    public let id: Int
    let socket: LoopbackSocket
    private let buffer = Mutex(ReadBuffer())
    private let ownsPoller: Bool

    init(id: Int, socket: LoopbackSocket, ownsPoller: Bool) {
        self.id = id
        self.socket = socket
        self.ownsPoller = ownsPoller
    }

    deinit {
        socket.close()
        if ownsPoller { socket.poller.stop() }
    }

    /// Opens a client connection to `127.0.0.1:port`, with its own poll thread (ended by
    /// ``close()``/``abort()``). For raw-protocol tests against loopback servers.
    /// - Throws: ``LoopbackTCPError/system(operation:errno:)`` (e.g. connection refused).
    public static func connect(port: Int) async throws -> LoopbackTCPConnection {
        guard let port = UInt16(exactly: port) else { throw LoopbackTCPError.system(operation: "connect", errno: EINVAL) }
        let poller = try LoopbackPoller(name: "LoopbackTCPClient")
        let (fd, err) = Posix.tcpSocket()
        guard fd >= 0 else {
            poller.stop()
            throw LoopbackTCPError.system(operation: "socket", errno: err)
        }
        let connection = LoopbackTCPConnection(id: 0, socket: LoopbackSocket(fd: fd, poller: poller), ownsPoller: true)
        do {
            let (result, code) = connection.socket.withDescriptor { Posix.connect($0, port: port) } ?? (-1, EBADF)
            if result != 0 {
                guard code == Posix.inProgress else { throw LoopbackTCPError.system(operation: "connect", errno: code) }
                try await connection.socket.wait(for: Posix.pollOut)
                let pending = connection.socket.withDescriptor { Posix.socketError($0) } ?? EBADF
                if pending != 0 { throw LoopbackTCPError.system(operation: "connect", errno: pending) }
            }
            return connection
        } catch {
            connection.close()
            throw error
        }
    }

    /// `false` once closed on our side.
    public var isOpen: Bool { socket.isOpen }

    /// Bytes read ahead and not yet returned.
    public var bufferedByteCount: Int { buffer.withLock { $0.count } }

    // MARK: Reading

    /// Reads more bytes into the buffer; `false` at end of stream.
    private func fill() async throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let outcome = chunk.withUnsafeMutableBytes { raw in
                socket.withDescriptor { Posix.receive($0, into: raw) }
            }
            guard let (count, code) = outcome else { throw LoopbackTCPError.closed }
            if count > 0 {
                buffer.withLock { $0.bytes.append(contentsOf: chunk[0..<count]) }
                return true
            }
            if count == 0 { return false }
            if code == Posix.wouldBlock {
                try await socket.wait(for: Posix.pollIn)
            } else if code != Posix.interrupted {
                throw LoopbackTCPError.system(operation: "recv", errno: code)
            }
        }
    }

    /// Returns what is buffered, or waits for the next bytes: at most `maxBytes`.
    /// - Parameter maxBytes: The most bytes to return. Defaults to 65536.
    /// - Returns: The bytes; empty at end of stream.
    public func read(upTo maxBytes: Int = 65536) async throws -> Data {
        let limit = max(1, maxBytes)
        while true {
            let data = buffer.withLock { b -> Data? in b.count > 0 ? b.take(min(limit, b.count)) : nil }
            if let data { return data }
            if try await !fill() { return Data() }
        }
    }

    /// Reads exactly `count` bytes.
    /// - Throws: ``LoopbackTCPError/unexpectedEndOfStream`` if the peer closes first.
    public func read(exactly count: Int) async throws -> Data {
        guard count > 0 else { return Data() }
        while true {
            let data = buffer.withLock { b -> Data? in b.count >= count ? b.take(count) : nil }
            if let data { return data }
            if try await !fill() { throw LoopbackTCPError.unexpectedEndOfStream }
        }
    }

    /// Reads through the first occurrence of `delimiter` (included in the result).
    /// - Parameters:
    ///   - delimiter: The bytes to find, e.g. `\r\n\r\n`.
    ///   - maxBytes: The most bytes to buffer while looking, delimiter included.
    /// - Returns: The bytes, or `nil` if the peer closed before sending any.
    /// - Throws: ``LoopbackTCPError/limitExceeded(_:)`` when `maxBytes` arrive without the
    ///   delimiter (the bytes stay buffered); ``LoopbackTCPError/unexpectedEndOfStream``
    ///   when the peer closes mid-way.
    public func read(until delimiter: [UInt8], maxBytes: Int) async throws -> Data? {
        var searched = 0
        while true {
            enum Step { case found(Data), exceeded, more(Int) }
            let step = buffer.withLock { b -> Step in
                if let end = b.end(of: delimiter, from: searched) {
                    return end <= maxBytes ? .found(b.take(end)) : .exceeded
                }
                if b.count >= maxBytes { return .exceeded }
                return .more(max(0, b.count - delimiter.count + 1))
            }
            switch step {
            case .found(let data): return data
            case .exceeded: throw LoopbackTCPError.limitExceeded(maxBytes)
            case .more(let next): searched = next
            }
            if try await !fill() {
                if bufferedByteCount == 0 { return nil }
                throw LoopbackTCPError.unexpectedEndOfStream
            }
        }
    }

    /// Reads and discards until the peer closes (or the connection is closed here).
    /// Use it to notice that a client gave up on a request.
    public func waitForPeerClose() async {
        while true {
            buffer.withLock { b in _ = b.take(b.count) }
            do {
                if try await !fill() { return }
            } catch {
                return
            }
        }
    }

    // MARK: Writing

    /// Writes all of `data`, waiting while the socket buffer is full.
    /// - Throws: ``LoopbackTCPError/closed`` or ``LoopbackTCPError/system(operation:errno:)``
    ///   (e.g. `EPIPE`, `ECONNRESET` when the peer went away).
    public func write(_ data: Data) async throws {
        var offset = 0
        while offset < data.count {
            let outcome = data.withUnsafeBytes { raw in
                socket.withDescriptor { Posix.send($0, UnsafeRawBufferPointer(rebasing: raw[offset...])) }
            }
            guard let (count, code) = outcome else { throw LoopbackTCPError.closed }
            if count >= 0 {
                offset += count
            } else if code == Posix.wouldBlock {
                try await socket.wait(for: Posix.pollOut)
            } else if code != Posix.interrupted {
                throw LoopbackTCPError.system(operation: "send", errno: code)
            }
        }
    }

    /// Writes `bytes`; see ``write(_:)``.
    public func write(_ bytes: [UInt8]) async throws { try await write(Data(bytes)) }

    /// Writes `text` as UTF-8; see ``write(_:)``.
    public func write(_ text: String) async throws { try await write(Data(text.utf8)) }

    // MARK: Closing

    /// Sends FIN (no more writes from us) and keeps reading.
    public func shutdownWrite() { socket.shutdownWrite() }

    /// Closes the connection gracefully (FIN). Pending reads and writes fail with
    /// ``LoopbackTCPError/closed``. Idempotent.
    public func close() {
        socket.close()
        if ownsPoller { socket.poller.stop() }
    }

    /// Drops the connection abruptly: the peer sees a reset (RST), not an orderly close.
    public func abort() {
        socket.close(reset: true)
        if ownsPoller { socket.poller.stop() }
    }
}
