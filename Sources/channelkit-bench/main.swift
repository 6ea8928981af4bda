import Foundation

/// `swift run -c release channelkit-bench [token-cache] [ws-codec] [ws-echo] [ws-idle] [qq-decode] [feishu-decode] [openim-decode] [clawchat] [gateway-events] [gateway-scale]`
/// (`CK_BENCH_ACCOUNTS` sets the gateway-scale account count, default 1,000)
///
/// Prints ChannelKit's side of each figure in ../shared/PERFORMANCE.md; run the peer
/// scripts in ../shared/bench/ in the same sitting and compare ratios.
if CommandLine.arguments.dropFirst().first == "_qq-simulator" {
    try await GatewayScaleBench.serveSimulator(Array(CommandLine.arguments.dropFirst(2)))
    exit(0)
}
let selected = Set(CommandLine.arguments.dropFirst())
func wants(_ name: String) -> Bool { selected.isEmpty || selected.contains(name) }

if wants("token-cache") || wants("token-cache-hit") || wants("token-cache-fanin") {
    try await TokenCacheBench.run(hit: !selected.contains("token-cache-fanin"), fanIn: !selected.contains("token-cache-hit"))
}
if wants("ws-codec") {
    await WebSocketCodecBench.run()
}
if wants("ws-echo") || wants("ws-idle") {
    try await WebSocketEchoBench.run(idle: selected.isEmpty || selected.contains("ws-idle"))
}
if wants("qq-decode") { QQDecodeBench.run() }
if wants("feishu-decode") { FeishuDecodeBench.run() }
if wants("openim-decode") { OpenIMDecodeBench.run() }
if wants("clawchat") { try await ClawChatBench.run() }
if wants("gateway-events") { await GatewayEventsBench.run() }
if wants("gateway-scale") { try await GatewayScaleBench.run(accounts: Int(ProcessInfo.processInfo.environment["CK_BENCH_ACCOUNTS"] ?? "") ?? 1000) }
