import Foundation
import Testing
import ChannelKit
import ChannelKitTesting

/// A response as a raw test client reads it off the wire.
struct RawHTTPResponse {
    var status: Int
    var headers: HTTPHeaders
    var body: Data
    var wasChunked: Bool
    var chunkSizes: [Int]
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// Reads one HTTP/1.1 response from `connection` (test-side parser, independent of the
/// server's).
func readRawResponse(_ connection: LoopbackTCPConnection, head isHead: Bool = false) async throws -> RawHTTPResponse {
    let crlf: [UInt8] = [13, 10]
    let head = try #require(try await connection.read(until: crlf + crlf, maxBytes: 65536))
    let lines = String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n").filter { !$0.isEmpty }
    let statusParts = try #require(lines.first).split(separator: " ", maxSplits: 2)
    let status = try #require(Int(statusParts[1]))
    var headers = HTTPHeaders()
    for line in lines.dropFirst() {
        let colon = try #require(line.firstIndex(of: ":"))
        headers.add(name: String(line[..<colon]), value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
    }
    if status == 100 { return try await readRawResponse(connection, head: isHead) }
    var body = Data()
    var sizes: [Int] = []
    let chunked = headers["Transfer-Encoding"]?.lowercased() == "chunked"
    if isHead {
        // No body after a HEAD, whatever the framing headers say.
    } else if chunked {
        while true {
            let line = try #require(try await connection.read(until: crlf, maxBytes: 1024))
            let size = try #require(Int(String(decoding: line.dropLast(2), as: UTF8.self), radix: 16))
            if size == 0 {
                _ = try await connection.read(exactly: 2)
                break
            }
            sizes.append(size)
            body.append(try await connection.read(exactly: size))
            _ = try await connection.read(exactly: 2)
        }
    } else if let length = headers["Content-Length"].flatMap({ Int($0) }) {
        body = try await connection.read(exactly: length)
    }
    return RawHTTPResponse(status: status, headers: headers, body: body, wasChunked: chunked, chunkSizes: sizes)
}

/// Reads until the server closes; `true` if it did (EOF or reset) rather than sending more.
func serverClosed(_ connection: LoopbackTCPConnection) async -> Bool {
    do {
        return try await connection.read().isEmpty
    } catch {
        return true
    }
}

@Suite("LoopbackHTTPServer (raw sockets)", .timeLimit(.minutes(1)))
struct LoopbackHTTPServerTests {
    func echoServer() throws -> LoopbackHTTPServer {
        let server = try LoopbackHTTPServer()
        server.fallback { request in
            .text("\(request.method) \(request.path) #\(request.indexOnConnection) body=\(request.text)")
        }
        return server
    }

    @Test func pipelinedKeepAliveRequestsAreAnsweredInOrderOnOneConnection() async throws {
        let server = try echoServer()
        let client = try await LoopbackTCPConnection.connect(port: server.port)
        // Three requests in one write (pipelined), the last one asks to close.
        try await client.write(
            "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
            + "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
            + "GET /c?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let first = try await readRawResponse(client)
        let second = try await readRawResponse(client)
        let third = try await readRawResponse(client)
        #expect(first.text == "GET /a #0 body=")
        #expect(second.text == "POST /b #1 body=hello")
        #expect(third.text == "GET /c #2 body=")
        #expect(third.headers["Connection"] == "close")
        #expect(await serverClosed(client))
        client.close()

        let requests = server.requests
        #expect(requests.map(\.path) == ["/a", "/b", "/c"])
        #expect(requests.map(\.sequence) == [0, 1, 2])
        #expect(Set(requests.map(\.connectionID)).count == 1)
        #expect(requests.map(\.indexOnConnection) == [0, 1, 2])
        #expect(requests[2].query == "q=1")
        #expect(requests[2].queryValue("q") == "1")
        #expect(server.acceptedConnectionCount == 1)
        await server.shutdown()
    }

    @Test func keepAliveConnectionServesSequentialRequests() async throws {
        let server = try echoServer()
        let client = try await LoopbackTCPConnection.connect(port: server.port)
        for i in 0..<3 {
            try await client.write("GET /n\(i) HTTP/1.1\r\nHost: x\r\n\r\n")
            let response = try await readRawResponse(client)
            #expect(response.text == "GET /n\(i) #\(i) body=")
        }
        #expect(server.openConnectionCount == 1)
        client.close()
        await server.waitForConnectionClose(1)
        #expect(server.closedConnectionIDs == [1])
        await server.shutdown()
    }

    @Test func chunkedRequestBodyIsDecoded() async throws {
        let server = try echoServer()
        let client = try await LoopbackTCPConnection.connect(port: server.port)
        try await client.write(
            "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5\r\nhello\r\n" + "1;ext=1\r\n,\r\n" + "6\r\n world\r\n" + "0\r\nX-Trailer: t\r\n\r\n")
        let response = try await readRawResponse(client)
        #expect(response.status == 200)
        #expect(response.text == "POST /upload #0 body=hello, world")
        let request = try #require(server.requests.first)
        #expect(request.wasChunked)
        #expect(request.body == Data("hello, world".utf8))
        client.close()
        await server.shutdown()
    }

    @Test func expectContinueGetsInterimResponse() async throws {
        let server = try echoServer()
        let client = try await LoopbackTCPConnection.connect(port: server.port)
        try await client.write("PUT /e HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
        let interim = try #require(try await client.read(until: [13, 10, 13, 10], maxBytes: 1024))
        #expect(String(decoding: interim, as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\n")
        try await client.write("abc")
        let response = try await readRawResponse(client)
        #expect(response.text == "PUT /e #0 body=abc")
        client.close()
        await server.shutdown()
    }

    @Test func chunkedResponseIsSentInChunks() async throws {
        let server = try LoopbackHTTPServer()
        server.route(.get, "/chunks") { _ in .text("abcdefghij").chunked(chunkSize: 4) }
        let client = try await LoopbackTCPConnection.connect(port: server.port)
        try await client.write("GET /chunks HTTP/1.1\r\nHost: x\r\n\r\n")
        let response = try await readRawResponse(client)
        #expect(response.wasChunked)
        #expect(response.headers["Content-Length"] == nil)
        #expect(response.chunkSizes == [4, 4, 2])
        #expect(response.text == "abcdefghij")
        client.close()
        await server.shutdown()
    }

    static let malformed: [(String, Int)] = [
        ("GARBAGE\r\n\r\n", 400),
        ("GET /\r\nHost: x\r\n\r\n", 400),
        ("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\n\r\n", 400), // no Host
        ("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        ("GET / FTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("GET nope HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\u{0}b\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n", 400), // bare LF
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY", 400),
        ("\u{1}\u{2}\u{3}\u{FF}\r\n\r\n", 400),
    ]

    @Test(arguments: malformed)
    func malformedRequestIsRefusedAndConnectionClosed(raw: String, status: Int) async throws {
        let server = try echoServer()
        let client = try await LoopbackTCPConnection.connect(port: server.port)
        try await client.write(raw)
        let response = try await readRawResponse(client)
        #expect(response.status == status, "\(raw.debugDescription)")
        #expect(response.headers["Connection"] == "close")
        #expect(await serverClosed(client))
        client.close()
        #expect(server.requests.isEmpty)
        #expect(server.rejections.map(\.status) == [status])
        // The server is still healthy.
        let next = try await LoopbackTCPConnection.connect(port: server.port)
        try await next.write("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try await readRawResponse(next).status == 200)
        next.close()
        await server.shutdown()
    }

    @Test func oversizedHeadIsRefusedWith431() async throws {
        let server = try LoopbackHTTPServer(configuration: .init(maximumHeadSize: 1024))
        let client = try await LoopbackTCPConnection.connect(port: server.port)
        let filler = String(repeating: "a", count: 4000)
        try await client.write("GET / HTTP/1.1\r\nHost: x\r\nX-Filler: \(filler)\r\n\r\n")
        let response = try await readRawResponse(client)
        #expect(response.status == 431)
        #expect(await serverClosed(client))
        client.close()
        #expect(server.rejections.first?.status == 431)
        await server.shutdown()
    }

    @Test func oversizedBodyIsRefusedWith413() async throws {
        let server = try LoopbackHTTPServer(configuration: .init(maximumBodySize: 10))
        let client = try await LoopbackTCPConnection.connect(port: server.port)
        try await client.write("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n")
        let response = try await readRawResponse(client)
        #expect(response.status == 413)
        client.close()
        await server.shutdown()
    }

    @Test func clientClosingMidRequestIsNotAnError() async throws {
        let server = try echoServer()
        let client = try await LoopbackTCPConnection.connect(port: server.port)
        try await client.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly-part")
        client.close()
        await server.waitForConnectionClose(1)
        #expect(server.requests.isEmpty)
        #expect(server.rejections.isEmpty)
        await server.shutdown()
    }

    @Test func routesPreferExactThenLongestPrefixThenLatest() async throws {
        let server = try LoopbackHTTPServer()
        server.route(nil, prefix: "/api") { _ in .text("prefix /api") }
        server.route(nil, prefix: "/api/v1") { _ in .text("prefix /api/v1") }
        server.route(.get, "/api/v1/exact") { _ in .text("exact old") }
        server.route(.get, "/api/v1/exact") { _ in .text("exact new") }
        let client = try await LoopbackTCPConnection.connect(port: server.port)
        func get(_ method: String, _ path: String) async throws -> RawHTTPResponse {
            try await client.write("\(method) \(path) HTTP/1.1\r\nHost: x\r\n\r\n")
            return try await readRawResponse(client, head: method == "HEAD")
        }
        #expect(try await get("GET", "/api/v1/exact?x=1").text == "exact new")
        #expect(try await get("POST", "/api/v1/exact").text == "prefix /api/v1")
        #expect(try await get("GET", "/api/v2").text == "prefix /api")
        let missing = try await get("GET", "/elsewhere")
        #expect(missing.status == 404)
        let head = try await get("HEAD", "/api")
        #expect(head.headers["Content-Length"] == "11")
        // Nothing follows the HEAD response: the next response starts right away.
        #expect(try await get("GET", "/api").text == "prefix /api")
        client.close()
        await server.shutdown()
    }

    @Test func hangKeepsConnectionUntilClientCloses() async throws {
        let server = try LoopbackHTTPServer()
        server.route(.get, "/hang") { _ in .hang }
        let client = try await LoopbackTCPConnection.connect(port: server.port)
        try await client.write("GET /hang HTTP/1.1\r\nHost: x\r\n\r\n")
        let request = try #require(await server.waitForRequests(1).first)
        #expect(!server.closedConnectionIDs.contains(request.connectionID))
        client.close()
        await server.waitForConnectionClose(request.connectionID)
        #expect(server.closedConnectionIDs.contains(request.connectionID))
        await server.shutdown()
    }

    @Test func dropConnectionEndsTheStreamWithoutAResponse() async throws {
        let server = try LoopbackHTTPServer()
        server.route(.get, "/drop") { _ in .dropConnection }
        let client = try await LoopbackTCPConnection.connect(port: server.port)
        try await client.write("GET /drop HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(await serverClosed(client))
        client.close()
        await server.shutdown()
    }

    @Test func takeOverHandsTheRawConnectionOverWithReadAheadBytes() async throws {
        let server = try LoopbackHTTPServer()
        server.route(.get, "/upgrade") { request in
            .takeOver { connection in
                try? await connection.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
                while let line = try? await connection.read(until: [10], maxBytes: 1024) {
                    try? await connection.write(Data("echo:".utf8) + line)
                }
            }
        }
        let client = try await LoopbackTCPConnection.connect(port: server.port)
        // The first line of the new protocol rides in the same write as the request.
        try await client.write("GET /upgrade HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nfirst\n")
        let switching = try await readRawResponse(client)
        #expect(switching.status == 101)
        let echoed = try #require(try await client.read(until: [10], maxBytes: 1024))
        #expect(String(decoding: echoed, as: UTF8.self) == "echo:first\n")
        try await client.write("second\n")
        let again = try #require(try await client.read(until: [10], maxBytes: 1024))
        #expect(String(decoding: again, as: UTF8.self) == "echo:second\n")
        client.close()
        await server.shutdown()
    }

    @Test func shutdownClosesListenerAndEveryConnection() async throws {
        let server = try LoopbackHTTPServer()
        server.route(.get, "/hang") { _ in .hang }
        let idle = try await LoopbackTCPConnection.connect(port: server.port)
        let hanging = try await LoopbackTCPConnection.connect(port: server.port)
        try await hanging.write("GET /hang HTTP/1.1\r\nHost: x\r\n\r\n")
        await server.waitForRequests(1)
        let port = server.port
        await server.shutdown()
        await server.shutdown() // idempotent
        #expect(server.openConnectionCount == 0)
        #expect(await serverClosed(idle))
        #expect(await serverClosed(hanging))
        idle.close()
        hanging.close()
        await #expect(throws: LoopbackTCPError.self) {
            _ = try await LoopbackTCPConnection.connect(port: port)
        }
        // Waiters are released after shutdown instead of hanging.
        #expect(await server.waitForRequests(5).count == 1)
    }
}

#if os(Linux)
/// Names of this process's threads (`/proc/self/task/*/comm`, at most 15 characters).
func threadNames() -> [String] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    return tasks.compactMap { try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8) }
        .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
}

@Suite("Loopback servers leave no threads behind", .timeLimit(.minutes(1)))
struct LoopbackThreadLeakTests {
    @Test func shutdownEndsThePollThreadsOfServerAndClients() async throws {
        let name = "LeakProbe\(UInt16.random(in: 1000...9999))"
        for _ in 0..<3 {
            let server = try LoopbackHTTPServer(configuration: .init(tcp: .init(threadName: name)))
            server.route(.get, "/hang") { _ in .hang }
            let client = try await LoopbackTCPConnection.connect(port: server.port)
            try await client.write("GET /hang HTTP/1.1\r\nHost: x\r\n\r\n")
            await server.waitForRequests(1)
            // The thread names itself once it runs; other suites' threads come and go.
            #expect(await waitUntil(maxTurns: 100_000) { threadNames().contains(name) })
            await server.shutdown()
            #expect(!threadNames().contains(name))
            client.close()
        }
    }
}
#endif

@Suite("LoopbackTCPServer", .timeLimit(.minutes(1)))
struct LoopbackTCPServerTests {
    @Test func echoesLinesOnManyConnections() async throws {
        let server = try LoopbackTCPServer { connection in
            while let line = try? await connection.read(until: [10], maxBytes: 1024) {
                try? await connection.write(line)
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<8 {
                group.addTask {
                    let client = try await LoopbackTCPConnection.connect(port: server.port)
                    defer { client.close() }
                    for j in 0..<5 {
                        try await client.write("line \(i)-\(j)\n")
                        let reply = try #require(try await client.read(until: [10], maxBytes: 1024))
                        #expect(String(decoding: reply, as: UTF8.self) == "line \(i)-\(j)\n")
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(server.acceptedConnectionCount == 8)
        await server.shutdown()
        #expect(server.openConnectionCount == 0)
    }

    @Test func largeWritesCompleteThroughBackpressure() async throws {
        let payload = Data((0..<(4 * 1024 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let server = try LoopbackTCPServer { connection in
            try? await connection.write(payload)
            connection.shutdownWrite()
            await connection.waitForPeerClose()
        }
        let client = try await LoopbackTCPConnection.connect(port: server.port)
        var received = Data()
        while true {
            let chunk = try await client.read()
            if chunk.isEmpty { break }
            received.append(chunk)
        }
        #expect(received == payload)
        client.close()
        await server.shutdown()
    }

    @Test func readUntilReportsLimitAndEndOfStream() async throws {
        let server = try LoopbackTCPServer { connection in
            try? await connection.write("0123456789")
            connection.shutdownWrite()
            await connection.waitForPeerClose()
        }
        let client = try await LoopbackTCPConnection.connect(port: server.port)
        await #expect(throws: LoopbackTCPError.limitExceeded(4)) {
            _ = try await client.read(until: [10], maxBytes: 4)
        }
        await #expect(throws: LoopbackTCPError.unexpectedEndOfStream) {
            _ = try await client.read(until: [10], maxBytes: 100)
        }
        #expect(client.bufferedByteCount == 10)
        #expect(try await client.read(exactly: 10) == Data("0123456789".utf8))
        #expect(try await client.read(until: [10], maxBytes: 100) == nil)
        client.close()
        await server.shutdown()
    }

    @Test func cancellingAReadEndsIt() async throws {
        let server = try LoopbackTCPServer { connection in await connection.waitForPeerClose() }
        let client = try await LoopbackTCPConnection.connect(port: server.port)
        let reader = Task { try await client.read() }
        reader.cancel()
        await #expect(throws: CancellationError.self) { _ = try await reader.value }
        client.close()
        await server.shutdown()
    }
}
