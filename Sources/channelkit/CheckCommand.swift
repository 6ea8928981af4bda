import ChannelKit
import Foundation

/// `channelkit check --config FILE`: validates; prints every problem with its JSON path.
/// Exit 0 when valid, 2 when invalid, 1 when the file cannot be read.
enum CheckCommand {
    static let usage = "channelkit check --config FILE"

    static func main(_ arguments: [String]) -> Int32 {
        let path: String
        do {
            path = try CommandOptions(arguments, valued: ["config"], flags: []).require("config")
        } catch {
            LineWriter.standardError.line("error: \(error)\nusage: \(usage)")
            return 64
        }
        switch ConfigLoading.load(path) {
        case .success(let loaded):
            let accounts = loaded.settings.accounts
            let enabled = accounts.filter { $0.settings.enabled }.count
            LineWriter.standardOutput.line("ok: \(accounts.count) account(s), \(enabled) enabled")
            for account in accounts {
                LineWriter.standardOutput.line("  \(account.key)\(account.settings.enabled ? "" : " (disabled)")")
            }
            return 0
        case .failure(.unreadable(let message)):
            LineWriter.standardError.line("error: \(message)")
            return 1
        case .failure(.invalid(let error)):
            ConfigLoading.printIssues(error, to: .standardOutput)
            return 2
        }
    }
}
