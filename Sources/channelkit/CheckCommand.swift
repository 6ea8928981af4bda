import ChannelKit
import Foundation

/// `channelkit check --config FILE`: validates; prints every problem with its JSON path.
/// Exit 0 when valid, 2 when invalid, 1 when the file cannot be read.
enum CheckCommand {
    static let usage = "channelkit check --config FILE"

    static func main(_ arguments: [String]) -> Int32 {
        let prepared: ConfigLoading.Prepared
        do {
            prepared = try ConfigLoading.prepare(arguments, usage: usage, issues: .standardOutput)
        } catch {
            return error.status
        }
        let accounts = prepared.settings.accounts
        let enabled = accounts.filter { $0.settings.enabled }.count
        LineWriter.standardOutput.line("ok: \(accounts.count) account(s), \(enabled) enabled")
        for account in accounts {
            LineWriter.standardOutput.line("  \(account.key)\(account.settings.enabled ? "" : " (disabled)")")
        }
        return 0
    }
}
