import Foundation
import Testing
@testable import ChannelKit
import ChannelKitTesting

private struct Greeting: Codable, Equatable {
    var name: String
    var count: Int
}

/// Runs `body` with a loopback server and a fresh transport, shutting both down after.
private func withServer(
    transport configuration: URLSessionHTTPTransport.Configuration = .init(),
    _ body: (LoopbackHTTPServer, URLSessionHTTPTransport) async throws -> Void
) async throws {
    let server = try LoopbackHTTPServer()
    let transport = URLSessionHTTPTransport(configuration: configuration)
    do {
        try await body(server, transport)
    } catch {
        transport.shutdown()
        await server.shutdown()
        throw error
    }
    transport.shutdown()
    await server.shutdown()
}

/// The error `body` throws, as a ChannelError.
private func channelError(_ body: () async throws -> Void) async -> ChannelError? {
    do {
        try await body()
        return nil
    } catch let error as ChannelError {
        return error
    } catch {
        Issue.record("not a ChannelError: \(error)")
        return nil
    }
}

@Suite("URLSessionHTTPTransport against LoopbackHTTPServer", .timeLimit(.minutes(1)))
struct HTTPTransportTests {
    @Test func getJSONRoundTrip() async throws {
        try await withServer { server, transport in
            server.route(.get, "/greeting") { request in
                .json(Greeting(name: request.queryValue("name") ?? "?", count: 3), headers: ["X-Reply": "yes"])
            }
            let response = try await transport.send(HTTPRequest(url: server.url("/greeting?name=ada")))
            #expect(response.status == 200)
            #expect(response.headers["x-reply"] == "yes")
            #expect(response.headers["Content-Type"] == "application/json; charset=utf-8")
            #expect(try response.requireSuccess().decodeJSON(Greeting.self) == Greeting(name: "ada", count: 3))
            let request = try #require(server.requests.first)
            #expect(request.method == .get)
            #expect(request.body.isEmpty)
            #expect(request.headers["User-Agent"] == "ChannelKit/0.1")
        }
    }

    @Test func postJSONSendsBodyAndHeaders() async throws {
        try await withServer(transport: .init(userAgent: "Probe/9")) { server, transport in
            server.route(.post, "/echo") { request in
                .json(raw: request.text, status: 201, headers: ["X-Seen-Trace": request.headers["X-Trace"] ?? "none"])
            }
            let request = try HTTPRequest.json(.post, url: server.url("/echo"), body: Greeting(name: "bo", count: 1),
                                               headers: ["X-Trace": "t-1", "X-Multi": "a"])
            let response = try await transport.send(request)
            #expect(response.status == 201)
            #expect(response.headers["X-Seen-Trace"] == "t-1")
            #expect(try response.decodeJSON(Greeting.self) == Greeting(name: "bo", count: 1))
            let seen = try #require(server.requests.first)
            #expect(seen.method == .post)
            #expect(seen.headers["Content-Type"] == "application/json; charset=utf-8")
            #expect(seen.headers["Accept"] == "application/json")
            #expect(seen.headers["X-Trace"] == "t-1")
            #expect(seen.headers["User-Agent"] == "Probe/9")
            #expect(try seen.decodeJSON(Greeting.self) == Greeting(name: "bo", count: 1))
        }
    }

    @Test(arguments: [200, 202, 204, 400, 404, 409, 500, 503])
    func nonSuccessStatusesAreReturnedNotThrown(status: Int) async throws {
        try await withServer { server, transport in
            server.route(.put, "/status") { _ in
                status == 204 ? LoopbackHTTPServer.Response(status: 204) : .text("status body \(status)", status: status)
            }
            let response = try await transport.send(HTTPRequest(method: .put, url: server.url("/status"), body: Data("x".utf8)))
            #expect(response.status == status)
            #expect(response.isSuccess == (200..<300).contains(status))
            #expect(String(decoding: response.body, as: UTF8.self) == (status == 204 ? "" : "status body \(status)"))
        }
    }

    @Test func chunkedResponseIsReassembled() async throws {
        try await withServer { server, transport in
            let items = (0..<200).map { Greeting(name: "n\($0)", count: $0) }
            server.route(.get, "/chunked") { _ in .json(items).chunked(chunkSize: 97) }
            let response = try await transport.send(HTTPRequest(url: server.url("/chunked")))
            #expect(response.headers["Transfer-Encoding"] == nil || response.headers["Transfer-Encoding"]?.lowercased() == "chunked")
            #expect(try response.decodeJSON([Greeting].self) == items)
        }
    }

