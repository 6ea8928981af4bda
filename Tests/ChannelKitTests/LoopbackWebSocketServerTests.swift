import Foundation
import Testing
@testable import ChannelKit
import ChannelKitTesting

/// The loopback WebSocket server (used by adapter tests and simulators) against the
/// platform's default client, and against raw bytes for the server-side rules.
@Suite struct LoopbackWebSocketServerTests {
    static func echoServer(decide: @escaping @Sendable (WebSocketUpgradeRequest) async -> LoopbackWebSocketServer.Decision = { _ in .accept() }) throws -> LoopbackWebSocketServer {
        try LoopbackWebSocketServer(decide: decide) { connection in
            while let message = try? await connection.receive() {
                if message == .text("close-me") {
                    await connection.close(code: WebSocketCloseCode(4009), reason: "session timed out")
                    _ = try? await connection.nextEvent()
                    return
                }
                if message == .text("drop-me") { connection.abort(); return }
                if message == .text("masked-frame") {
                    // Servers must not mask: the client fails the connection with 1002.
                    try? await connection.sendRaw(WebSocketFrameEncoder.encode(WebSocketFrame(fin: true, opcode: .text, maskingKey: WebSocketMaskingKey(1, 2, 3, 4), payload: Array("hi".utf8))))
                    _ = try? await connection.nextEvent()
                    return
                }
                try? await connection.send(message)
            }
        }
    }

    @Test func echoAndServerCloseWithPlatformCode() async throws {
        let server = try Self.echoServer()
        let connection = try await makeDefaultWebSocketTransport().connect(WebSocketRequest(url: server.url("/gateway?v=1"), headers: ["Authorization": "QQBot abc"]))
        var inbound = connection.messages.makeAsyncIterator()
        try await connection.send(text: "hello")
        #expect(try await inbound.next() == .text("hello"))
        try await connection.send(text: "close-me")
        #expect(try await inbound.next() == nil)
        #expect(connection.closeStatus == WebSocketCloseStatus(code: WebSocketCloseCode(4009), reason: "session timed out", initiatedByPeer: true))
        let request = try #require(server.upgradeRequests.first)
        #expect(request.path == "/gateway")
        #expect(request.query == "v=1")
        #expect(request.headers["authorization"] == "QQBot abc")
        await server.shutdown()
    }

    /// Frames that arrive together with the 101 (the handshake's leftover bytes) and
    /// frames read by the event loop right after must reach the decoder in wire order.
    @Test func messagesSentRightAfterTheHandshakeArriveInOrder() async throws {
        let server = try LoopbackWebSocketServer { connection in
            for i in 0..<200 { try? await connection.send(text: "m\(i)") }
            await connection.close(code: .normalClosure, reason: "done")
            _ = try? await connection.nextEvent()
        }
        let transport = makeDefaultWebSocketTransport()
        for round in 0..<20 {
            let connection = try await transport.connect(WebSocketRequest(url: server.url("/")))
            var received: [WebSocketMessage] = []
            for try await message in connection.messages { received.append(message) }
            #expect(received == (0..<200).map { .text("m\($0)") }, "round \(round)")
            #expect(connection.closeStatus?.code == .normalClosure)
        }
        await server.shutdown()
    }

