import Foundation
import Testing
@testable import ChannelKit
@testable import ChannelKitOpenIM

/// The byte-level decoders (envelope, base64, content elems) against Foundation's
/// `JSONSerialization` and base64, on fixtures and fuzzed input.
@Suite("OpenIM envelope and content decoding")
struct OpenIMDecodeTests {
    static func decodeContent(_ type: Int32, _ json: String) throws(OpenIMFrameError) -> OpenIMContent {
        let result: Result<OpenIMContent, OpenIMFrameError> = Array(json.utf8).withUnsafeBufferPointer { buffer in
            do throws(OpenIMFrameError) { return .success(try OpenIMContent.decode(contentType: type, buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    @Test func envelopeFixtures() throws {
        let data = Data([1, 2, 3, 250, 251])
        let frame = Data(#"{"reqIdentifier":1003,"msgIncr":"bot_1_2","operationID":"op","errCode":1302,"errMsg":"Blocked","data":"\#(data.base64EncodedString())","extra":{"x":[1,2]}}"#.utf8)
        let env = try OpenIMEnvelopeCodec.decodeResponse(frame)
        #expect(env == OpenIMResponseEnvelope(reqIdentifier: 1003, msgIncr: "bot_1_2", operationID: "op", errCode: 1302, errMsg: "Blocked", data: [1, 2, 3, 250, 251]))
        #expect(try OpenIMEnvelopeCodec.decodeResponse(Data(#"{"reqIdentifier":2002,"data":null}"#.utf8)).data.isEmpty)
        // Escaped slashes in base64 (some encoders write \/).
        let slashy = Data([0xFF, 0xFF, 0xFF]).base64EncodedString()   // "////"
        #expect(try OpenIMEnvelopeCodec.decodeResponse(Data(#"{"reqIdentifier":1,"data":"\#(slashy.replacingOccurrences(of: "/", with: "\\/"))"}"#.utf8)).data == [0xFF, 0xFF, 0xFF])
        for bad in [#"{"data":"AA=="}"#, #"{"reqIdentifier":"1"}"#, #"{"reqIdentifier":1,"data":"A"}"#, #"{"reqIdentifier":1,"data":"AA=A"}"#,
                    #"{"reqIdentifier":1,"data":7}"#, #"[1]"#, #"{"reqIdentifier":1"#, ""] {
            #expect(throws: OpenIMFrameError.self) { try OpenIMEnvelopeCodec.decodeResponse(Data(bad.utf8)) }
        }
        // The request encoder's output is what a JSON parser reads back.
        let request = OpenIMEnvelopeCodec.encodeRequest(reqIdentifier: 1003, sendID: "b\"o\\t", operationID: "op", msgIncr: "m", data: [0, 1, 2, 3])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(request)) as? [String: Any])
        #expect(object["reqIdentifier"] as? Int == 1003 && object["sendID"] as? String == "b\"o\\t" && object["token"] as? String == "")
        #expect(Data(base64Encoded: object["data"] as? String ?? "") == Data([0, 1, 2, 3]))
    }

    @Test func base64AgreesWithFoundation() {
        var rng = SeededRandomNumberGenerator(seed: 3)
        for length in 0..<200 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var encoded: [UInt8] = []
            OpenIMBase64.encode(bytes, into: &encoded)
            #expect(String(decoding: encoded, as: UTF8.self) == Data(bytes).base64EncodedString())
            #expect(OpenIMBase64.decode(String(decoding: encoded, as: UTF8.self)) == bytes)
        }
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ !".utf8)
        for _ in 0..<20_000 {
            let text = String(decoding: (0..<Int.random(in: 0..<12, using: &rng)).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] }, as: UTF8.self)
            let ours = OpenIMBase64.decode(text)
            let foundation = Data(base64Encoded: text).map { [UInt8]($0) }
            let body = text.drop { _ in false }
            let trimmed = body.reversed().drop { $0 == "=" }
            let canonical = text.count % 4 == 0 && text.count - trimmed.count <= 2
                && trimmed.allSatisfy { $0.isLetter || $0.isNumber || $0 == "+" || $0 == "/" }
            // On canonical input both agree; Foundation on Linux also takes some malformed
            // input (padding inside, odd lengths), which ours refuses.
            if canonical { #expect(ours == foundation, "[\(text)]") }
            if let ours, !canonical { #expect(!text.contains("=") && text.count % 4 != 1 && text.count % 4 != 0, "[\(text)] → \(ours)") }
        }
    }

    @Test func mutatedEnvelopesNeverTrapAndAgreeWithJSONSerializationWhenAccepted() {
        var rng = SeededRandomNumberGenerator(seed: 11)
        let seed = Array(#"{"reqIdentifier": 2001, "msgIncr": "a\u00e9b", "operationID": "op1", "errCode": 0, "errMsg": "", "data": "CgUKAWMQBQ=="}"#.utf8)
        for round in 0..<20_000 {
            var bytes = seed
            for _ in 0..<(1 + round % 3) {
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes[i] = UInt8.random(in: 0...255, using: &rng)
                case 1: bytes.remove(at: i)
                default:
                    let inserts = Array(#"{}[]",:\0eE-.9"#.utf8)
                    bytes.insert(inserts[Int.random(in: 0..<inserts.count, using: &rng)], at: i)
                }
                if bytes.isEmpty { bytes = [0x7B] }
            }
            guard let env = try? OpenIMEnvelopeCodec.decodeResponse(Data(bytes)) else { continue }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
                Issue.record("accepted what JSONSerialization rejects: \(String(decoding: bytes, as: UTF8.self))")
                continue
            }
            #expect((object["reqIdentifier"] as? NSNumber)?.intValue == env.reqIdentifier)
            #expect((object["msgIncr"] as? String ?? "") == env.msgIncr)
            #expect((object["errCode"] as? NSNumber)?.intValue ?? 0 == env.errCode)
            if let text = object["data"] as? String, let data = Data(base64Encoded: text) { #expect([UInt8](data) == env.data) }
        }
    }

    @Test func contentFixtures() throws {
        #expect(try Self.decodeContent(101, #"{"content":"hi \u263A \"q\""}"#).text == "hi ☺ \"q\"")
        let at = try Self.decodeContent(106, #"{"text":"@bot hello","atUserList":["bot",3,"AtAllTag"],"atUsersInfo":[{"atUserID":"bot","groupNickname":"B"}],"isAtSelf":true}"#)
        #expect(at.text == "@bot hello" && at.atUserIDs == ["bot", "AtAllTag"])
        let picture = try Self.decodeContent(102, #"{"sourcePath":"","sourcePicture":{"uuid":"p1","type":"image/png","size":10,"width":1,"height":1,"url":"https://x/p.png"},"bigPicture":{"url":"https://x/big.png"},"snapshotPicture":{"url":"https://x/s.png"}}"#)
        #expect(picture.attachments == [Attachment(kind: .image, url: "https://x/p.png", name: "p1", mimeType: "image/png", size: 10)])
        let bigOnly = try Self.decodeContent(102, #"{"bigPicture":{"url":"https://x/big.png"}}"#)
        #expect(bigOnly.attachments.first?.url == "https://x/big.png")
        let video = try Self.decodeContent(104, #"{"videoPath":"","videoUUID":"v1","videoUrl":"https://x/v.mp4","videoType":"mp4","videoSize":99,"duration":3,"snapshotUrl":"https://x/s.png"}"#)
        #expect(video.attachments == [Attachment(kind: .video, url: "https://x/v.mp4", name: "v1", mimeType: "mp4", size: 99)])
        let file = try Self.decodeContent(105, #"{"filePath":"","uuid":"f1","sourceUrl":"https://x/f.pdf","fileName":"f.pdf","fileSize":1234,"fileType":"pdf"}"#)
        #expect(file.attachments == [Attachment(kind: .file, url: "https://x/f.pdf", name: "f.pdf", mimeType: "pdf", size: 1234)])
        let custom = try Self.decodeContent(110, #"{"data":"{\"k\":1}","description":"card","extension":""}"#)
        #expect(custom.text == #"{"k":1}"#)
        let quote = try Self.decodeContent(114, #"{"text":"yes","quoteMessage":{"clientMsgID":"c0","serverMsgID":"s0","contentType":101}}"#)
        #expect(quote.text == "yes" && quote.quotedMessageID == "c0")
        let voice = try Self.decodeContent(103, #"{"uuid":"a1","sourceUrl":"https://x/a.amr","dataSize":5,"duration":2,"soundType":"amr"}"#)
        #expect(voice.attachments.first?.kind == .audio)
        for bad in ["", "[]", #"{"content":}"#, #"{"content":"x""#, "nope"] {
            #expect(throws: OpenIMFrameError.self) { try Self.decodeContent(101, bad) }
        }
        // A member of an unexpected type is ignored, not fatal.
        #expect(try Self.decodeContent(105, #"{"sourceUrl":"https://x/f","fileSize":"big"}"#).attachments.first?.size == nil)
    }

    @Test func fuzzedContentAgreesWithJSONSerialization() throws {
        var rng = SeededRandomNumberGenerator(seed: 5)
        let pieces = ["a", "é", "☺", "\"", "\\", "/", "\n", "\t", "\u{0001}", "😀", " ", "@bot", "{", "}", "[", "]"]
        func randomString() -> String { (0..<Int.random(in: 0..<10, using: &rng)).map { _ in pieces[Int.random(in: 0..<pieces.count, using: &rng)] }.joined() }
        for _ in 0..<3000 {
            let text = randomString(), url = randomString(), name = randomString()
            let size = Int.random(in: -5...1_000_000, using: &rng)
            let type = [Int32(101), 105, 106, 114][Int.random(in: 0..<4, using: &rng)]
            var object: [String: Any] = ["noise": ["nested": [1, 2, ["x": NSNull()]]], "isAtSelf": false]
            switch type {
            case 101: object["content"] = text
            case 105: object["sourceUrl"] = url; object["fileName"] = name; object["fileSize"] = size
            case 106: object["text"] = text; object["atUserList"] = [name, url]
            default: object["text"] = text; object["quoteMessage"] = ["clientMsgID": name, "content": ["deep": text]]
            }
            let data = try JSONSerialization.data(withJSONObject: object)
            let json = String(decoding: data, as: UTF8.self)
            let decoded = try Self.decodeContent(type, json)
            let back = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            switch type {
            case 101: #expect(decoded.text == back["content"] as? String)
            case 105:
                let expected = (back["sourceUrl"] as? String).flatMap { $0.isEmpty ? nil : $0 }
                #expect(decoded.attachments.first?.url == expected)
                if expected != nil {
                    #expect(decoded.attachments.first?.name == ((back["fileName"] as? String).flatMap { $0.isEmpty ? nil : $0 }))
                    #expect(decoded.attachments.first?.size == (back["fileSize"] as? NSNumber)?.intValue)
                }
            case 106:
                #expect(decoded.text == back["text"] as? String)
                #expect(decoded.atUserIDs == back["atUserList"] as? [String])
            default:
                #expect(decoded.text == back["text"] as? String)
                let id = (back["quoteMessage"] as? [String: Any])?["clientMsgID"] as? String
                #expect(decoded.quotedMessageID == (id?.isEmpty == false ? id : nil))
            }
        }
    }
}

@Suite("OpenIM mention stripping")
struct OpenIMMentionTests {
    @Test func onlyWholeMentionsOfTheAccountAreStripped() {
        #expect(OpenIMInbound.stripMention("@bot hello", "bot") == "hello")
        #expect(OpenIMInbound.stripMention("hi @bot, there @bot", "bot") == "hi , there")
        #expect(OpenIMInbound.stripMention("@bot2 hello", "bot") == "@bot2 hello")
        #expect(OpenIMInbound.stripMention("@bot_x @bot", "bot") == "@bot_x")
        #expect(OpenIMInbound.stripMention("no mention", "bot") == "no mention")
    }
}

@Suite("OpenIM push decode against a JSONSerialization reference")
struct OpenIMPushDecodeTests {
    /// A push frame as decode_peers.py's `openim_frames()` writes it (Python spacing).
    static func frame(_ i: Int, text: String) -> Data {
        var m = OpenIMMsgData()
        m.sendID = "u\(i % 97)"; m.recvID = "bot"; m.clientMsgID = String(format: "%032x", i); m.serverMsgID = "s\(i)"
        m.senderPlatformID = 5; m.senderNickname = "user"; m.sessionType = 1; m.msgFrom = 100; m.contentType = 101
        m.content = Array((try? JSONSerialization.data(withJSONObject: ["content": text])) ?? Data())
        m.seq = Int64(i + 1); m.sendTime = 1_763_800_000_000 + Int64(i); m.status = 2
        let data = Data(OpenIMPushMessages(msgs: ["si_u\(i % 97)_bot": OpenIMPullMsgs(msgs: [m])]).serialized).base64EncodedString()
        return Data(#"{"reqIdentifier": 2001, "msgIncr": "", "operationID": "op\#(i)", "errCode": 0, "errMsg": "", "data": "\#(data)"}"#.utf8)
    }

    static func reference(_ frame: Data) -> [(String, String, String)]? {
        guard let envelope = try? JSONSerialization.jsonObject(with: frame) as? [String: Any],
              (envelope["reqIdentifier"] as? NSNumber)?.intValue == 2001, let text = envelope["data"] as? String,
              let bytes = Data(base64Encoded: text), let push = try? OpenIMPushMessages(serialized: bytes) else { return nil }
        var out: [(String, String, String)] = []
        for conversationID in push.msgs.keys.sorted() {
            for m in push.msgs[conversationID]?.msgs ?? [] {
                guard let content = try? JSONSerialization.jsonObject(with: Data(m.content)) as? [String: Any] else { return nil }
                // A missing or non-string member reads as no text; a message with neither text nor media is skipped.
                let body = content["content"] as? String ?? ""
                if !body.isEmpty { out.append((m.sendID, body, m.clientMsgID)) }
            }
        }
        return out
    }

    @Test func fixturesAndMutationsAgree() {
        let account = AccountKey(.openim, "t")
        let rules = OpenIMInbound.Rules(ownUserID: "bot")
        var rng = SeededRandomNumberGenerator(seed: 21)
        let texts = ["hello", "é☺😀", "quote \" and \\ slash /", "line\nbreak", ""]
        for i in 0..<2000 {
            var frame = [UInt8](Self.frame(i, text: texts[i % texts.count] + " \(i)"))
            if i % 2 == 1 {
                for _ in 0..<2 { frame[Int.random(in: 0..<frame.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            }
            let ours = try? OpenIMInbound.decodePush(Data(frame), account: account, rules: rules)
            let reference = Self.reference(Data(frame))
            if i % 2 == 0 { #expect(ours != nil && reference != nil) }
            guard let ours else { continue }
            // Whenever ours accepts a frame, the reference reads the same messages from it.
            let messages = ours.compactMap { item -> (String, String, String)? in
                if case .message(let m) = item.outcome { return (m.sender.id, m.text, m.origin.messageID) }
                return nil
            }
            guard let reference else {
                // Content JSONSerialization refuses may be reported as invalid by ours too; never a message.
                #expect(messages.isEmpty, "frame \(i) decoded by ours but not by the reference")
                continue
            }
            if messages.count == reference.count {
                #expect(zip(messages, reference).allSatisfy { $0 == $1 }, "frame \(i)")
            } else {
                #expect(messages.isEmpty, "frame \(i): \(messages.count) vs \(reference.count)")
            }
        }
    }
}