    @Test func sequentialRequestsReuseOneConnection() async throws {
        try await withServer { server, transport in
            server.fallback { request in .text("ok \(request.path)") }
            for i in 0..<4 {
                let response = try await transport.send(HTTPRequest(url: server.url("/r\(i)")))
                #expect(String(decoding: response.body, as: UTF8.self) == "ok /r\(i)")
            }
            let requests = server.requests
            #expect(requests.count == 4)
            #expect(Set(requests.map(\.connectionID)).count == 1, "connections: \(requests.map(\.connectionID))")
            #expect(requests.map(\.indexOnConnection) == [0, 1, 2, 3])
            #expect(server.acceptedConnectionCount == 1)
        }
    }

    @Test func largeBodiesTravelBothWays() async throws {
        try await withServer { server, transport in
            server.route(.post, "/mirror") { request in
                LoopbackHTTPServer.Response(headers: ["Content-Type": "application/octet-stream"], body: request.body)
            }
            let payload = Data((0..<(1024 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) })
            let response = try await transport.send(HTTPRequest(method: .post, url: server.url("/mirror"), body: payload))
            #expect(response.body == payload)
            #expect(server.requests.first?.body == payload)
        }
    }

    @Test func responseOverTheSizeLimitIsRefused() async throws {
        try await withServer(transport: .init(maximumResponseSize: 64 * 1024)) { server, transport in
            server.route(.get, "/big") { _ in LoopbackHTTPServer.Response(body: Data(count: 256 * 1024)) }
            server.route(.get, "/big-chunked") { _ in LoopbackHTTPServer.Response(body: Data(count: 256 * 1024)).chunked(chunkSize: 8192) }
            for path in ["/big", "/big-chunked"] {
                let error = await channelError { _ = try await transport.send(HTTPRequest(url: server.url(path))) }
                #expect(error?.code == .malformedInput, "\(path): \(String(describing: error))")
                #expect(error?.message.contains("65536-byte limit") == true)
            }
            // The transport still works afterwards.
            server.route(.get, "/small") { _ in .text("fine") }
            let small = try await transport.send(HTTPRequest(url: server.url("/small")))
            #expect(small.status == 200)
        }
    }

    @Test func perRequestTimeoutAgainstAHangingRoute() async throws {
        try await withServer { server, transport in
            server.route(.get, "/hang") { _ in .hang }
            server.route(.get, "/warm") { _ in .text("warm") }
            // Open the connection first so the 200 ms cover only the request itself.
            _ = try await transport.send(HTTPRequest(url: server.url("/warm")))
            let clock = ContinuousClock()
            let start = clock.now
            let error = await channelError {
                _ = try await transport.send(HTTPRequest(url: server.url("/hang?ticket=tk-SECRET-0001"), timeout: .milliseconds(200)))
            }
            let elapsed = clock.now - start
            #expect(error?.code == .timeout)
            // Bounded by the request's own timeout, not URLSession's 60 s default; the slack
            // is for a loaded 2-core CI machine (a full parallel suite run took 1.0 s here).
            #expect(elapsed < .seconds(5), "took \(elapsed)")
            let description = String(describing: error)
            #expect(description.contains("GET http://127.0.0.1:\(server.port)/hang"))
            #expect(!description.contains("tk-SECRET-0001"))
            // The client gave up on the connection; the server sees it close. (On a
            // starved machine the request may not have left the client in 200 ms.)
            if let request = server.requests.first(where: { $0.path == "/hang" }) {
                await server.waitForConnectionClose(request.connectionID)
                #expect(server.closedConnectionIDs.contains(request.connectionID))
            }
        }
    }

    @Test func timeoutIsMeasuredOnTheInjectedClock() async throws {
        let clock = TestClock()
        try await withServer(transport: .init(timeout: .seconds(30), timeSource: clock.timeSource)) { server, transport in
            server.route(.get, "/hang") { _ in .hang }
            let call = Task { try await transport.send(HTTPRequest(url: server.url("/hang"))) }
            await server.waitForRequests(1)
            #expect(await clock.waitForSleepers(1))
            await clock.advance(by: .seconds(29))
            #expect(server.closedConnectionIDs.isEmpty)
            await clock.advance(by: .seconds(1))
            let error = await channelError { _ = try await call.value }
            #expect(error?.code == .timeout)
            #expect(error?.message.contains("30.0 s") == true)
        }
    }

