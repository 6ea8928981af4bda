import Foundation
import Testing
@testable import ChannelKit
@testable import ChannelKitFeishu
import ChannelKitTesting

/// The event decoder: fixtures, mention rules, and the byte-level fast path against the
/// `JSONSerialization` reference on fixtures and fuzzed input.
@Suite struct FeishuEventDecoderTests {
    static let account = AccountKey(.feishu, "main")
    static let bot = "ou_bot0000000000000000000000000001"
    static let decoder = FeishuEventDecoder(account: account, baseURL: URL(string: "https://open.feishu.cn/")!)

    static func event(type: String = "im.message.receive_v1", chatType: String = "p2p", messageType: String = "text",
                      content: String = #"{"text":"hello"}"#, mentions: String = "[]", extra: String = "") -> String {
        let message = #"{"message_id":"om_1","root_id":"","parent_id":"om_0","create_time":"1763800000000","chat_id":"oc_9","thread_id":"","chat_type":"\#(chatType)","message_type":"\#(messageType)","content":\#(JSONValue.quoted(content)),"mentions":\#(mentions)\#(extra)}"#
        return #"{"schema":"2.0","header":{"event_id":"ev1","event_type":"\#(type)","create_time":"1763800000000","token":"","app_id":"cli_x","tenant_key":"tk"},"event":{"sender":{"sender_id":{"open_id":"ou_user","union_id":"on_u","user_id":"u1"},"sender_type":"user","tenant_key":"tk"},"message":\#(message)}}"#
    }

    static let botMention = #"[{"key":"@_user_1","id":{"open_id":"\#(bot)","union_id":"on_b","user_id":""},"name":"Bot","tenant_key":"tk"},{"key":"@_user_2","id":{"open_id":"ou_carol","union_id":"","user_id":""},"name":"Carol","tenant_key":"tk"}]"#

