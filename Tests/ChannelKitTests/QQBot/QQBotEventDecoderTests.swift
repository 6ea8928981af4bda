import Foundation
import Testing
@testable import ChannelKit
@testable import ChannelKitQQBot

@Suite struct QQBotEventDecoderTests {
    static let account = AccountKey(.qqbot, "main")
    static let decoder = QQBotEventDecoder(account: account, botID: "bot")

    func message(_ frame: String) throws -> InboundMessage {
        guard case .message(_, let m) = try Self.decoder.decode(frame) else {
            Issue.record("not a message: \(frame)")
            throw ChannelError(.malformedInput, "not a message")
        }
        return m
    }

    @Test func c2cBecomesDirectPeerWithFixedAttachmentURL() throws {
        let m = try message(QQBotFixtures.c2c)
        #expect(m.origin == Origin(account: Self.account, peer: Peer(.direct, "E4F4AEA33253A2797FB897C50B81D7E1"), messageID: "ROBOT1.0_c2c0001",
                                   replyContext: ["scene": "c2c"]))
        #expect(m.sender.id == "E4F4AEA33253A2797FB897C50B81D7E1")
        #expect(m.text == "hello there")
        #expect(m.attachments == [Attachment(kind: .image, url: "https://multimedia.nt.qq.com/x", name: "a.png", mimeType: "image/png", size: 100)])
        #expect(m.timestamp == Date(timeIntervalSince1970: 1_795_399_200))
        #expect(m.dedupKeys == ["ROBOT1.0_c2c0001"])
        #expect(m.mentionsBot == false)
    }

    @Test func groupAtBecomesGroupPeerWithMentionStripped() throws {
        let m = try message(QQBotFixtures.group)
        #expect(m.origin.peer == Peer(.group, "G0001"))
        #expect(m.origin.replyContext == ["scene": "group"])
        #expect(m.sender.id == "M0001")
        #expect(m.text == "group hello")
        #expect(m.mentionsBot)
    }

    @Test func guildAtBecomesChannelPeerWithEscapesDecoded() throws {
        let m = try message(QQBotFixtures.guild)
        #expect(m.origin.peer == Peer(.channel, "ch1"))
        #expect(m.origin.replyContext == ["scene": "guild", "guildId": "g1"])
        #expect(m.sender == Sender(id: "1234", name: "小明", isBot: false))
        #expect(m.text == "你好 世界 😀")
        #expect(m.timestamp == Date(timeIntervalSince1970: 1_795_399_200.25))
    }

    @Test func guildDMIsDirectAndCarriesItsGuildForTheReply() throws {
        let m = try message(QQBotFixtures.dm)
        #expect(m.origin.peer == Peer(.direct, "1234"))
        #expect(m.origin.replyContext == ["scene": "guild-dm", "guildId": "dmguild1"])
        #expect(m.text == "private \"quoted\"")
        #expect(m.replyToMessageID == "prev01")
    }

    @Test func mentionOfSomeoneElseOrUnknownBotIsKept() throws {
        #expect(QQBotEventDecoder.stripMention("<@!other> hi", botID: "bot") == "<@!other> hi")
        #expect(QQBotEventDecoder.stripMention("<@bot> hi", botID: "bot") == "hi")
        #expect(QQBotEventDecoder.stripMention("  <@!bot>hi  ", botID: "bot") == "hi")
        #expect(QQBotEventDecoder.stripMention("<@!bot> hi", botID: nil) == "<@!bot> hi", "fail-closed while the bot id is unknown")
        #expect(QQBotEventDecoder.stripMention("<@!bot", botID: "bot") == "<@!bot")
        let unknown = QQBotEventDecoder(account: Self.account, botID: nil)
        guard case .message(_, let m) = try unknown.decode(QQBotFixtures.group) else { Issue.record("message expected"); return }
        #expect(m.mentionsBot == false)
    }

    @Test func urlsOnlyGainHttpsWhenProtocolRelative() {
        #expect(QQBotEventDecoder.fixURL("//a.qq.com/x") == "https://a.qq.com/x")
        #expect(QQBotEventDecoder.fixURL("http://a/x") == "http://a/x")
        #expect(QQBotEventDecoder.kind(of: "voice") == .audio)
        #expect(QQBotEventDecoder.kind(of: "video/mp4") == .video)
        #expect(QQBotEventDecoder.kind(of: "file") == .file)
    }

    @Test func controlFramesDecode() throws {
        guard case .hello(let interval) = try Self.decoder.decode(QQBotFixtures.hello) else { Issue.record("hello"); return }
        #expect(interval == .milliseconds(45_000))
        guard case .ready(let seq, let session, let user) = try Self.decoder.decode(QQBotFixtures.ready) else { Issue.record("ready"); return }
        #expect(seq == 1 && session == "082ee18c-0be3-491b-9d8b-fbd95c51673a")
        #expect(user == AccountIdentity(id: "6158788878435714165", name: "bot"))
        guard case .resumed(12) = try Self.decoder.decode(QQBotFixtures.resumed) else { Issue.record("resumed"); return }
        guard case .invalidSession(false) = try Self.decoder.decode(QQBotFixtures.invalidSession) else { Issue.record("op 9"); return }
        guard case .reconnect = try Self.decoder.decode(QQBotFixtures.reconnect) else { Issue.record("op 7"); return }
        guard case .heartbeatAck = try Self.decoder.decode(QQBotFixtures.ack) else { Issue.record("op 11"); return }
        guard case .unknownOpcode(42) = try Self.decoder.decode(#"{"op":42}"#) else { Issue.record("op 42"); return }
    }

    @Test func lifecycleAndUnknownEventsKeepTheirPayload() throws {
        guard case .event(6, "GROUP_ADD_ROBOT", let payload, true) = try Self.decoder.decode(QQBotFixtures.groupAdd) else {
            Issue.record("lifecycle"); return
        }
        #expect(payload["group_openid"] == "G0001")
        guard case .event(8, "SOMETHING_NEW", let raw, false) = try Self.decoder.decode(QQBotFixtures.unknown) else {
            Issue.record("unknown"); return
        }
        #expect(raw == ["x": [1, 2, ["y": .null]]])
    }

    @Test(arguments: ["", "{", "[1]", "null", #"{"d":{}}"#, #"{"op":"0"}"#, #"{"op":0}}"#, #"{"op":0,"s":1.5}"#,
                      "{\"op\":0,\"t\":\"C2C_MESSAGE_CREATE\",\"d\":{\"content\":\"\u{01}\"}}"])
    func unreadableEnvelopesThrowTypedErrors(frame: String) {
        #expect(throws: ChannelError.self) { try Self.decoder.decode(frame) }
        do { _ = try Self.decoder.decode(frame) } catch { #expect(error.code == .malformedInput); #expect(error.account == Self.account) }
    }

    @Test(arguments: [
        #"{"op":0,"s":3,"t":"C2C_MESSAGE_CREATE","d":{"id":"m","author":{}}}"#,
        #"{"op":0,"s":3,"t":"C2C_MESSAGE_CREATE","d":{"id":"m","content":5,"author":{"user_openid":"u"}}}"#,
        #"{"op":0,"s":3,"t":"GROUP_AT_MESSAGE_CREATE","d":{"id":"m","author":{"member_openid":"u"}}}"#,
        #"{"op":0,"s":3,"t":"AT_MESSAGE_CREATE","d":null}"#,
        #"{"s":3,"op":0,"t":"DIRECT_MESSAGE_CREATE","d":{"id":"m","author":{"id":"a"}}}"#,
        #"{"op":0,"s":3,"t":"READY","d":{"user":{}}}"#,
    ])
    func badMessageBodiesKeepTheirSeq(frame: String) throws {
        guard case .malformedDispatch(let seq, _, let error) = try Self.decoder.decode(frame) else {
            Issue.record("expected malformedDispatch for \(frame)")
            return
        }
        #expect(seq == 3 || frame.contains("READY"))
        #expect(error.code == .malformedInput)
        #expect(error.location?.hasPrefix("$.d") == true)
    }

    @Test func timestampsParseRFC3339() {
        #expect(QQBotTimestamp.parse("2026-11-23T10:00:00+08:00") == Date(timeIntervalSince1970: 1_795_399_200))
        #expect(QQBotTimestamp.parse("2026-11-23T02:00:00Z") == Date(timeIntervalSince1970: 1_795_399_200))
        #expect(QQBotTimestamp.parse("1970-01-01T00:00:00.5-00:30") == Date(timeIntervalSince1970: 1800.5))
        #expect(QQBotTimestamp.parse("2026-11-23") == nil)
        #expect(QQBotTimestamp.parse("2026-13-01T00:00:00Z") == nil)
        #expect(QQBotTimestamp.parse("2026-11-23T10:00:00+08:00x") == nil)
    }

    // MARK: Differential: fast path vs JSONDecoder

    static func canonical(_ event: QQBotGatewayEvent) -> String {
        switch event {
        case .message(let seq, let m):
            return "message \(seq as Any) \(m.origin) \(m.origin.replyContext.sorted { $0.key < $1.key }) \(m.sender) bot:\(m.sender.isBot) [\(m.text)] \(m.attachments) \(m.timestamp as Any) \(m.mentionsBot) \(m.replyToMessageID as Any) \(m.dedupKeys)"
        case .malformedDispatch(let seq, let type, let error):
            return "malformed \(seq as Any) \(type) \(error.location as Any)"
        case .event(let seq, let type, let payload, let known):
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            let json = (try? encoder.encode(payload)).map { String(decoding: $0, as: UTF8.self) } ?? "?"
            return "event \(seq as Any) \(type) \(json) \(known)"
        case .ready(let seq, let session, let user):
            return "ready \(seq as Any) \(session) \(user)"
        case .resumed(let seq):
            return "resumed \(seq as Any)"
        case .hello(let interval):
            return "hello \(interval)"
        case .heartbeatAck: return "ack"
        case .heartbeatRequest: return "heartbeat"
        case .reconnect: return "reconnect"
        case .invalidSession(let r): return "invalid \(r)"
        case .unknownOpcode(let op): return "op \(op)"
        }
    }

    /// `nil` when the decoder threw.
    static func both(_ frame: String) -> (fast: String?, reference: String?) {
        let fast = (try? decoder.decode(frame)).map(canonical)
        let reference = (try? decoder.decodeReference(Data(frame.utf8))).map(canonical)
        return (fast, reference)
    }

    @Test func fastPathMatchesJSONDecoderOnFixtures() {
        for frame in QQBotFixtures.all + (0..<40).map(QQBotFixtures.benchFrame) {
            let (fast, reference) = Self.both(frame)
            #expect(fast != nil, "\(frame)")
            #expect(fast == reference, "\(frame)")
        }
    }

    @Test func fastPathMatchesJSONDecoderOnFuzzedFrames() {
        var rng = SeededRandomNumberGenerator(seed: 0x5151)
        let alphabet = Array(#"{}[]",:0123456789.-eE abcdfilnrstu\"#.utf8) + [UInt8(ascii: "\\")]
        let seeds = QQBotFixtures.all + [QQBotFixtures.benchFrame(0), QQBotFixtures.benchFrame(1)]
        var disagreements: [String] = []
        var decodedByBoth = 0
        for round in 0..<6000 {
            var bytes = Array(seeds[round % seeds.count].utf8)
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                guard !bytes.isEmpty else { break }
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                guard bytes[i] < 0x80 else { continue }   // keep the text valid UTF-8
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: bytes[i] = alphabet.randomElement(using: &rng) ?? 0x20
                case 1: bytes.remove(at: i)
                case 2: bytes.insert(alphabet.randomElement(using: &rng) ?? 0x20, at: i)
                default:
                    let j = min(bytes.count, i + Int.random(in: 1...12, using: &rng))
                    if bytes[i..<j].allSatisfy({ $0 < 0x80 }) { bytes.insert(contentsOf: bytes[i..<j], at: j) }
                }
            }
            guard let frame = String(validating: bytes, as: UTF8.self) else { continue }
            let (fast, reference) = Self.both(frame)
            if let reference {
                decodedByBoth += fast == nil ? 0 : 1
                if fast != reference { disagreements.append("\(frame)\n  fast: \(fast ?? "threw")\n  ref:  \(reference)") }
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(5).joined(separator: "\n"))")
        #expect(decodedByBoth > 500, "the fuzzer must exercise accepted frames too")
    }

    @Test func fastPathNeverTrapsOnRandomBytes() {
        var rng = SeededRandomNumberGenerator(seed: 7)
        for _ in 0..<3000 {
            let bytes = (0..<Int.random(in: 0...80, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let result = bytes.withUnsafeBufferPointer { buffer in Result { () throws(ChannelError) in try Self.decoder.decode(bytes: buffer) } }
            if case .failure(let error) = result { #expect(error.code == .malformedInput) }
        }
    }
}
