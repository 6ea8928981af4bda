import Foundation
import Testing
@testable import ChannelKit

@Suite struct WebSocketHandshakeTests {
    /// Returns a fixed 64-bit value (so the key is predictable).
    struct FixedRNG: RandomNumberGenerator {
        var value: UInt64
        mutating func next() -> UInt64 { value }
    }

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    static func client(_ url: String = "ws://example.com/chat", headers: HTTPHeaders = [:], subprotocols: [String] = []) throws -> WebSocketClientHandshake {
        var rng = SeededRandomNumberGenerator(seed: 1)
        return try WebSocketClientHandshake(url: try #require(URL(string: url)), headers: headers, subprotocols: subprotocols, using: &rng)
    }

    static func switchingProtocols(accept: String?, extra: String = "") -> [UInt8] {
        var head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        if let accept { head += "Sec-WebSocket-Accept: \(accept)\r\n" }
        return Array((head + extra + "\r\n").utf8)
    }

    static func failure(_ error: ChannelError) -> WebSocketHandshakeFailure? { error.underlying as? WebSocketHandshakeFailure }

    // MARK: Keys

    @Test func acceptValueMatchesRFCExample() {
        #expect(WebSocketHandshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test func keyIs16RandomBytesInBase64() throws {
        var fixed = FixedRNG(value: 0x0807_0605_0403_0201)
        let key = WebSocketHandshake.makeKey(using: &fixed)
        #expect(key.count == 24)
        #expect(try #require(Data(base64Encoded: key)) == Data([1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8]))
        #expect(WebSocketHandshake.makeKey() != WebSocketHandshake.makeKey())
    }

    // MARK: Request bytes

    @Test func requestBytesForAPlainURL() throws {
        let handshake = try Self.client()
        #expect(Self.text(handshake.requestBytes) == """
            GET /chat HTTP/1.1\r
            Host: example.com\r
            Upgrade: websocket\r
            Connection: Upgrade\r
            Sec-WebSocket-Key: \(handshake.key)\r
            Sec-WebSocket-Version: 13\r
            \r

            """)
    }

    @Test(arguments: [
        ("ws://example.com", "GET / HTTP/1.1", "Host: example.com"),
        ("ws://example.com:80/a", "GET /a HTTP/1.1", "Host: example.com"),
        ("ws://example.com:8080/a?b=1&c=%2F#frag", "GET /a?b=1&c=%2F HTTP/1.1", "Host: example.com:8080"),
        ("wss://example.com:443/gw", "GET /gw HTTP/1.1", "Host: example.com"),
        ("wss://example.com:8443/gw", "GET /gw HTTP/1.1", "Host: example.com:8443"),
        ("wss://example.com:80/gw", "GET /gw HTTP/1.1", "Host: example.com:80"),
        ("ws://127.0.0.1:9001/x%20y", "GET /x%20y HTTP/1.1", "Host: 127.0.0.1:9001"),
        ("ws://[::1]:9001/", "GET / HTTP/1.1", "Host: [::1]:9001"),
        ("https://example.com/p?q", "GET /p?q HTTP/1.1", "Host: example.com"),
    ])
    func requestLineAndHost(url: String, requestLine: String, host: String) throws {
        let lines = Self.text(try Self.client(url).requestBytes).components(separatedBy: "\r\n")
        #expect(lines[0] == requestLine)
        #expect(lines[1] == host)
    }

    @Test func requestCarriesExtraHeadersAndSubprotocols() throws {
        let handshake = try Self.client(headers: ["Authorization": "Bot abc", "Origin": "https://x"], subprotocols: ["v2.chat", "v1.chat"])
        let text = Self.text(handshake.requestBytes)
        #expect(text.contains("\r\nSec-WebSocket-Protocol: v2.chat, v1.chat\r\n"))
        #expect(text.contains("\r\nAuthorization: Bot abc\r\nOrigin: https://x\r\n\r\n"))
    }

    @Test(arguments: ["ftp://example.com/", "ws:///path", "mailto:a@b"])
    func invalidURLsAreRefused(url: String) {
        #expect(throws: ChannelError.self) { _ = try Self.client(url) }
    }

    @Test func reservedOrUnsafeHeadersAreRefused() {
        for headers: HTTPHeaders in [["Host": "evil"], ["sec-websocket-key": "x"], ["Connection": "close"], ["X-A": "1\r\nX-B: 2"], ["Bad Name": "v"], ["": "v"]] {
            #expect(throws: ChannelError.self, "\(headers)") { _ = try Self.client(headers: headers) }
        }
        #expect(throws: ChannelError.self) { _ = try Self.client(subprotocols: ["has space"]) }
    }

    // MARK: Response parsing

    @Test func validResponseUpgradesAndKeepsLeftoverFrames() throws {
        var handshake = try Self.client()
        let frames = WS.hex("81 05 48 65 6c 6c 6f 89 00")
        let response = Self.switchingProtocols(accept: handshake.expectedAccept) + frames
        let progress = try handshake.receive(response)
        guard case .upgraded(let upgrade) = progress else { Issue.record("not upgraded: \(progress)"); return }
        #expect(upgrade.leftover == frames)
        #expect(upgrade.subprotocol == nil)
        #expect(upgrade.headers["upgrade"] == "websocket")
        #expect(try WS.events(upgrade.leftover, role: .client) == [.message(.text("Hello")), .ping(Data())])
        #expect(throws: ChannelError.self) { _ = try handshake.receive([0x81]) }
    }

    @Test func responseFedOneByteAtATime() throws {
        var handshake = try Self.client()
        let response = Self.switchingProtocols(accept: handshake.expectedAccept) + [0x81, 0x00]
        var upgrade: WebSocketUpgrade?
        for (i, byte) in response.enumerated() {
            let progress = try handshake.receive([byte])
            if case .upgraded(let u) = progress {
                upgrade = u
                #expect(i == response.count - 3, "upgrade reported as soon as the head is complete")
                break
            }
        }
        #expect(upgrade?.leftover == [])
    }

    @Test func headerNamesAndTokensAreCaseInsensitiveAndFoldingIsJoined() throws {
        var handshake = try Self.client()
        let head = "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nCONNECTION: keep-alive,\r\n  UPGRADE\r\nsec-websocket-accept:   \(handshake.expectedAccept)  \r\nX-Multi: a\r\n\tb\r\n\r\n"
        let progress = try handshake.receive(Array(head.utf8))
        guard case .upgraded(let upgrade) = progress else { Issue.record("not upgraded"); return }
        #expect(upgrade.headers["Connection"] == "keep-alive, UPGRADE")
        #expect(upgrade.headers["x-multi"] == "a b")
    }

    @Test func bareLineFeedsAreAccepted() throws {
        var handshake = try Self.client()
        let head = "HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\nConnection: Upgrade\nSec-WebSocket-Accept: \(handshake.expectedAccept)\n\n"
        guard case .upgraded = try handshake.receive(Array(head.utf8)) else { Issue.record("not upgraded"); return }
    }

    @Test func subprotocolMustBeOneWeOffered() throws {
        var ok = try Self.client(subprotocols: ["a", "b"])
        guard case .upgraded(let upgrade) = try ok.receive(Self.switchingProtocols(accept: ok.expectedAccept, extra: "Sec-WebSocket-Protocol: b\r\n")) else {
            Issue.record("not upgraded"); return
        }
        #expect(upgrade.subprotocol == "b")
        var bad = try Self.client(subprotocols: ["a"])
        #expect {
            _ = try bad.receive(Self.switchingProtocols(accept: bad.expectedAccept, extra: "Sec-WebSocket-Protocol: c\r\n"))
        } throws: { Self.failure($0 as! ChannelError)?.reason == .unrequestedSubprotocol }
        var none = try Self.client()
        #expect {
            _ = try none.receive(Self.switchingProtocols(accept: none.expectedAccept, extra: "Sec-WebSocket-Protocol: a\r\n"))
        } throws: { Self.failure($0 as! ChannelError)?.reason == .unrequestedSubprotocol }
    }

    @Test(arguments: [
        ("missing accept", nil as String?, "", WebSocketHandshakeFailure.Reason.missingAccept),
        ("incorrect accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "", .incorrectAccept),
        ("extension", "<accept>", "Sec-WebSocket-Extensions: permessage-deflate\r\n", .unrequestedExtension),
    ])
    func invalid101IsRejected(name: String, accept: String?, extra: String, reason: WebSocketHandshakeFailure.Reason) throws {
        var handshake = try Self.client()
        let response = Self.switchingProtocols(accept: accept == "<accept>" ? handshake.expectedAccept : accept, extra: extra)
        do {
            _ = try handshake.receive(response)
            Issue.record("accepted \(name)")
        } catch {
            let failure = try #require(Self.failure(error))
            #expect(failure.reason == reason)
            #expect(failure.response.status == 101)
            #expect(error.code == .handshakeRejected)
            #expect(error.response?.status == 101)
            #expect(error.platformCode == 101)
        }
    }

    @Test func missingUpgradeOrConnectionIsRejected() throws {
        var a = try Self.client()
        let noUpgrade = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(a.expectedAccept)\r\n\r\n"
        #expect { _ = try a.receive(Array(noUpgrade.utf8)) } throws: { Self.failure($0 as! ChannelError)?.reason == .missingUpgradeHeader }
        var b = try Self.client()
        let noConnection = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: keep-alive\r\nSec-WebSocket-Accept: \(b.expectedAccept)\r\n\r\n"
        #expect { _ = try b.receive(Array(noConnection.utf8)) } throws: { Self.failure($0 as! ChannelError)?.reason == .missingConnectionUpgrade }
    }

    @Test func unauthorizedWithContentLengthBodyIsReported() throws {
        var handshake = try Self.client()
        let body = #"{"code":11255,"message":"invalid token"}"#
        let response = Array("HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8)
        // The body arrives in pieces: the handshake asks for more until it is complete.
        #expect(try handshake.receive(response.dropLast(10)) == .needMoreBytes)
        do {
            _ = try handshake.receive(response.suffix(10))
            Issue.record("401 accepted")
        } catch {
            #expect(error.code == .unauthorized)
            #expect(error.platformCode == 401)
            let failure = try #require(Self.failure(error))
            #expect(failure.reason == .unexpectedStatus)
            #expect(failure.reasonPhrase == "Unauthorized")
            #expect(failure.response.headers["content-type"] == "application/json")
            #expect(String(decoding: failure.response.body, as: UTF8.self) == body)
            #expect(!failure.isBodyTruncated)
        }
    }

    @Test func chunkedRefusalBodyIsDecoded() throws {
        var handshake = try Self.client()
        let response = Array("HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n".utf8)
        var caught: ChannelError?
        for byte in response {
            do { #expect(try handshake.receive([byte]) == .needMoreBytes) } catch { caught = error; break }
        }
        let error = try #require(caught)
        #expect(error.code == .unauthorized)
        #expect(Self.failure(error)?.response.body == Data("hello, world".utf8))
    }

    @Test func refusalBodyUntilCloseIsReportedAtEndOfStream() throws {
        var handshake = try Self.client()
        #expect(try handshake.receive(Array("HTTP/1.1 503 Service Unavailable\r\n\r\ntry ".utf8)) == .needMoreBytes)
        #expect(try handshake.receive(Array("later".utf8)) == .needMoreBytes)
        let error = handshake.failureAtEndOfStream()
        #expect(error.code == .handshakeRejected)
        #expect(error.platformCode == 503)
        #expect(error.response?.body == Data("try later".utf8))
        #expect(Self.failure(error)?.response.body == Data("try later".utf8))
    }

    @Test func longRefusalBodyIsTruncated() throws {
        var rng = SeededRandomNumberGenerator(seed: 3)
        var handshake = try WebSocketClientHandshake(url: try #require(URL(string: "ws://h/")), maxErrorBodySize: 8, using: &rng)
        do {
            _ = try handshake.receive(Array("HTTP/1.1 429 Too Many Requests\r\nContent-Length: 1000\r\n\r\n0123456789".utf8))
            Issue.record("no error")
        } catch {
            #expect(error.code == .rateLimited)
            let failure = try #require(Self.failure(error))
            #expect(failure.response.body == Data("01234567".utf8))
            #expect(failure.isBodyTruncated)
        }
    }

    @Test func endOfStreamBeforeTheHeadIsATransportError() throws {
        var handshake = try Self.client()
        #expect(try handshake.receive(Array("HTTP/1.1 101 Swi".utf8)) == .needMoreBytes)
        let error = handshake.failureAtEndOfStream()
        #expect(error.code == .transport)
        #expect(error.underlying == nil)
    }

    @Test func oversizedOrGarbledHeadsAreMalformed() throws {
        var rng = SeededRandomNumberGenerator(seed: 4)
        var small = try WebSocketClientHandshake(url: try #require(URL(string: "ws://h/")), maxHeadSize: 64, using: &rng)
        #expect { _ = try small.receive([UInt8](repeating: 0x41, count: 65)) } throws: { ($0 as? ChannelError)?.code == .malformedInput }
        var garbled = try Self.client()
        #expect { _ = try garbled.receive(Array("SSH-2.0-OpenSSH\r\n\r\n".utf8)) } throws: { ($0 as? ChannelError)?.code == .malformedInput }
        var badHeader = try Self.client()
        #expect { _ = try badHeader.receive(Array("HTTP/1.1 101 OK\r\nNo colon here\r\n\r\n".utf8)) } throws: { ($0 as? ChannelError)?.code == .malformedInput }
        var badLength = try Self.client()
        #expect { _ = try badLength.receive(Array("HTTP/1.1 401 No\r\nContent-Length: -5\r\n\r\n".utf8)) } throws: { ($0 as? ChannelError)?.code == .malformedInput }
    }

    @Test func headParserCapsTheHeadNotTheLeftover() throws {
        var parser = HTTPHeadParser(maxHeadSize: 40)
        let head = Array("HTTP/1.1 101 X\r\nA: b\r\n\r\n".utf8)
        let result = try #require(try parser.feed(head + [UInt8](repeating: 0, count: 1000)))
        #expect(result.leftover.count == 1000)
        #expect(result.headers["a"] == "b")
        // Blank lines before the start line are skipped but count towards the cap.
        var skipping = HTTPHeadParser(maxHeadSize: 40)
        #expect(try skipping.feed(Array("\r\n\nHTTP/1.1 101 X\r\n\r\n".utf8))?.startLine == "HTTP/1.1 101 X")
        var endless = HTTPHeadParser(maxHeadSize: 40)
        #expect(throws: ChannelError.self) {
            for _ in 0..<100 { _ = try endless.feed(Array("\r\n".utf8)) }
        }
    }

    // MARK: Server side

    static let clientRequest = "GET /gateway?v=1 HTTP/1.1\r\nHost: localhost:9000\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\nAuthorization: Bot x\r\n\r\n"

    @Test func serverParsesTheRequestAndAnswers101() throws {
        var server = WebSocketServerHandshake()
        let bytes = Array(Self.clientRequest.utf8) + [0x81]
        var request: WebSocketUpgradeRequest?
        for byte in bytes where request == nil { request = try server.receive([byte]) }
        let parsed = try #require(request)
        #expect(parsed.target == "/gateway?v=1")
        #expect(parsed.path == "/gateway")
        #expect(parsed.query == "v=1")
        #expect(parsed.key == "dGhlIHNhbXBsZSBub25jZQ==")
        #expect(parsed.subprotocols == ["chat", "superchat"])
        #expect(parsed.headers["authorization"] == "Bot x")
        #expect(parsed.leftover == [])
        let response = Self.text(WebSocketHandshake.switchingProtocolsBytes(for: parsed, subprotocol: "chat"))
        #expect(response == "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n")
    }

    @Test func clientAndServerHandshakeEachOther() throws {
        var client = try Self.client("ws://127.0.0.1:9001/ws?token=x", headers: ["Authorization": "Bearer abc"], subprotocols: ["p1"])
        var server = WebSocketServerHandshake()
        let request = try #require(try server.receive(client.requestBytes))
        #expect(request.target == "/ws?token=x")
        #expect(request.subprotocols == ["p1"])
        var encoder = WebSocketFrameEncoder(role: .server)
        var frames: [UInt8] = []
        encoder.encodeText("welcome", into: &frames)
        let progress = try client.receive(WebSocketHandshake.switchingProtocolsBytes(for: request, subprotocol: "p1") + frames)
        guard case .upgraded(let upgrade) = progress else { Issue.record("not upgraded"); return }
        #expect(upgrade.subprotocol == "p1")
        #expect(try WS.events(upgrade.leftover, role: .client) == [.message(.text("welcome"))])
    }

    @Test func rejectionResponseRoundTripsThroughTheClient() throws {
        let bytes = WebSocketHandshake.responseBytes(status: 401, headers: ["WWW-Authenticate": "Bot"], body: Array("bad token".utf8))
        #expect(Self.text(bytes) == "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bot\r\nContent-Length: 9\r\nConnection: close\r\n\r\nbad token")
        var client = try Self.client()
        #expect { _ = try client.receive(bytes) } throws: { error in
            let failure = Self.failure(error as! ChannelError)
            return failure?.response.status == 401 && failure?.response.body == Data("bad token".utf8)
                && failure?.response.headers["www-authenticate"] == "Bot"
        }
    }

    @Test(arguments: [
        ("POST", "method"), ("HTTP/1.0", "version"), ("no-host", "Host"), ("no-upgrade", "Upgrade"),
        ("no-connection", "Connection"), ("short-key", "Sec-WebSocket-Key"), ("version-8", "Sec-WebSocket-Version"),
    ])
    func serverRejectsInvalidRequests(mutation: String, location: String) {
        var request = Self.clientRequest
        switch mutation {
        case "POST": request = request.replacingOccurrences(of: "GET ", with: "POST ")
        case "HTTP/1.0": request = request.replacingOccurrences(of: "HTTP/1.1", with: "HTTP/1.0")
        case "no-host": request = request.replacingOccurrences(of: "Host: localhost:9000\r\n", with: "")
        case "no-upgrade": request = request.replacingOccurrences(of: "Upgrade: websocket\r\n", with: "")
        case "no-connection": request = request.replacingOccurrences(of: "keep-alive, Upgrade", with: "keep-alive")
        case "short-key": request = request.replacingOccurrences(of: "dGhlIHNhbXBsZSBub25jZQ==", with: "c2hvcnQ=")
        default: request = request.replacingOccurrences(of: "Version: 13", with: "Version: 8")
        }
        var server = WebSocketServerHandshake()
        #expect { _ = try server.receive(Array(request.utf8)) } throws: { error in
            (error as? ChannelError)?.code == .malformedInput && (error as? ChannelError)?.location == location
        }
    }
}
