import CChannelKitShims
import Foundation
import ChannelKit
import ChannelKitTesting

/// WebSocket figures over real sockets on loopback: echo round trips per second on one
/// connection (32-byte binary messages, like `../shared/bench/ws_echo_peers.py`), against
/// a Swift loopback server and against the Python `websockets` echo server; and 1,000
/// idle connections (resident memory per connection, CPU while idle).
enum WebSocketEchoBench {
    static let roundTrips = 20_000

    static func run(idle: Bool) async throws {
        say("== WebSocket echo (peer: python3 ../shared/bench/ws_echo_peers.py)")
        let transport = makeDefaultWebSocketTransport()

        let server = try LoopbackWebSocketServer { connection in
            while let message = try? await connection.receive() { try? await connection.send(message) }
        }
        let swiftRate = try await echo(transport, server.url("/"))
        report("echo, 1 connection, Swift loopback server", "\(Int(swiftRate)) rt/s")
        await server.shutdown()

        guard let python = try PythonEchoServer.start() else {
            report("echo, Python websockets server", "skipped: ../shared/bench/ws_echo_peers.py or websockets not found")
            return
        }
        defer { python.stop() }
        let pythonRate = try await echo(transport, python.url)
        report("echo, 1 connection, Python websockets server", "\(Int(pythonRate)) rt/s")
        try await connectLatency(transport, python.url, count: 20)
        if idle { try await idleConnections(transport, python.url, count: 1000) }
    }

    static func echo(_ transport: any WebSocketTransport, _ url: URL) async throws -> Double {
        let connection = try await transport.connect(WebSocketRequest(url: url))
        var inbound = connection.messages.makeAsyncIterator()
        let payload = Data(repeating: UInt8(ascii: "x"), count: 32)
        for _ in 0..<200 {
            try await connection.send(binary: payload)
            _ = try await inbound.next()
        }
        var bestRate = 0.0
        for _ in 0..<3 {
            let t0 = monotonicNanos()
            for _ in 0..<roundTrips {
                try await connection.send(binary: payload)
                guard try await inbound.next() != nil else { throw ChannelError(.connectionClosed, "echo server closed") }
            }
            bestRate = max(bestRate, Double(roundTrips) / (Double(monotonicNanos() - t0) / 1e9))
        }
        await connection.close(code: .normalClosure, reason: "")
        return bestRate
    }

    /// Time to open connections one after another (handshake latency).
    static func connectLatency(_ transport: any WebSocketTransport, _ url: URL, count: Int) async throws {
        var samples: [Double] = []
        for _ in 0..<count {
            let t0 = monotonicNanos()
            let c = try await transport.connect(WebSocketRequest(url: url))
            samples.append(Double(monotonicNanos() - t0) / 1e6)
            await c.close(code: .normalClosure, reason: "")
        }
        samples.sort()
        report("connect + handshake latency, median / max", "\(format(samples[samples.count / 2], 2)) ms / \(format(samples.last ?? 0, 2)) ms")
    }

    static func idleConnections(_ transport: any WebSocketTransport, _ url: URL, count: Int) async throws {
        let before = residentBytes()
        let heapBefore = ck_heap_in_use()
        var connections: [any WebSocketConnection] = []
        for _ in 0..<(count / 50) {
            let batch = try await withThrowingTaskGroup(of: (any WebSocketConnection).self) { group in
                for _ in 0..<50 { group.addTask { try await transport.connect(WebSocketRequest(url: url)) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            connections += batch
        }
        let after = residentBytes()
        let heapAfter = ck_heap_in_use()
        let cpu0 = cpuSeconds()
        let wall0 = monotonicNanos()
        try await ContinuousClock().sleep(for: .seconds(5))  // the benchmark measures real idle time on purpose
        let cpu = cpuSeconds() - cpu0
        let wall = Double(monotonicNanos() - wall0) / 1e9
        report("idle connections open", "\(connections.count)")
        report("resident memory per idle connection", "\(format(Double(after - before) / Double(connections.count) / 1024)) KiB")
        if heapAfter > 0 {
            report("  … live heap per idle connection (malloc in use)", "\(format(Double(Int(heapAfter) - Int(heapBefore)) / Double(connections.count) / 1024)) KiB")
        }
        report("CPU while idle (\(connections.count) connections, \(format(wall)) s)", "\(format(cpu * 1000, 2)) ms (\(format(cpu / wall * 100, 3)) %)")
        for c in connections { await c.close(code: .goingAway, reason: "") }
    }

    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }
}

/// `python3 ../shared/bench/ws_echo_peers.py --serve` as a child process.
final class PythonEchoServer {
    let process: Process
    let url: URL

    private init(process: Process, url: URL) {
        self.process = process
        self.url = url
    }

    static func start() throws -> PythonEchoServer? {
        let candidates = ["../shared/bench/ws_echo_peers.py", "../../shared/bench/ws_echo_peers.py"]
        guard let script = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else { return nil }
        let process = Process()
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, "--serve"]
        process.standardOutput = output
        try process.run()
        var line = Data()
        while true {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let port = text.split(separator: ":").last.flatMap({ Int($0) }) else {
            process.terminate()
            return nil
        }
        return PythonEchoServer(process: process, url: URL(string: "ws://127.0.0.1:\(port)/")!)
    }

    func stop() {
        let pid = process.processIdentifier
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}
