import Foundation
import ChannelKit
import ChannelKitOpenIM

/// OpenIM push frame (JSON envelope + base64 + `PushMessages` protobuf + content JSON) →
/// typed `InboundMessage`, on one core. Peer: `python3 ../shared/bench/decode_peers.py`
/// (`openim-sdk-core protobuf`: json.loads + base64 + upb ParseFromString + json.loads of
/// each content), same frames as its `openim_frames()`. Pin both sides: `taskset -c 0 …`.
///
/// Before timing, every frame is decoded a second way — `JSONSerialization` for the
/// envelope and the content, Foundation's base64 — and must give the same text, sender,
/// peer and message id. Knob: `OPENIM_DECODE_REPEATS` (default 7, best of).
enum OpenIMDecodeBench {
    /// `openim_frames(n)` of decode_peers.py, byte for byte: Python's `json.dumps`
    /// spacing, fields in number order as upb serialises them.
    static func frame(_ i: Int) -> Data {
        var m = OpenIMMsgData()
        m.sendID = "u\(i % 97)"; m.recvID = "bot"; m.clientMsgID = String(format: "%032x", i); m.serverMsgID = "s\(i)"
        m.senderPlatformID = 5; m.senderNickname = "user"; m.sessionType = 1; m.msgFrom = 100
        m.contentType = 101; m.content = Array(#"{"content": "hello \#(i)"}"#.utf8); m.seq = Int64(i + 1)
        m.sendTime = 1_763_800_000_000 + Int64(i); m.createTime = 1_763_800_000_000 + Int64(i); m.status = 2
        let push = OpenIMPushMessages(msgs: ["si_u\(i % 97)_bot": OpenIMPullMsgs(msgs: [m])])
        let data = Data(push.serialized).base64EncodedString()
        return Data(#"{"reqIdentifier": 2001, "msgIncr": "", "operationID": "op\#(i)", "errCode": 0, "errMsg": "", "data": "\#(data)"}"#.utf8)
    }

    /// The reference decode: JSONSerialization + Foundation base64 + the same protobuf
    /// reader + JSONSerialization content. Returns (sender, text, clientMsgID).
    static func reference(_ frame: Data) -> [(String, String, String)]? {
        guard let envelope = try? JSONSerialization.jsonObject(with: frame) as? [String: Any],
              envelope["reqIdentifier"] as? Int == 2001, let text = envelope["data"] as? String,
              let bytes = Data(base64Encoded: text), let push = try? OpenIMPushMessages(serialized: bytes) else { return nil }
        var out: [(String, String, String)] = []
        for (_, pulls) in push.msgs {
            for m in pulls.msgs {
                guard let content = try? JSONSerialization.jsonObject(with: Data(m.content)) as? [String: Any],
                      let body = content["content"] as? String else { return nil }
                out.append((m.sendID, body, m.clientMsgID))
            }
        }
        return out
    }

    static func run(n: Int = 20_000, repeats: Int = Int(ProcessInfo.processInfo.environment["OPENIM_DECODE_REPEATS"] ?? "") ?? 7) {
        say("== openim-decode (peer: taskset -c 0 python3 ../shared/bench/decode_peers.py → openim-sdk-core protobuf)")
        let frames = (0..<n).map(frame)
        let account = AccountKey(.openim, "bench")
        let rules = OpenIMInbound.Rules(ownUserID: "bot")

        var checked = 0
        for frame in frames {
            guard let decoded = try? OpenIMInbound.decodePush(frame, account: account, rules: rules), decoded.count == 1,
                  case .message(let message) = decoded[0].outcome, let reference = reference(frame), reference.count == 1,
                  reference[0] == (message.sender.id, message.text, message.origin.messageID) else { continue }
            checked += 1
        }
        if checked != n {
            say("openim-decode: only \(checked) of \(n) frames decoded identically; not timing")
            return
        }

        var sink = 0
        var bestNanos = UInt64.max
        for _ in 0..<repeats {
            var local = 0
            let t0 = monotonicNanos()
            for frame in frames {
                guard let decoded = try? OpenIMInbound.decodePush(frame, account: account, rules: rules) else { continue }
                for item in decoded { if case .message(let m) = item.outcome { local &+= m.text.utf8.count } }
            }
            bestNanos = min(bestNanos, monotonicNanos() - t0)
            sink &+= local
        }
        report("openim-decode push → InboundMessage, 1 task", "\(format(Double(n) / (Double(bestNanos) / 1e9), 0)) msg/s")

        var referenceBest = UInt64.max
        for _ in 0..<3 {
            let t0 = monotonicNanos()
            for frame in frames { sink &+= reference(frame)?.count ?? 0 }
            referenceBest = min(referenceBest, monotonicNanos() - t0)
        }
        report("openim-decode JSONSerialization reference, 1 task", "\(format(Double(n) / (Double(referenceBest) / 1e9), 0)) msg/s")
        if sink == 42 { say("") }
    }
}
