import Foundation
import Testing
@testable import ChannelKit
@testable import ChannelKitClawChat
import ChannelKitTesting

/// The pure parts: configuration, protocol rules, envelopes, frames, fragments.
@Suite("ClawChat protocol rules")
struct ClawChatProtocolTests {
    let account = AccountKey(.clawchat, "main")

    // MARK: Configuration

    func parse(_ json: String, env: [String: String] = [:], files: [String: String] = [:]) throws -> (ClawChatAccountSettings?, [ConfigIssue]) {
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8))
        let environment = ConfigEnvironment(variables: env, baseDirectory: "/etc/ck") { path in
            guard let text = files[path] else { throw CocoaError(.fileReadNoSuchFile) }
            return Data(text.utf8)
        }
        let config = ConfigObject(value, path: "$.channels.clawchat.accounts.main", environment: environment)
        let settings = ClawChatAdapter().parseAccount(config) as? ClawChatAccountSettings
        return (settings, config.issues)
    }

    @Test func accountSettingsParseWithDefaultsAndSecretSources() throws {
        let (settings, issues) = try parse(#"""
            {"baseUrl":"https://app.clawling.com","accessToken":"a.b.c","refreshTokenFile":"refresh.txt","userId":"usr_1"}
            """#, files: ["/etc/ck/refresh.txt": "r-token\n"])
        #expect(issues.isEmpty)
        let s = try #require(settings)
        #expect(s.websocketURL.absoluteString == "wss://app.clawling.com/ws")
        #expect(s.mediaBaseURL == s.baseURL)
        #expect(s.refreshToken.reveal() == "r-token")
        #expect(s.userID == "usr_1" && s.deviceID == nil && s.wsDeviceID == nil && s.enabled)
        #expect(s.url("/v1/auth/refresh").absoluteString == "https://app.clawling.com/v1/auth/refresh")

        let (local, _) = try parse(#"""
            {"baseUrl":"http://127.0.0.1:8080/api/","accessTokenEnv":"CC_A","refreshToken":"r","deviceId":"clawchat-plugin-openclaw",
             "wsDeviceId":"host-1","mediaBaseUrl":"https://media.example","enabled":false}
            """#, env: ["CC_A": "env-access"])
        let l = try #require(local)
        #expect(l.websocketURL.absoluteString == "ws://127.0.0.1:8080/api/ws")
        #expect(l.mediaUploadURL.absoluteString == "https://media.example/media/upload")
        #expect(l.accessToken.reveal() == "env-access" && !l.enabled && l.deviceID == "clawchat-plugin-openclaw" && l.wsDeviceID == "host-1")
    }

    @Test func accountSettingsReportEveryProblemWithItsPath() throws {
        let (settings, issues) = try parse(#"""
            {"baseUrl":"ftp://x","websocketUrl":"https://x/ws","accessToken":"a","accessTokenEnv":"A","deviceId":"",
             "userId":"","enabled":"yes","colour":"blue"}
            """#)
        #expect(settings == nil)
        let paths = Set(issues.map(\.path))
        let base = "$.channels.clawchat.accounts.main."
        for key in ["baseUrl", "websocketUrl", "accessTokenEnv", "refreshToken", "deviceId", "userId", "enabled", "colour"] {
            #expect(paths.contains(base + key), "no issue at \(key): \(issues)")
        }
        #expect(!issues.map(\.message).joined().contains("\"a\""))
    }

    @Test func settingsDescriptionRedactsTokens() {
        let s = ClawChatAccountSettings(baseURL: URL(fileURLWithPath: "/"), accessToken: Secret("AT-123"), refreshToken: Secret("RT-456"))
        #expect(!"\(s)".contains("AT-123") && !"\(s)".contains("RT-456"))
        #expect(!String(reflecting: s).contains("AT-123"))
    }

    // MARK: Session rules

    @Test func onlyTheExactReasonRefreshes() {
        #expect(ClawChatSessionRules.helloFail(reason: "authentication failed") == .refreshToken)
        for reason in ["Authentication failed", "authentication failed ", "remote auth service unavailable", "auth service unavailable",
                       "nonce mismatch", "invalid connect frame", "", "authentication failed: expired"] {
            #expect(ClawChatSessionRules.helloFail(reason: reason) == .reconnectSameToken, "\(reason)")
        }
    }

    @Test func closeCodesMapToWaits() {
        let c = ClawChatAdapter.Configuration()
        func status(_ code: UInt16, _ reason: String = "") -> WebSocketCloseStatus {
            WebSocketCloseStatus(code: WebSocketCloseCode(code), reason: reason, initiatedByPeer: true)
        }
        #expect(ClawChatSessionRules.closeAction(status(4001), configuration: c).after == .seconds(5))
        #expect(ClawChatSessionRules.closeAction(status(4002, #"{"retry_after_ms":90000}"#), configuration: c).after == .seconds(90))
        #expect(ClawChatSessionRules.closeAction(status(4002, "150000"), configuration: c).after == .seconds(150))
        #expect(ClawChatSessionRules.closeAction(status(4002, "slow down"), configuration: c).after == .seconds(60))
        #expect(ClawChatSessionRules.closeAction(status(4002, #"{"retry_after_ms":-5}"#), configuration: c).after == .seconds(60))
        let tooBig = ClawChatSessionRules.closeAction(status(1009), configuration: c)
        #expect(tooBig.dropLastFrame && tooBig.after == nil)
        #expect(ClawChatSessionRules.closeAction(status(1006), configuration: c).after == nil)
        #expect(ClawChatSessionRules.closeAction(nil, configuration: c).after == nil)
    }

    @Test func chatIDsMustBeCnvULIDs() {
        #expect(ClawChatSessionRules.isValidChatID("cnv_01JZ0000000000000000000000"))
        for bad in ["", "cnv_", "cnv_xyz", "usr_01JZ0000000000000000000000", "cnv_01JZ000000000000000000000", "CNV_01JZ0000000000000000000000"] {
            #expect(!ClawChatSessionRules.isValidChatID(bad), "\(bad)")
        }
    }

    // MARK: REST envelope

    func response(_ status: Int, _ body: String, headers: HTTPHeaders = [:]) -> HTTPResponse {
        HTTPResponse(status: status, headers: headers, body: Data(body.utf8))
    }

    func envelopeError(_ r: HTTPResponse) -> ChannelError? {
        let request = HTTPRequest(method: .get, url: URL(string: "https://x/v1/users/me") ?? URL(fileURLWithPath: "/"))
        do {
            _ = try ClawChatEnvelope.data(of: r, request: request, account: account, time: .system)
            return nil
        } catch let error as ChannelError { return error } catch { return nil }
    }

    @Test func theEnvelopeIsReadEvenOnNon2xxAndTheStatusIsOnlyAFallback() throws {
        let request = HTTPRequest(method: .get, url: URL(string: "https://x/v1/users/me") ?? URL(fileURLWithPath: "/"))
        let ok = try ClawChatEnvelope.data(of: response(200, #"{"code":0,"msg":"ok","data":{"id":"usr_1"}}"#), request: request, account: account, time: .system)
        #expect(ok["id"]?.stringValue == "usr_1")
        let media401 = envelopeError(response(401, #"{"code":40101,"msg":"bad token"}"#))
        #expect(media401?.code == .unauthorized && media401?.platformCode == 40101 && media401?.platformMessage == "bad token")
        let business = envelopeError(response(200, #"{"code":21001,"message":"pending owner approval"}"#))
        #expect(business?.code == .platform && business?.platformCode == 21001 && business?.platformMessage == "pending owner approval")
        let tooLarge = envelopeError(response(413, #"{"code":41301,"msg":"too large"}"#))
        #expect(tooLarge?.code == .platform && tooLarge?.platformCode == 41301)
        let limited = envelopeError(response(429, #"{"code":42900,"msg":"slow"}"#, headers: ["Retry-After": "7"]))
        #expect(limited?.code == .rateLimited && limited?.retryAfter == .seconds(7))
        let proxy = envelopeError(response(502, "<html>bad gateway</html>"))
        #expect(proxy?.code == .platform && proxy?.httpStatus == 502 && proxy?.platformCode == nil)
        #expect(envelopeError(response(403, ""))?.code == .unauthorized)
        #expect(envelopeError(response(200, "not json"))?.code == .malformedInput)
        #expect(envelopeError(response(200, #"{"data":{}}"#))?.code == .malformedInput)
    }

    @Test func refreshResponsesAreClassifiedByCode() {
        let rotated = ClawChatTokenRefresher.classify(response(200, #"{"code":0,"msg":"ok","data":{"access_token":"a2","refresh_token":"r2"}}"#))
        #expect(rotated == .rotated(CredentialPair(accessToken: Secret("a2"), refreshToken: Secret("r2"))))
        if case .transient = ClawChatTokenRefresher.classify(response(200, #"{"code":0,"data":{"access_token":"a2"}}"#)) {} else { Issue.record("half a pair must be transient") }
        #expect(ClawChatTokenRefresher.classify(response(200, #"{"code":10003,"msg":"revoked"}"#)) == .permanent(code: 10003, message: "revoked"))
        #expect(ClawChatTokenRefresher.classify(response(200, #"{"code":400,"msg":"bad device"}"#)) == .permanent(code: 400, message: "bad device"))
        #expect(ClawChatTokenRefresher.classify(response(200, #"{"code":1,"msg":"internal"}"#)) == .transient(code: 1, message: "internal"))
        #expect(ClawChatTokenRefresher.classify(response(200, #"{"code":77777}"#)) == .transient(code: 77777, message: "refresh failed (HTTP 200)"))
        if case .transient = ClawChatTokenRefresher.classify(response(502, "<html/>")) {} else { Issue.record("a proxy error must be transient") }
        if case .transient = ClawChatTokenRefresher.classify(response(200, "")) {} else { Issue.record("an empty body must be transient") }
    }

    // MARK: Frames

    @Test func malformedFramesAreTypedErrorsNeverCrashes() {
        for text in ["", "nope", "[]", "42", "null", #"{"event":7}"#, #"{"trace_id":"x"}"#, #"{"event":""}"#, String(repeating: "[", count: 10_000)] {
            do {
                _ = try ClawChatFrame.decode(text)
                Issue.record("decoded \(text.prefix(20))")
            } catch let error as ChannelError {
                #expect(error.code == .malformedInput)
            } catch {
                Issue.record("untyped error \(error)")
            }
        }
        let legacy = try? ClawChatFrame.decode(#"{"type":"res","requestId":"r1","payload":{"data":{"nonce":"n-1"}}}"#)
        #expect(legacy?.nonce == "n-1" && legacy?.traceID == "r1")
        let nullPayload = try? ClawChatFrame.decode(#"{"event":"replay.done","payload":null,"dseq":3}"#)
        #expect(nullPayload?.payload == .object([:]) && nullPayload?.dseq == 3)
    }

    func frame(_ json: String) throws -> ClawChatFrame { try ClawChatFrame.decode(json) }

    @Test func inboundFramesBecomeTypedMessages() throws {
        let f = try frame(#"""
            {"version":"2","event":"message.reply","trace_id":"t","emitted_at":1767225600123,"chat_id":"cnv_1","chat_type":"group",
             "sender":{"id":"usr_bob","type":"direct","nick_name":"Bob"},
             "payload":{"message_id":"msg-01JZ0000000000000000000001","message_mode":"",
               "message":{"body":{"fragments":[{"kind":"mention","user_id":"usr_me","display":"Me"},{"kind":"text","text":" look "},
                 {"kind":"mention","user_id":"usr_carol","display":"Carol"},{"kind":"image","url":"https://m/1.png","name":"1.png","mime":"image/png","size":12,"width":3},
                 {"kind":"file","url":"https://m/a.pdf","name":"a.pdf"},{"kind":"audio","url":"https://m/a.ogg","duration":1200},
                 {"kind":"video","url":"https://m/v.mp4"},{"kind":"sticker","id":"s1"},{"kind":"image"}]},
                 "context":{"mentions":["usr_me",{"user_id":"usr_x"},null],"reply":{"reply_to_msg_id":"msg-01JZ0000000000000000000000"}}}}}
            """#)
        guard case .message(let m) = ClawChatInboundParser.parse(f, account: account, ownUserID: "usr_me") else { Issue.record("not a message"); return }
        #expect(m.origin.peer == Peer(.group, "cnv_1"))
        #expect(m.origin.messageID == "msg-01JZ0000000000000000000001")
        #expect(m.mentionsBot)
        #expect(m.text == "look @Carol[unsupported sticker][image without url]")
        #expect(m.attachments.map(\.kind) == [.image, .file, .audio, .video])
        #expect(m.attachments.first == Attachment(kind: .image, url: "https://m/1.png", name: "1.png", mimeType: "image/png", size: 12))
        #expect(m.replyToMessageID == "msg-01JZ0000000000000000000000")
        #expect(m.sender == Sender(id: "usr_bob", name: "Bob"))
        #expect(m.timestamp == Date(timeIntervalSince1970: 1_767_225_600.123))
        #expect(m.origin.replyContext[ClawChatInboundParser.ReplyKey.senderNick] == "Bob")

        let everyone = try frame(#"{"event":"message.send","chat_id":"cnv_2","sender":{"id":"usr_bob"},"payload":{"message_id":"m","message":{"body":{"fragments":[{"kind":"mention","user_id":"all","display":"all"},{"kind":"text","text":" hi"}]},"context":{"mentions":null}}}}"#)
        guard case .message(let e) = ClawChatInboundParser.parse(everyone, account: account, ownUserID: "usr_me") else { Issue.record("not a message"); return }
        #expect(e.mentionsBot && e.text == "@all hi" && e.origin.peer.kind == .direct)
    }

    @Test func inboundSkipsAndInvalidFrames() throws {
        func outcome(_ json: String) throws -> String {
            switch ClawChatInboundParser.parse(try frame(json), account: account, ownUserID: "usr_me") {
            case .message: "message"
            case .skipped(let why): "skipped: \(why)"
            case .invalid(let error): "invalid \(error.location ?? "")"
            }
        }
        let body = #""message":{"body":{"fragments":[{"kind":"text","text":"x"}]}}"#
        #expect(try outcome(#"{"event":"message.send","chat_id":"c","sender":{"id":"usr_me"},"payload":{"message_id":"m",\#(body)}}"#) == "skipped: self-echo")
        #expect(try outcome(#"{"event":"message.send","chat_id":"c","sender":{"id":"u"},"payload":{"message_id":"m","message_mode":"thinking",\#(body)}}"#) == "skipped: message_mode thinking")
        #expect(try outcome(#"{"event":"message.reply","chat_id":"c","sender":{"id":"u"},"payload":{"message_id":"m","stream_merged":true,\#(body)}}"#).hasPrefix("skipped"))
        #expect(try outcome(#"{"event":"message.send","chat_id":"c","sender":{"id":"u"},"payload":{"message_id":"m","message_mode":"normal",\#(body)}}"#) == "message")
        #expect(try outcome(#"{"event":"message.send","sender":{"id":"u"},"payload":{"message_id":"m",\#(body)}}"#) == "invalid $.chat_id")
        #expect(try outcome(#"{"event":"message.send","chat_id":"c","payload":{"message_id":"m",\#(body)}}"#) == "invalid $.sender.id")
        #expect(try outcome(#"{"event":"message.send","chat_id":"c","sender":{"id":"u"},"payload":{\#(body)}}"#) == "invalid $.payload.message_id")
        #expect(try outcome(#"{"event":"message.send","chat_id":"c","sender":{"id":"u"},"payload":{"message_id":"m"}}"#) == "invalid $.payload.message")
    }

    @Test func uplinkFramesCarryVersion2AndNeverStreaming() throws {
        let text = try ClawChatWire.encode(ClawChatWire.Envelope(
            event: "message.send", trace_id: "t1", chat_id: "cnv_1",
            payload: ClawChatWire.MessagePayload(message_id: "msg-1", message: .init(body: .init(fragments: [.text("hi")]), context: .init(mentions: [], reply: nil)))))
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(value["version"]?.stringValue == "2")
        #expect(value["payload"]?["message"]?["context"]?["reply"] == .null)
        #expect(value["payload"]?["message"]?["streaming"] == nil)
        #expect(value["payload"]?["message_mode"]?.stringValue == "normal")
        #expect(value["sender"] == nil && value["chat_type"] == nil)
        let connect = try ClawChatWire.encode(ClawChatWire.Envelope(event: "connect", trace_id: "c", chat_id: nil, payload: ClawChatWire.ConnectPayload(
            token: "tok", nonce: "n", device_id: "d", client_version: "v", protocol_version: 2, capabilities: ClawChatWire.capabilities)))
        #expect(connect.contains(#""protocol_version":2"#) && !connect.contains("chat_id") && !connect.contains("reliable_delivery"))
    }

    @Test func derivedDeviceIDsAreStablePerAccountAndDistinctAcrossAccounts() {
        let a = ClawChatDeviceRecord.derivedWSDeviceID(account: AccountKey(.clawchat, "a"), host: "h1")
        #expect(a == ClawChatDeviceRecord.derivedWSDeviceID(account: AccountKey(.clawchat, "a"), host: "h1"))
        #expect(a != ClawChatDeviceRecord.derivedWSDeviceID(account: AccountKey(.clawchat, "b"), host: "h1"))
        #expect(a.utf8.count <= 128 && a.hasPrefix("channelkit-"))
        #expect(ClawChatDeviceRecord.fingerprint(Secret("a"), Secret("b")) != ClawChatDeviceRecord.fingerprint(Secret("a"), Secret("c")))
    }
}
