import Foundation
import Testing
@testable import ChannelKit
@testable import ChannelKitOpenIM
import ChannelKitTesting

/// The protobuf messages against an independent implementation: the generated descriptors
/// of the PyPI package `openim-sdk-core` on Google's protobuf runtime (upb), through
/// Peers/openim_upb_peer.py. `.ci/run` installs it; without python3 or the package the
/// test fails, it never skips.
@Suite("OpenIM protobuf against the upb peer", .serialized)
struct OpenIMUpbPeerTests {
    static var scriptPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Peers/openim_upb_peer.py").path
    }

    func run(_ arguments: [String]) async throws -> [String] {
        let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), ["python3", Self.scriptPath] + arguments)
        var lines: [String] = []
        while let line = await child.nextLine() { lines.append(line) }
        #expect(await child.waitForExit() == 0, "openim_upb_peer.py failed (is `pip install openim-sdk-core` done? .ci/run does it)")
        return lines
    }

    /// The same messages the peer builds, built here.
    static var messages: [String: [UInt8]] {
        var m = OpenIMMsgData()
        m.sendID = "a"; m.recvID = "b"; m.groupID = "g"; m.clientMsgID = "c"; m.serverMsgID = "s"; m.senderPlatformID = 5
        m.senderNickname = "n"; m.senderFaceURL = "f"; m.sessionType = 3; m.msgFrom = 100; m.contentType = 101
        m.content = Array(#"{"content":"hi ☺"}"#.utf8); m.seq = 300; m.sendTime = 1_763_800_000_000; m.createTime = 1_763_800_000_001
        m.status = 2; m.isRead = true; m.attachedInfo = "x"; m.ex = "e"
        m.options = ["history": false, "unreadCount": true]
        m.offlinePushInfo = OpenIMOfflinePushInfo(title: "t", iOSBadgeCount: true)
        m.atUserIDList = ["u1", "AtAllTag"]
        var note = OpenIMMsgData()
        note.seq = 9
        let push = OpenIMPushMessages(msgs: ["sg_g": OpenIMPullMsgs(msgs: [m], isEnd: true, endSeq: 300)],
                                      notificationMsgs: ["n_x": OpenIMPullMsgs(msgs: [note])])
        var modify = OpenIMMsgData()
        modify.seq = 2
        return [
            "msgdata": m.serialized,
            "push": push.serialized,
            "maxseq": OpenIMGetMaxSeqResp(maxSeqs: ["si_a_b": 12, "sg_g": 0], minSeqs: ["si_a_b": 1]).serialized,
            "pullreq": OpenIMPullMessageBySeqsReq(userID: "u", seqRanges: [OpenIMSeqRange(conversationID: "c", begin: 1, end: 100, num: 100)], order: 1).serialized,
            "sendresp": OpenIMSendMsgResp(serverMsgID: "s", clientMsgID: "c", sendTime: 7, modify: modify).serialized,
            "getmaxseqreq": OpenIMGetMaxSeqReq(userID: "u").serialized,
        ]
    }

    @Test func ourBytesEqualUpbsAndEachSideDecodesTheOther() async throws {
        let lines = try await run(["encode"])
        var theirs: [String: [UInt8]] = [:]
        for line in lines {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let data = Data(base64Encoded: String(parts[1])) else { Issue.record("bad peer line \(line)"); continue }
            theirs[String(parts[0])] = [UInt8](data)
        }
        let ours = Self.messages
        #expect(Set(theirs.keys) == Set(ours.keys))
        let kinds = ours.keys.sorted()
        var arguments = ["decode"]
        for kind in kinds {
            arguments += [kind, Data(ours[kind] ?? []).base64EncodedString(), kind, Data(theirs[kind] ?? []).base64EncodedString()]
        }
        let decodedByPeer = try await run(arguments)
        #expect(decodedByPeer.count == 2 * kinds.count)
        for (index, kind) in kinds.enumerated() where decodedByPeer.count == 2 * kinds.count {
            #expect(decodedByPeer[2 * index] == decodedByPeer[2 * index + 1], "\(kind): upb reads our bytes differently")
        }
        for (kind, bytes) in ours.sorted(by: { $0.key < $1.key }) {
            let peer = try #require(theirs[kind])
            #expect(bytes == peer, "\(kind): our serialisation differs from upb's deterministic one")
            // Ours decode theirs to the same value.
            switch kind {
            case "msgdata": #expect(try OpenIMMsgData(serialized: peer).serialized == bytes)
            case "push": #expect(try OpenIMPushMessages(serialized: peer).serialized == bytes)
            case "maxseq": #expect(try OpenIMGetMaxSeqResp(serialized: peer).serialized == bytes)
            case "pullreq": #expect(try OpenIMPullMessageBySeqsReq(serialized: peer).serialized == bytes)
            case "sendresp": #expect(try OpenIMSendMsgResp(serialized: peer).serialized == bytes)
            default: #expect(try OpenIMGetMaxSeqReq(serialized: peer).serialized == bytes)
            }
        }
        // The decoded MsgData carries every field.
        let decoded = try OpenIMMsgData(serialized: try #require(theirs["msgdata"]))
        #expect(decoded.options == ["history": false, "unreadCount": true])
        #expect(decoded.offlinePushInfo?.iOSBadgeCount == true && decoded.atUserIDList == ["u1", "AtAllTag"])
        #expect(String(decoding: decoded.content, as: UTF8.self) == #"{"content":"hi ☺"}"#)
    }
}