    @Test func cancellingTheCallerCancelsTheRequestPromptly() async throws {
        try await withServer { server, transport in
            server.route(.post, "/hang") { _ in .hang }
            let call = Task {
                try await transport.send(HTTPRequest(method: .post, url: server.url("/hang"), body: Data("b".utf8)))
            }
            let request = try #require(await server.waitForRequests(1).first)
            let clock = ContinuousClock()
            let start = clock.now
            call.cancel()
            let error = await channelError { _ = try await call.value }
            #expect(error?.code == .cancelled)
            #expect(clock.now - start < .seconds(5), "prompt: not the 60 s request timeout (slack for a loaded machine)")
            await server.waitForConnectionClose(request.connectionID)
            #expect(transport.requestsInFlight == 0)
        }
    }

    @Test func alreadyCancelledCallerNeverSends() async throws {
        try await withServer { server, transport in
            server.fallback { _ in .text("should not be called") }
            let url = server.url("/x")
            let call = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return try await transport.send(HTTPRequest(url: url))
            }
            let error = await channelError { _ = try await call.value }
            #expect(error?.code == .cancelled)
            #expect(transport.requestsInFlight == 0)
        }
    }

    @Test func connectionRefusedIsATransportError() async throws {
        // Port 1: nothing listens there, and no parallel test can bind it (a freed
        // ephemeral port could be reused by another test's server).
        let url = URL(string: "http://127.0.0.1:1/nothing?token=tok-REFUSED-123456")!
        let transport = URLSessionHTTPTransport()
        defer { transport.shutdown() }
        let error = await channelError { _ = try await transport.send(HTTPRequest(url: url, timeout: .seconds(10))) }
        #expect(error?.code == .transport)
        #expect(error?.underlying is SendableErrorBox)
        #expect(!String(describing: error).contains("tok-REFUSED-123456"))
    }

    @Test func getWithABodyIsRefusedBeforeSending() async throws {
        try await withServer { server, transport in
            let error = await channelError {
                _ = try await transport.send(HTTPRequest(method: .get, url: server.url("/x"), body: Data("b".utf8)))
            }
            #expect(error?.code == .invalidState)
            #expect(server.requests.isEmpty)
        }
    }

    @Test func droppedConnectionIsATransportError() async throws {
        try await withServer { server, transport in
            server.route(.get, "/drop") { _ in .dropConnection }
            let error = await channelError { _ = try await transport.send(HTTPRequest(url: server.url("/drop"))) }
            #expect(error?.code == .transport)
        }
    }

    @Test func shutdownFailsInFlightAndLaterRequestsWithStopped() async throws {
        try await withServer { server, transport in
            server.route(.get, "/hang") { _ in .hang }
            let call = Task { try await transport.send(HTTPRequest(url: server.url("/hang"))) }
            await server.waitForRequests(1)
            transport.shutdown()
            let inFlight = await channelError { _ = try await call.value }
            #expect(inFlight?.code == .stopped)
            let later = await channelError { _ = try await transport.send(HTTPRequest(url: server.url("/hang"))) }
            #expect(later?.code == .stopped)
        }
    }

    @Test func crossOriginRedirectDropsCredentialsSameOriginKeepsThem() async throws {
        let other = try LoopbackHTTPServer()
        defer { Task { await other.shutdown() } }
        other.route(.get, "/landing") { request in .text("landed") }
        try await withServer { server, transport in
            server.route(.get, "/away") { _ in
                LoopbackHTTPServer.Response(status: 302, headers: ["Location": other.url("/landing").absoluteString])
            }
            server.route(.get, "/here") { _ in LoopbackHTTPServer.Response(status: 302, headers: ["Location": "/landing"]) }
            server.route(.get, "/landing") { _ in .text("landed home") }
            let headers: HTTPHeaders = ["Authorization": "Bearer redirect-secret-1", "X-Plain": "kept"]
            let away = try await transport.send(HTTPRequest(url: server.url("/away"), headers: headers))
            #expect(String(decoding: away.body, as: UTF8.self) == "landed")
            let landed = try #require(other.requests.first)
            #expect(landed.headers["Authorization"] == nil)
            #expect(landed.headers["X-Plain"] == "kept")

            let here = try await transport.send(HTTPRequest(url: server.url("/here"), headers: headers))
            #expect(String(decoding: here.body, as: UTF8.self) == "landed home")
            #expect(server.requests.last?.headers["Authorization"] == "Bearer redirect-secret-1")
        }
        await other.shutdown()
    }

    @Test func secretsNeverReachErrorsOrLogs() async throws {
        let log = CapturingLogHandler()
        let secrets = ["qs-SECRET-aaaa1111", "hdr-SECRET-bbbb2222", "body-SECRET-cccc3333"]
        try await withServer(transport: .init(logger: log.logger())) { server, transport in
            server.route(.post, prefix: "/v1") { _ in
                .json(raw: #"{"code":11255,"message":"invalid token","access_token":"body-SECRET-cccc3333"}"#, status: 401)
            }
            server.route(.get, "/hang") { _ in .hang }
            let request = HTTPRequest(method: .post, url: server.url("/v1/send?token=qs-SECRET-aaaa1111&x=1"),
                                      headers: ["Authorization": "QQBot hdr-SECRET-bbbb2222"], body: Data("{}".utf8))
            var texts = [request.description, request.redactedURL]

            let response = try await transport.send(request)
            #expect(server.requests.first?.headers["Authorization"] == "QQBot hdr-SECRET-bbbb2222") // really sent
            let rejected = await channelError { try response.requireSuccess(request: request) }
            #expect(rejected?.code == .unauthorized)
            texts.append(String(describing: rejected))
            let undecodable = await channelError { _ = try response.decodeJSON([Int].self) }
            texts.append(String(describing: undecodable))
            texts.append(response.description)

            var hanging = request
            hanging.method = .get
            hanging.body = nil
            hanging.url = server.url("/hang?ticket=qs-SECRET-aaaa1111")
            hanging.timeout = .milliseconds(100)
            let timedOut = await channelError { _ = try await transport.send(hanging) }
            #expect(timedOut?.code == .timeout, "\(String(describing: timedOut))")
            texts.append(String(describing: timedOut))

            texts += log.lines.map(\.description)
            #expect(log.lines.count >= 2)
            for text in texts {
                for secret in secrets {
                    #expect(!text.contains(secret), "\(secret) leaked in: \(text)")
                }
            }
        }
    }
}