    static var fixtures: [String] {
        [
            event(),
            event(chatType: "group", content: #"{"text":"@_user_1 status @_user_2 please"}"#, mentions: botMention),
            event(chatType: "group", content: #"{"text":"@_user_2 not for the bot"}"#, mentions: botMention.replacingOccurrences(of: bot, with: "ou_other")),
            event(chatType: "topic_group", content: #"{"text":"@_user_1 in a topic"}"#, mentions: botMention, extra: #","thread_id":"omt_5""#),
            event(messageType: "post", content: #"{"title":"Title","content":[[{"tag":"text","text":"line "},{"tag":"a","text":"link","href":"https://x"},{"tag":"at","user_id":"@_user_2","user_name":"Carol"}],[{"tag":"img","image_key":"img_1"},{"tag":"emotion","emoji_type":"SMILE"}]]}"#, mentions: botMention),
            event(messageType: "post", content: #"{"zh_cn":{"title":"","content":[[{"tag":"text","text":"localised"}]]}}"#),
            event(messageType: "image", content: #"{"image_key":"img_v3_abc"}"#),
            event(messageType: "file", content: #"{"file_key":"file_v3_abc","file_name":"report.pdf"}"#),
            event(messageType: "audio", content: #"{"file_key":"file_v3_aud","duration":2300}"#),
            event(messageType: "media", content: #"{"file_key":"file_v3_vid","image_key":"img_cover","file_name":"clip.mp4","duration":1000}"#),
            event(messageType: "sticker", content: #"{"file_key":"sticker"}"#),
            event(content: #"{"text":"esc \"quoted\" \\ \u00e9 \ud83d\ude00 @_user_9"}"#),
            event(type: "im.chat.member.bot.added_v1"),
            #"{"schema":"2.0","header":{"event_id":"ev2","event_type":"im.message.reaction.created_v1"},"event":{"reaction_type":{"emoji_type":"OK"}}}"#,
            #"{"uuid":"u","event":{"type":"legacy_event","x":1}}"#,
            event(content: "not json"),
            event(content: "[1,2]"),
            #"{"header":{"event_type":"im.message.receive_v1"},"event":{"message":{"message_id":"om_x","chat_id":"oc","chat_type":"p2p","message_type":"text","content":"{\"text\":\"x\"}"}}}"#,
        ]
    }

    static func render(_ event: FeishuEvent) -> String {
        switch event {
        case .message(let m):
            return "message \(m.origin) text=\(m.text) mentions=\(m.mentionsBot) sender=\(m.sender.id) bot=\(m.sender.isBot) ts=\(m.timestamp?.timeIntervalSince1970 ?? -1) reply=\(m.replyToMessageID ?? "-") ctx=\(m.origin.replyContext.sorted { $0.key < $1.key }) att=\(m.attachments.map { "\($0.kind)|\($0.url)|\($0.name ?? "")" }) keys=\(m.dedupKeys)"
        case .skipped(let id, let reason):
            return "skipped \(id) \(reason)"
        case .platform(let type, let payload, let known):
            return "platform \(type) \(known) \(payload.jsonText)"
        }
    }

    static func both(_ payload: String, bot: String? = FeishuEventDecoderTests.bot) -> (fast: String?, reference: String?) {
        let fast = (try? decoder.decode(Array(payload.utf8), botOpenID: bot)).map(render)
        let reference = (try? decoder.decodeReference(Data(payload.utf8), botOpenID: bot)).map(render)
        return (fast, reference)
    }

    @Test func textMessageFromADirectChat() throws {
        guard case .message(let m) = try Self.decoder.decode(Array(Self.event().utf8), botOpenID: Self.bot) else {
            Issue.record("expected a message")
            return
        }
        #expect(m.origin.peer == Peer(.direct, "ou_user"))
        #expect(m.origin.replyContext["chatId"] == "oc_9")
        #expect(m.text == "hello" && !m.mentionsBot && m.replyToMessageID == "om_0")
        #expect(m.timestamp == Date(timeIntervalSince1970: 1_763_800_000))
        #expect(m.dedupKeys.first == "event:ev1" && m.dedupKeys[1] == "msg:om_1" && m.dedupKeys[2].hasPrefix("retry:ou_user:oc_9:1763800000000:"))
    }

    @Test func groupMentionsResolveAndGate() throws {
        let payload = Array(Self.fixtures[1].utf8)
        guard case .message(let m) = try Self.decoder.decode(payload, botOpenID: Self.bot) else {
            Issue.record("expected a message")
            return
        }
        #expect(m.origin.peer == Peer(.group, "oc_9"))
        #expect(m.mentionsBot && m.text == "status @Carol please")
        // Unknown identity: fail closed.
        guard case .skipped = try Self.decoder.decode(payload, botOpenID: nil) else {
            Issue.record("an unknown identity must not count as a mention")
            return
        }
        // Another bot's open_id never matches.
        guard case .skipped = try Self.decoder.decode(Array(Self.fixtures[2].utf8), botOpenID: Self.bot) else {
            Issue.record("a mention of another id is not a mention of the bot")
            return
        }
        var open = Self.decoder
        open.requireMention = false
        guard case .message(let unmentioned) = try open.decode(Array(Self.fixtures[2].utf8), botOpenID: Self.bot) else {
            Issue.record("requireMention false delivers")
            return
        }
        #expect(!unmentioned.mentionsBot && unmentioned.text == "@Carol not for the bot")
        // The bot's own message is never delivered.
        let own = Self.event().replacingOccurrences(of: "ou_user", with: Self.bot)
        guard case .skipped = try Self.decoder.decode(Array(own.utf8), botOpenID: Self.bot) else {
            Issue.record("self-echo must be dropped")
            return
        }
    }

    @Test func mediaAndPostContent() throws {
        func message(_ i: Int) throws -> InboundMessage? {
            if case .message(let m) = try Self.decoder.decode(Array(Self.fixtures[i].utf8), botOpenID: Self.bot) { return m }
            return nil
        }
        let post = try #require(try message(4))
        #expect(post.text == "Title\nline link@Carol\n:SMILE:")
        #expect(post.attachments.map(\.kind) == [.image])
        #expect(post.attachments.first?.url == "https://open.feishu.cn/open-apis/im/v1/messages/om_1/resources/img_1?type=image")
        #expect(try message(5)?.text == "localised")
        #expect(try message(6)?.attachments.first?.kind == .image)
        let file = try #require(try message(7)?.attachments.first)
        #expect(file.kind == .file && file.name == "report.pdf" && file.url.hasSuffix("/resources/file_v3_abc?type=file"))
        #expect(try message(8)?.attachments.first?.kind == .audio)
        #expect(try message(9)?.attachments.first?.kind == .video)
        guard case .platform(let type, _, let known) = try Self.decoder.decode(Array(Self.fixtures[10].utf8), botOpenID: Self.bot) else {
            Issue.record("an unmapped message type is a platform event")
            return
        }
        #expect(type == "im.message.receive_v1" && known)
        guard case .platform(let other, let payload, let otherKnown) = try Self.decoder.decode(Array(Self.fixtures[13].utf8), botOpenID: Self.bot) else {
            Issue.record("other events are platform events")
            return
        }
        #expect(other == "im.message.reaction.created_v1" && !otherKnown && payload["event"]?["reaction_type"]?["emoji_type"]?.stringValue == "OK")
    }

    @Test func malformedPayloadsAreTypedErrorsWithALocation() {
        for bad in ["", "{", "[]", #"{"header":{"event_type":"im.message.receive_v1"},"event":{"message":"#,
                    Self.event(content: "{\"text\":"), Self.event().replacingOccurrences(of: "\"om_1\"", with: "\"\"")] {
            do {
                _ = try Self.decoder.decode(Array(bad.utf8), botOpenID: Self.bot)
                Issue.record("accepted: \(bad)")
            } catch {
                #expect(error.code == .malformedInput && error.location != nil && error.account == Self.account)
            }
        }
    }

    @Test func fastPathAgreesWithTheReferenceOnEveryFixture() {
        for fixture in Self.fixtures {
            for bot in [Self.bot, nil] {
                let (fast, reference) = Self.both(fixture, bot: bot)
                #expect(fast == reference, "\(fixture)")
            }
        }
    }

    @Test func fastPathAgreesWithTheReferenceOnFuzzedInput() {
        var rng = SeededRandomNumberGenerator(seed: 0xFE1_5_BEEF)
        let alphabet = Array(#"{}[]":,\ aeu0123_@"#.utf8)
        var decodedByBoth = 0
        var disagreements: [String] = []
        for i in 0..<6_000 {
            var bytes = Array(Self.fixtures[i % Self.fixtures.count].utf8)
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes[at] = alphabet[Int.random(in: 0..<alphabet.count, using: &rng)]
                case 1: bytes.remove(at: at)
                default: bytes.insert(alphabet[Int.random(in: 0..<alphabet.count, using: &rng)], at: at)
                }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            let (fast, reference) = Self.both(text)
            if let reference {
                decodedByBoth += fast == nil ? 0 : 1
                if fast != reference { disagreements.append("\(text)\n  fast: \(fast ?? "threw")\n  ref:  \(reference)") }
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements, first: \(disagreements.first ?? "")")
        #expect(decodedByBoth > 500, "the fuzzer must exercise accepted payloads too")
    }

    @Test func contentHashIsStable() {
        #expect(FeishuEventDecoder.contentHash("abc") == FeishuEventDecoder.contentHash("abc"))
        #expect(FeishuEventDecoder.contentHash("abc") != FeishuEventDecoder.contentHash("abd"))
        #expect(FeishuEventDecoder.contentHash("").count == 32)
    }
}
