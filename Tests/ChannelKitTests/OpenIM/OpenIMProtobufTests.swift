import Foundation
import Testing
@testable import ChannelKit
@testable import ChannelKitOpenIM

/// Field-by-field vectors written by hand from the field numbers in the protocol notes
/// (§4), so an encoder and decoder that agreed with each other on a wrong number fail.
@Suite("OpenIM protobuf messages")
struct OpenIMProtobufTests {
    static func s(_ text: String) -> [UInt8] { [UInt8(text.utf8.count)] + Array(text.utf8) }

    /// Every MsgData field 1–23 (no 13), in field order.
    static let msgDataVector: [UInt8] =
        [0x0A] + s("a") + [0x12] + s("b") + [0x1A] + s("g") + [0x22] + s("c") + [0x2A] + s("s")
        + [0x30, 0x05] + [0x3A] + s("n") + [0x42] + s("f") + [0x48, 0x03] + [0x50, 0x64] + [0x58, 0x65]
        + [0x62] + s("{}") + [0x70, 0xAC, 0x02] + [0x78, 0x01] + [0x80, 0x01, 0x02] + [0x88, 0x01, 0x02]
        + [0x90, 0x01, 0x01]
        + [0x9A, 0x01, 0x0B, 0x0A] + s("history") + [0x10, 0x00]
        + [0xA2, 0x01, 0x03, 0x0A] + s("t")
        + [0xAA, 0x01] + s("u") + [0xB2, 0x01] + s("x") + [0xBA, 0x01] + s("e")

    static var msgData: OpenIMMsgData {
        var m = OpenIMMsgData()
        m.sendID = "a"; m.recvID = "b"; m.groupID = "g"; m.clientMsgID = "c"; m.serverMsgID = "s"
        m.senderPlatformID = 5; m.senderNickname = "n"; m.senderFaceURL = "f"; m.sessionType = 3; m.msgFrom = 100
        m.contentType = 101; m.content = Array("{}".utf8); m.seq = 300; m.sendTime = 1; m.createTime = 2; m.status = 2
        m.isRead = true; m.options = ["history": false]; m.offlinePushInfo = OpenIMOfflinePushInfo(title: "t")
        m.atUserIDList = ["u"]; m.attachedInfo = "x"; m.ex = "e"
        return m
    }

    @Test func msgDataEncodesEveryFieldWithItsNumber() {
        #expect(Self.msgData.serialized == Self.msgDataVector)
    }

    @Test func msgDataDecodesEveryFieldFromItsNumber() throws {
        let decoded = try OpenIMMsgData(serialized: Self.msgDataVector)
        #expect(decoded == Self.msgData)
        #expect(decoded.offlinePushInfo?.title == "t")
        #expect(decoded.options["history"] == false)
    }

    @Test func offlinePushInfoFields() throws {
        let info = OpenIMOfflinePushInfo(title: "t", desc: "d", ex: "x", iOSPushSound: "p", iOSBadgeCount: true, signalInfo: "i")
        var w = ProtobufWriter()
        info.encode(to: &w)
        let vector: [UInt8] = [0x0A] + Self.s("t") + [0x12] + Self.s("d") + [0x1A] + Self.s("x") + [0x22] + Self.s("p") + [0x28, 0x01] + [0x32] + Self.s("i")
        #expect(w.bytes == vector)
        let back = try ProtobufReader.read(vector) { (r: inout ProtobufReader) throws(ProtobufDecodingError) in try OpenIMOfflinePushInfo(from: &r) }
        #expect(back == info)
    }

    @Test func pushMessagesAndPullMsgsFields() throws {
        // msgs (1) = {"c1": PullMsgs{Msgs (1) = [MsgData{seq 1}], isEnd (2) = true, endSeq (3) = 1}}; notificationMsgs (2) = {"n": {}}.
        let pull: [UInt8] = [0x0A, 0x02, 0x70, 0x01, 0x10, 0x01, 0x18, 0x01]
        let entry: [UInt8] = [0x0A] + Self.s("c1") + [0x12, UInt8(pull.count)] + pull
        let note: [UInt8] = [0x0A] + Self.s("n") + [0x12, 0x00]
        let vector: [UInt8] = [0x0A, UInt8(entry.count)] + entry + [0x12, UInt8(note.count)] + note
        var seq1 = OpenIMMsgData()
        seq1.seq = 1
        let push = OpenIMPushMessages(msgs: ["c1": OpenIMPullMsgs(msgs: [seq1], isEnd: true, endSeq: 1)], notificationMsgs: ["n": OpenIMPullMsgs()])
        #expect(push.serialized == vector)
        #expect(try OpenIMPushMessages(serialized: vector) == push)
    }