    /// Many connections connecting and echoing large messages at once: reads of
    /// different sockets must never share a buffer across threads.
    @Test func concurrentConnectionsEchoLargeMessagesIntact() async throws {
        let server = try Self.echoServer()
        let transport = makeDefaultWebSocketTransport()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for c in 0..<8 {
                group.addTask {
                    let connection = try await transport.connect(WebSocketRequest(url: server.url("/")))
                    var inbound = connection.messages.makeAsyncIterator()
                    for round in 0..<3 {
                        var rng = SeededRandomNumberGenerator(seed: UInt64(c * 100 + round))
                        let payload = Data((0..<(16 << 10)).map { _ in UInt8.random(in: 0...255, using: &rng) })
                        try await connection.send(binary: payload)
                        let echoed = try await inbound.next()
                        #expect(echoed == .binary(payload), "connection \(c) round \(round)")
                    }
                    await connection.close(code: .normalClosure, reason: "")
                }
            }
            try await group.waitForAll()
        }
        await server.shutdown()
    }

    @Test func refusedHandshakeCarriesStatusAndBody() async throws {
        let server = try Self.echoServer { request in
            request.headers["Authorization"] == nil ? .reject(status: 401, headers: ["X-Err": "1001"], body: #"{"errCode":1001}"#) : .accept()
        }
        do {
            _ = try await makeDefaultWebSocketTransport().connect(WebSocketRequest(url: server.url("/")))
            Issue.record("must be refused")
        } catch let error as ChannelError {
            #expect(error.code == .unauthorized)
            #expect(error.response?.headers["X-Err"] == "1001")
            #expect(error.response?.body == Data(#"{"errCode":1001}"#.utf8))
        }
        await server.shutdown()
    }

    @Test func droppedConnectionAndMaskedServerFrame() async throws {
        let server = try Self.echoServer()
        let transport = makeDefaultWebSocketTransport()
        let dropped = try await transport.connect(WebSocketRequest(url: server.url("/")))
        try await dropped.send(text: "drop-me")
        var inbound = dropped.messages.makeAsyncIterator()
        await #expect(throws: ChannelError.self) { _ = try await inbound.next() }
        #expect(dropped.closeStatus?.code == .abnormalClosure)

        let violated = try await transport.connect(WebSocketRequest(url: server.url("/")))
        try await violated.send(text: "masked-frame")
        var inbound2 = violated.messages.makeAsyncIterator()
        do {
            _ = try await inbound2.next()
            Issue.record("a masked server frame must fail the connection")
        } catch let error as ChannelError {
            #expect(error.code == .protocolViolation)
            #expect(error.platformCode == 1002)
        }
        await server.shutdown()
    }

    /// `abort()` from another task while the handler waits in `receive()`: the peer must
    /// see the reset at once, not whenever the poller next wakes up.
    @Test func abortWhileAReadIsPendingResetsThePeerPromptly() async throws {
        let gate = AsyncGate()
        let server = try LoopbackWebSocketServer { connection in
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await gate.wait(); connection.abort() }
                while (try? await connection.receive()) != nil {}
            }
        }
        let connection = try await makeDefaultWebSocketTransport().connect(WebSocketRequest(url: server.url("/")))
        var inbound = connection.messages.makeAsyncIterator()
        let reading = Task { () -> Bool in
            do { _ = try await inbound.next(); return false } catch { return true }
        }
        #expect(await waitUntil { server.openConnectionCount == 1 })
        gate.open()
        #expect(await reading.value, "the client sees the dropped connection")
        await server.shutdown()
    }

    @Test func serverRejectsUnmaskedClientFramesWith1002() async throws {
        let result = TestRecorder<Int>()
        let server = try LoopbackWebSocketServer { connection in
            do { _ = try await connection.receive() } catch let error as ChannelError { result.record(error.platformCode ?? 0) } catch {}
        }
        let raw = try await LoopbackTCPConnection.connect(port: server.port)
        let key = WebSocketHandshake.makeKey()
        try await raw.write(WebSocketHandshake.requestBytes(url: server.url("/"), key: key))
        _ = try await raw.read(until: [13, 10, 13, 10], maxBytes: 4096)
        // An unmasked text frame from a client.
        try await raw.write(WebSocketFrameEncoder.encode(WebSocketFrame(fin: true, opcode: .text, maskingKey: nil, payload: Array("x".utf8))))
        let reply = try await raw.read(exactly: 4)
        #expect(Array(reply.prefix(2)) == [0x88, 0x02 + UInt8(reply.count - 4)] || reply.first == 0x88, "a close frame comes back")
        #expect(UInt16(reply[2]) << 8 | UInt16(reply[3]) == 1002)
        await raw.waitForPeerClose()
        #expect(result.all == [1002])
        raw.close()
        await server.shutdown()
    }
}

#if os(Linux)
@Suite struct CurlWebSocketCloseTimeoutTests {
    /// A peer that never answers our close must not hang `close()`: after the close
    /// timeout (virtual time here) the socket is closed anyway.
    @Test func closeGivesUpAfterTheCloseTimeout() async throws {
        let release = AsyncGate()
        let server = try LoopbackWebSocketServer { _ in await release.wait() }   // never reads
        let clock = TestClock()
        let transport = CurlWebSocketTransport(configuration: .init(closeTimeout: .seconds(5), time: clock.timeSource))
        let connection = try await transport.connect(WebSocketRequest(url: server.url("/")))
        let closing = Task { await connection.close(code: .normalClosure, reason: "bye") }
        #expect(await clock.waitForSleepers(1))
        #expect(connection.closeStatus == nil)
        await clock.advance(by: .seconds(5))
        await closing.value
        #expect(connection.closeStatus == WebSocketCloseStatus(code: .normalClosure, reason: "bye", initiatedByPeer: false))
        release.open()
        await server.shutdown()
    }
}
#endif

#if os(Linux)
@Suite struct CurlConnectThreadingTests {
    /// Connecting blocks (DNS, TCP, TLS, waiting for the 101): it must never occupy
    /// Swift's cooperative threads, or every task in the process stalls. With more
    /// stuck handshakes than cores, another task still runs while they wait.
    @Test func stuckHandshakesDoNotStarveOtherTasks() async throws {
        let release = AsyncGate()
        let silent = try LoopbackTCPServer { connection in
            await release.wait()          // accept, never answer the upgrade
            connection.close()
        }
        let transport = CurlWebSocketTransport(configuration: .init(connectTimeout: .seconds(30)))
        let finished = TestRecorder<Bool>()
        let connects = (0..<6).map { _ in
            Task {
                _ = try? await transport.connect(WebSocketRequest(url: URL(string: "ws://127.0.0.1:\(silent.port)/")!))
                finished.record(true)
            }
        }
        #expect(await waitUntil { silent.openConnectionCount == 6 })
        let answer = await Task { 42 }.value
        #expect(answer == 42)
        #expect(finished.count == 0, "other tasks ran while all six handshakes were still waiting")
        release.open()
        for c in connects { await c.value }
        #expect(finished.count == 6)
        await silent.shutdown()
    }
}
#endif
