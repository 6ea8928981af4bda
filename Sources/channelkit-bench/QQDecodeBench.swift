import Foundation
import ChannelKit
import ChannelKitQQBot

/// QQ gateway dispatch frame (text) → typed `InboundMessage`, on one core.
/// Peer: `python3 ../shared/bench/decode_peers.py` (qq-botpy: json.loads + C2CMessage /
/// GroupMessage), same frame shapes. Pin both sides: `taskset -c 0 …`.
///
/// Prints the production path (`QQBotEventDecoder.decode`, byte-level) and, for scale,
/// the `JSONDecoder` reference it is differentially tested against (which also
/// validates the whole document with `JSONSerialization`). Every frame is checked to
/// decode identically on both paths before timing. Knobs: `QQ_DECODE_REPEATS` (default
/// 7, best of), `QQ_DECODE_FAST_ONLY=1` (skip the reference timing, for profiling).
enum QQDecodeBench {
    /// The frames of `decode_peers.py`'s `qq_frames` (Python's default `json.dumps` spacing).
    static func frame(_ i: Int) -> String {
        if i % 2 == 0 {
            let attachments = i % 10 == 0
                ? #"[{"content_type": "image/png", "filename": "a.png", "height": 10, "width": 10, "size": 100, "url": "//multimedia.nt.qq.com/x"}]"#
                : "[]"
            let openid = "E4F4AEA33253A2797FB897C50B81D7E" + String(format: "%02d", i % 97)
            return #"{"op": 0, "s": \#(i + 1), "t": "C2C_MESSAGE_CREATE", "id": "C2C:\#(i)", "d": {"author": {"user_openid": "\#(openid)"}, "content": " hello number \#(i) from a user", "id": "ROBOT1.0_abc\#(String(format: "%08d", i))", "timestamp": "2026-11-23T10:00:00+08:00", "attachments": \#(attachments)}}"#
        }
        let member = "M" + String(format: "%031d", i % 89)
        let group = "G" + String(format: "%031d", i % 13)
        return #"{"op": 0, "s": \#(i + 1), "t": "GROUP_AT_MESSAGE_CREATE", "id": "G:\#(i)", "d": {"author": {"member_openid": "\#(member)"}, "content": " <@!bot> group hello \#(i)", "group_openid": "\#(group)", "id": "ROBOT1.0_grp\#(String(format: "%08d", i))", "timestamp": "2026-11-23T10:00:00+08:00"}}"#
    }

    static func run(n: Int = 20_000, repeats: Int = Int(ProcessInfo.processInfo.environment["QQ_DECODE_REPEATS"] ?? "") ?? 7) {
        say("== qq-decode (peer: taskset -c 0 python3 ../shared/bench/decode_peers.py → qq-botpy)")
        let frames = (0..<n).map(frame)
        let data = frames.map { Data($0.utf8) }
        let decoder = QQBotEventDecoder(account: AccountKey(.qqbot, "bench"), botID: "bot")

        // Both paths must produce the same typed messages before anything is timed.
        var checked = 0
        for (text, bytes) in zip(frames, data) {
            guard case .message(_, let fast) = try? decoder.decode(text),
                  case .message(_, let reference) = try? decoder.decodeReference(bytes),
                  fast.origin == reference.origin, fast.text == reference.text, fast.attachments == reference.attachments,
                  fast.sender == reference.sender, fast.timestamp == reference.timestamp else { continue }
            checked += 1
        }
        if checked != n {
            say("qq-decode: only \(checked) of \(n) frames decoded identically; not timing")
            return
        }

        var sink = 0
        let fastNanos = best(of: repeats) {
            var local = 0
            let t0 = monotonicNanos()
            for text in frames {
                if case .message(_, let m) = try? decoder.decode(text) { local &+= m.text.utf8.count &+ m.attachments.count }
            }
            let elapsed = monotonicNanos() - t0
            sink &+= local
            return elapsed
        }
        report("qq-decode byte-level fast path, 1 task", "\(format(Double(n) / (Double(fastNanos) / 1e9), 0)) msg/s")

        let referenceNanos = ProcessInfo.processInfo.environment["QQ_DECODE_FAST_ONLY"] != nil ? 1 : best(of: 3) {
            let t0 = monotonicNanos()
            for bytes in data {
                if case .message(_, let m) = try? decoder.decodeReference(bytes) { sink &+= m.text.utf8.count }
            }
            return monotonicNanos() - t0
        }
        report("qq-decode JSONDecoder reference path, 1 task", "\(format(Double(n) / (Double(referenceNanos) / 1e9), 0)) msg/s")
        if sink == 42 { say("") }
    }

    private static func best(of repeats: Int, _ body: () -> UInt64) -> UInt64 {
        var bestNanos = UInt64.max
        for _ in 0..<repeats { bestNanos = min(bestNanos, body()) }
        return bestNanos
    }
}