@Suite("HTTP envelope helpers")
struct HTTPEnvelopeTests {
    struct TokenReply: Decodable {
        struct Payload: Decodable { var access_token: String; var expires_in: Int }
        var code: Int
        var data: Payload
    }
    struct ItemList: Decodable {
        struct Item: Decodable { var id: Int; var name: String? }
        var items: [Item]
    }

    func response(_ json: String, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: Data(json.utf8))
    }

    @Test func missingKeyNamesItsPath() async throws {
        let error = await channelError { _ = try response(#"{"code":0,"data":{"expires_in":7200}}"#).decodeJSON(TokenReply.self) }
        #expect(error?.code == .malformedInput)
        #expect(error?.location == "$.data.access_token")
        #expect(error?.message.contains("key not found") == true)
    }

    @Test func typeMismatchNamesArrayIndexPath() async throws {
        let body = #"{"items":[{"id":1},{"id":2},{"id":3},{"id":"four"}]}"#
        let error = await channelError { _ = try response(body).decodeJSON(ItemList.self) }
        #expect(error?.location == "$.items[3].id")
        #expect(error?.message.contains("type mismatch, expected Int") == true)
        #expect(error?.message.contains(#""four""#) == true) // the excerpt
    }

    @Test func nullValueIsReported() async throws {
        let error = await channelError { _ = try response(#"{"code":0,"data":{"access_token":null,"expires_in":1}}"#).decodeJSON(TokenReply.self) }
        #expect(error?.location == "$.data.access_token")
        #expect(error?.message.contains("missing or null") == true)
    }

    @Test func notJSONAtAll() async throws {
        let error = await channelError { _ = try response("<html>502 Bad Gateway</html>", status: 502).decodeJSON(TokenReply.self) }
        #expect(error?.code == .malformedInput)
        #expect(error?.location == "$")
        #expect(error?.message.contains("not valid JSON") == true)
        #expect(error?.message.contains("<html>502 Bad Gateway</html>") == true)
        let empty = await channelError { _ = try HTTPResponse(status: 200).decodeJSON(TokenReply.self) }
        #expect(empty?.message.contains("empty") == true)
    }

    @Test func oddKeysAreQuotedInThePath() {
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int?
            init(stringValue: String) { self.stringValue = stringValue }
            init(intValue: Int) { self.stringValue = "Index \(intValue)"; self.intValue = intValue }
        }
        #expect(JSONPath.render([]) == "$")
        #expect(JSONPath.render([Key(stringValue: "a b"), Key(intValue: 0), Key(stringValue: "x_y")]) == #"$["a b"][0].x_y"#)
        #expect(JSONPath.render([Key(stringValue: "9lives")]) == #"$["9lives"]"#)
    }

    @Test func requireSuccessPassesThrough2xx() throws {
        let ok = response("{}", status: 204)
        #expect(try ok.requireSuccess() == ok)
    }

    @Test(arguments: [(401, ChannelError.Code.unauthorized), (403, .unauthorized), (429, .rateLimited), (400, .platform),
                      (404, .platform), (500, .platform), (503, .platform)])
    func requireSuccessMapsStatus(status: Int, code: ChannelError.Code) async throws {
        let request = HTTPRequest(method: .post, url: URL(string: "https://api.example.com/v2/send")!)
        let error = await channelError { try response(#"{"code":40001,"msg":"nope"}"#, status: status).requireSuccess(request: request) }
        #expect(error?.code == code)
        #expect(error?.httpStatus == status)
        #expect(error?.message.contains("HTTP \(status) from POST https://api.example.com/v2/send") == true)
        #expect(error?.message.contains(#""msg":"nope""#) == true)
    }

    @Test func retryAfterSecondsIsParsed() async throws {
        var limited = response(#"{"code":22009,"message":"rate limited"}"#, status: 429)
        limited.headers["Retry-After"] = "17"
        let error = await channelError { try limited.requireSuccess() }
        #expect(error?.code == .rateLimited)
        #expect(error?.retryAfter == .seconds(17))
        #expect(error?.message.contains("retry after 17.0 s") == true)
    }

    @Test func retryAfterHTTPDateIsMeasuredFromTheInjectedWallClock() async throws {
        let clock = TestClock() // wall starts 2026-01-01T00:00:00Z
        var limited = response("", status: 429)
        limited.headers["Retry-After"] = "Thu, 01 Jan 2026 00:01:30 GMT"
        let error = await channelError { try limited.requireSuccess(timeSource: clock.timeSource) }
        #expect(error?.retryAfter == .seconds(90))
        limited.headers["Retry-After"] = "Wed, 31 Dec 2025 23:00:00 GMT"
        #expect(limited.retryAfter(now: clock.wallNow) == .zero)
        limited.headers["Retry-After"] = "soon"
        #expect(limited.retryAfter(now: clock.wallNow) == nil)
        limited.headers["Retry-After"] = nil
        #expect(limited.retryAfter(now: clock.wallNow) == nil)
    }

    @Test func jsonBuilderSetsContentTypeAndKeepsCallerHeaders() throws {
        let url = URL(string: "https://example.com/x")!
        let request = try HTTPRequest.json(.patch, url: url, body: ["a": 1], headers: ["Accept": "text/plain"], timeout: .seconds(3))
        #expect(request.method == .patch)
        #expect(request.headers["Content-Type"] == HTTPRequest.jsonContentType)
        #expect(request.headers["Accept"] == "text/plain")
        #expect(request.body == Data(#"{"a":1}"#.utf8))
        #expect(request.timeout == .seconds(3))
    }

    @Test func jsonBuilderReportsUnencodableFields() async throws {
        struct Bad: Encodable { var values: [Double] }
        let error = await channelError {
            _ = try HTTPRequest.json(.post, url: URL(string: "https://example.com/x?token=abcdef123")!, body: Bad(values: [1, .nan]))
        }
        #expect(error?.code == .malformedInput)
        #expect(error?.location == "$.values[1]")
        #expect(error?.message.contains("abcdef123") == false)
    }

    @Test func requestDescriptionRedacts() {
        let url = URL(string: "https://user:pa55word-xyz@api.example.com/bot123456:ABCDEFsecret/send?ticket=t-98765&page=2&access_token=at-55555#frag")!
        let request = HTTPRequest(method: .get, url: url, headers: ["Authorization": "Bearer abcdefghijkl", "X-Api-Key": "k-1234567"])
        let text = request.description
        for secret in ["pa55word-xyz", "ABCDEFsecret", "t-98765", "at-55555", "abcdefghijkl", "k-1234567"] {
            #expect(!text.contains(secret), "\(secret) in \(text)")
        }
        #expect(text.contains("page=2"))
        var dumped = ""
        dump(request, to: &dumped)
        var dumpedError = ""
        dump(HTTPStatusError(status: 401, response: HTTPResponse(status: 401, headers: ["Set-Cookie": "sid=cookie-77777"])), to: &dumpedError)
        for secret in ["pa55word-xyz", "t-98765", "abcdefghijkl", "k-1234567", "cookie-77777"] {
            #expect(!dumped.contains(secret) && !dumpedError.contains(secret), "\(secret) in dump")
        }
        #expect(text.contains("api.example.com"))
        #expect(HTTPMethod("OPTIONS").rawValue == "OPTIONS")
    }
}
