import Foundation
import ChannelKit

/// WebSocket codec figures: per-message encode and decode cost of a 32-byte message, and
/// a full codec round trip (client encode → server decode → server encode → client
/// decode) with no I/O. The echo goal in PERFORMANCE.md needs this well under the
/// ≈ 25 µs a loopback round trip costs.
enum WebSocketCodecBench {
    static func run() async {
        say("== WebSocket codec, 32-byte messages (no I/O)")
        let text = String(repeating: "x", count: 32)
        let binary = Data(repeating: 7, count: 32)
        let n = 2_000_000

        for role in [WebSocketRole.client, .server] {
            var encoder = WebSocketFrameEncoder(role: role)
            var out: [UInt8] = []
            out.reserveCapacity(64)
            let nanos = await best(of: 5) {
                let t0 = monotonicNanos()
                for _ in 0..<n {
                    out.removeAll(keepingCapacity: true)
                    encoder.encodeText(text, into: &out)
                }
                return monotonicNanos() - t0
            }
            report("encode text, \(role)\(role == .client ? " (masked, system RNG)" : "")", "\(format(Double(nanos) / Double(n))) ns/msg")
        }

        for (name, message) in [("text", WebSocketMessage.text(text)), ("binary", .binary(binary))] {
            for receiver in [WebSocketRole.client, .server] {
                var encoder = WebSocketFrameEncoder(role: receiver == .client ? .server : .client)
                var frame: [UInt8] = []
                encoder.encode(message, into: &frame)
                var decoder = WebSocketEventDecoder(role: receiver)
                var count = 0
                let nanos = await best(of: 5) {
                    let t0 = monotonicNanos()
                    for _ in 0..<n {
                        decoder.feed(frame)
                        if case .message = try? decoder.nextEvent() { count += 1 }
                    }
                    return monotonicNanos() - t0
                }
                precondition(count == 5 * n, "decode failed")
                report("decode \(name), \(receiver)\(receiver == .server ? " (unmasking)" : "")", "\(format(Double(nanos) / Double(n))) ns/msg")
            }
        }

        var clientEncoder = WebSocketFrameEncoder(role: .client)
        var serverEncoder = WebSocketFrameEncoder(role: .server)
        var clientDecoder = WebSocketEventDecoder(role: .client)
        var serverDecoder = WebSocketEventDecoder(role: .server)
        var wire: [UInt8] = []
        var echoed = 0
        let rounds = 1_000_000
        let nanos = await best(of: 5) {
            let t0 = monotonicNanos()
            for _ in 0..<rounds {
                wire.removeAll(keepingCapacity: true)
                clientEncoder.encodeText(text, into: &wire)
                serverDecoder.feed(wire)
                guard case .message(let m)? = try? serverDecoder.nextEvent() else { continue }
                wire.removeAll(keepingCapacity: true)
                serverEncoder.encode(m, into: &wire)
                clientDecoder.feed(wire)
                if case .message? = try? clientDecoder.nextEvent() { echoed += 1 }
            }
            return monotonicNanos() - t0
        }
        precondition(echoed == 5 * rounds, "round trip failed")
        report("codec round trip (text, both roles)", "\(format(Double(nanos) / Double(rounds))) ns/rt")
    }
}
