import Foundation
import ChannelKit
import ChannelKitFeishu

/// Feishu pbbp2 frame → headers → event JSON → typed `InboundMessage` → ack frame
/// encode, on one core. Peer: `python3 ../shared/bench/decode_peers.py` (lark-oapi: its
/// protobuf `Frame`, `EventDispatcherHandler` into `P2ImMessageReceiveV1`, ack encode),
/// same frame shapes as its `feishu_frames()`. Pin both sides: `taskset -c 0 …`.
///
/// Prints the production path (``FeishuFrame`` on the core protobuf codec +
/// ``FeishuEventDecoder``'s byte-level path) and, for scale, the same with the
/// `JSONSerialization` reference decoder. Every frame is checked to decode identically
/// on both paths before timing. Knobs: `FEISHU_DECODE_REPEATS` (default 7, best of),
/// `FEISHU_DECODE_FAST_ONLY=1` (skip the reference timing, for profiling).
enum FeishuDecodeBench {
    /// `json.dumps` of `decode_peers.py`'s event `i` (Python's default spacing).
    static func payload(_ i: Int) -> String {
        let openID = "ou_" + String(format: "%030d", i % 97)
        let messageID = "om_" + String(format: "%030d", i)
        let chatID = "oc_" + String(format: "%030d", i % 13)
        let group = i % 2 == 1
        let content = JSONValue.quoted("{\"text\": \"@_user_1 hello \(i)\"}")
        let mentions = group
            ? #"[{"key": "@_user_1", "id": {"open_id": "ou_bot", "union_id": "on_b", "user_id": ""}, "name": "bot", "tenant_key": "tk"}]"#
            : "[]"
        return #"{"schema": "2.0", "header": {"event_id": "ev\#(String(format: "%012d", i))", "event_type": "im.message.receive_v1", "create_time": "1763800000000", "token": "", "app_id": "cli_a1b2c3", "tenant_key": "tk"}, "event": {"sender": {"sender_id": {"open_id": "\#(openID)", "union_id": "on_x", "user_id": "u1"}, "sender_type": "user", "tenant_key": "tk"}, "message": {"message_id": "\#(messageID)", "create_time": "1763800000000", "chat_id": "\#(chatID)", "chat_type": "\#(group ? "group" : "p2p")", "message_type": "text", "content": \#(content), "mentions": \#(mentions)}}}"#
    }

    /// The frame of `decode_peers.py`: SeqID = LogID = i, service 33554678, method 1,
    /// headers type/message_id/sum/seq/trace_id.
    static func frame(_ i: Int) -> [UInt8] {
        FeishuFrame(seqID: UInt64(i), logID: UInt64(i), service: 33_554_678, method: FeishuFrame.methodData,
                    headers: [.init("type", "event"), .init("message_id", "m\(i)"), .init("sum", "1"), .init("seq", "0"), .init("trace_id", "t\(i)")],
                    payload: Array(payload(i).utf8)).encoded()
    }

    static func run(n: Int = 20_000, repeats: Int = Int(ProcessInfo.processInfo.environment["FEISHU_DECODE_REPEATS"] ?? "") ?? 7) {
        say("== feishu-decode (peer: taskset -c 0 python3 ../shared/bench/decode_peers.py → lark-oapi)")
        let frames = (0..<n).map(frame)
        let decoder = FeishuEventDecoder(account: AccountKey(.feishu, "bench"), baseURL: URL(string: "https://open.feishu.cn")!)
        let bot = "ou_bot"

        var checked = 0
        for bytes in frames {
            guard let frame = try? FeishuFrame.decode(bytes), let payload = frame.payload,
                  case .message(let fast) = try? decoder.decode(payload, botOpenID: bot),
                  case .message(let reference) = try? decoder.decodeReference(Data(payload), botOpenID: bot),
                  fast.origin == reference.origin, fast.text == reference.text, fast.sender == reference.sender,
                  fast.mentionsBot == reference.mentionsBot, fast.dedupKeys == reference.dedupKeys else { continue }
            checked += 1
        }
        if checked != n {
            say("feishu-decode: only \(checked) of \(n) frames decoded identically; not timing")
            return
        }

        var sink = 0
        func pass(reference: Bool) -> UInt64 {
            var local = 0
            let t0 = monotonicNanos()
            for bytes in frames {
                guard let frame = try? FeishuFrame.decode(bytes), frame.header("type") == "event", frame.header("sum") == "1",
                      let payload = frame.payload else { continue }
                let event = reference ? try? decoder.decodeReference(Data(payload), botOpenID: bot) : try? decoder.decode(payload, botOpenID: bot)
                if case .message(let m) = event { local &+= m.text.utf8.count }
                local &+= bytes.withUnsafeBufferPointer { raw in (try? FeishuFrame.encodedAck(echoing: raw, code: 200))?.count ?? 0 }
            }
            let elapsed = monotonicNanos() - t0
            sink &+= local
            return elapsed
        }
        var fastNanos = UInt64.max
        for _ in 0..<repeats { fastNanos = min(fastNanos, pass(reference: false)) }
        report("feishu frame+event+ack, byte-level path, 1 task", "\(format(Double(n) / (Double(fastNanos) / 1e9), 0)) events/s")
        if ProcessInfo.processInfo.environment["FEISHU_DECODE_FAST_ONLY"] != nil { return }
        var referenceNanos = UInt64.max
        for _ in 0..<3 { referenceNanos = min(referenceNanos, pass(reference: true)) }
        report("feishu frame+event+ack, JSONSerialization reference", "\(format(Double(n) / (Double(referenceNanos) / 1e9), 0)) events/s")
        if sink == 42 { say("") }
    }
}
