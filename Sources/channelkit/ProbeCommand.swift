import ChannelKit
import Foundation

/// `channelkit probe --config FILE`: for each account, whether a token was obtained, its
/// identity, and whether its gateway answered — as a table. Exit 0 when every check
/// passed, 1 when any failed, 2 for an invalid config.
enum ProbeCommand {
    static let usage = "channelkit probe --config FILE"

    static func main(_ arguments: [String]) async -> Int32 {
        let settings: GatewaySettings
        do {
            settings = try ConfigLoading.prepare(arguments, usage: usage, issues: .standardError).settings
        } catch {
            return error.status
        }
        let gateway = ChannelGateway(adapters: AvailableAdapters.all, configuration: .init(logger: ChannelLogger(handler: StandardErrorLogHandler(), level: .warning)))
        var rows: [[String]] = [["ACCOUNT", "TOKEN", "IDENTITY", "GATEWAY", "PROBLEMS"]]
        var failed = false
        for (key, accountSettings) in settings.accounts {
            let probe: AccountProbe
            do {
                probe = try await gateway.probe(key, settings: accountSettings)
            } catch {
                probe = AccountProbe(problems: [String(describing: error)])
            }
            failed = failed || !probe.isOK
            rows.append([
                key.description,
                mark(probe.tokenOK),
                probe.identity?.description ?? "unknown",
                mark(probe.gatewayReachable),
                probe.problems.isEmpty ? "-" : probe.problems.joined(separator: "; "),
            ])
        }
        await gateway.shutdown()
        printTable(rows)
        return failed ? 1 : 0
    }

    private static func mark(_ value: Bool?) -> String {
        switch value {
        case true?: "ok"
        case false?: "FAILED"
        case nil: "n/a"
        }
    }

    private static func printTable(_ rows: [[String]]) {
        let widths = (0..<5).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            let cells = row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }
            LineWriter.standardOutput.line(cells.joined(separator: "  "))
        }
    }
}