    @Test func getMaxSeqReqAndRespFields() throws {
        #expect(OpenIMGetMaxSeqReq(userID: "u").serialized == [0x0A] + Self.s("u"))
        #expect(try OpenIMGetMaxSeqReq(serialized: [0x0A] + Self.s("u")).userID == "u")
        let vector: [UInt8] = [0x0A, 0x05, 0x0A, 0x01, 0x63, 0x10, 0x05, 0x12, 0x05, 0x0A, 0x01, 0x63, 0x10, 0x01]
        let resp = OpenIMGetMaxSeqResp(maxSeqs: ["c": 5], minSeqs: ["c": 1])
        #expect(resp.serialized == vector)
        #expect(try OpenIMGetMaxSeqResp(serialized: vector) == resp)
        // A zero value is still written inside a map entry (as protobuf does).
        #expect(OpenIMGetMaxSeqResp(maxSeqs: ["c": 0]).serialized == [0x0A, 0x05, 0x0A, 0x01, 0x63, 0x10, 0x00])
    }

    @Test func pullMessageBySeqsReqAndSeqRangeFields() throws {
        let range: [UInt8] = [0x0A] + Self.s("c") + [0x10, 0x01, 0x18, 0x64, 0x20, 0x64]
        let vector: [UInt8] = [0x0A] + Self.s("u") + [0x12, UInt8(range.count)] + range + [0x18, 0x01]
        let req = OpenIMPullMessageBySeqsReq(userID: "u", seqRanges: [OpenIMSeqRange(conversationID: "c", begin: 1, end: 100, num: 100)], order: 1)
        #expect(req.serialized == vector)
        #expect(try OpenIMPullMessageBySeqsReq(serialized: vector) == req)
    }

    @Test func sendMsgRespFields() throws {
        var modify = OpenIMMsgData()
        modify.seq = 2
        let vector: [UInt8] = [0x0A] + Self.s("s") + [0x12] + Self.s("c") + [0x18, 0x07] + [0x22, 0x02, 0x70, 0x02]
        let resp = OpenIMSendMsgResp(serverMsgID: "s", clientMsgID: "c", sendTime: 7, modify: modify)
        #expect(resp.serialized == vector)
        #expect(try OpenIMSendMsgResp(serialized: vector) == resp)
    }

    @Test func unknownFieldsAreSkippedAndPackedOrderDoesNotMatter() throws {
        // Field 13 (absent from MsgData), field 99 fixed64 and field 100 fixed32 are skipped.
        let vector: [UInt8] = [0x68, 0x01] + [0x99, 0x06, 1, 2, 3, 4, 5, 6, 7, 8] + [0xA5, 0x06, 1, 2, 3, 4] + [0x0A] + Self.s("a")
        #expect(try OpenIMMsgData(serialized: vector).sendID == "a")
    }

    @Test func malformedBytesAreTypedErrorsWithOffsets() {
        func code(_ bytes: [UInt8]) -> ProtobufDecodingError.Code? {
            do { _ = try OpenIMMsgData(serialized: bytes); return nil } catch { return error.code }
        }
        #expect(code([0x0A, 0x05, 0x61]) == .lengthOutOfBounds)          // sendID longer than the buffer
        #expect(code([0x08, 0x01]) == .wrongWireType)                     // sendID as a varint
        #expect(code([0x0F]) == .invalidWireType)                         // wire type 7
        #expect(code([0x70, 0xFF]) == .truncated || code([0x70, 0xFF]) == .malformedVarint)
        #expect(code([0x0A, 0x02, 0xC3, 0x28]) == .invalidUTF8)
        #expect(code([0x00]) == .invalidFieldNumber)
        do {
            _ = try OpenIMPushMessages(serialized: [0x0A, 0x04, 0x12, 0x02, 0x0A, 0x09])
            Issue.record("nested truncation not detected")
        } catch {
            #expect(error.code == .lengthOutOfBounds)
            #expect(error.offset == 5)   // the length byte of the innermost MsgData
        }
    }

    @Test func randomBytesNeverTrap() {
        var rng = SeededRandomNumberGenerator(seed: 9)
        for _ in 0..<5000 {
            let bytes = (0..<Int.random(in: 0..<64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = try? OpenIMPushMessages(serialized: bytes)
            _ = try? OpenIMMsgData(serialized: bytes)
            _ = try? OpenIMGetMaxSeqResp(serialized: bytes)
            _ = try? OpenIMSendMsgResp(serialized: bytes)
        }
        // Mutations of a valid push.
        let valid = OpenIMPushMessages(msgs: ["si_a_b": OpenIMPullMsgs(msgs: [Self.msgData])]).serialized
        for _ in 0..<5000 {
            var bytes = valid
            for _ in 0..<3 { bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            _ = try? OpenIMPushMessages(serialized: bytes)
        }
    }
}
