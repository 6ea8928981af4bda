import Foundation
import ChannelKit

/// Hidden subcommands that exercise ``FileStateStore`` from a second process, for the
/// crash-safety and cross-process lock tests (`FileStateStoreTests`). Not part of the
/// supported command-line interface.
///
/// Both use the key `qqbot:torture/torture` under the directory given as argument:
/// - `_store-writer <dir>` saves `{"sequence": n, "padding": <64 KiB of the digit n % 10>}`
///   for n = 1, 2, … forever, printing `n` on its own line after each successful save.
/// - `_lock-holder <dir>` takes ``FileStateStore/withExclusiveAccess(_:_:)`` on the key,
///   prints `locked`, and releases and exits once a line (or end of file) arrives on stdin.
enum StoreTortureCommand {
    /// The document the writer saves.
    struct Document: Codable, Sendable {
        var sequence: Int
        var padding: String
    }

    /// The key both subcommands use.
    static let key = StateKey(AccountKey(.qqbot, "torture"), "torture")

    /// Size of the writer's padding, so each save takes real time. 64 KiB.
    static let paddingLength = 64 * 1024

    /// `_store-writer <dir>`: saves forever; returns an exit status only on failure.
    static func storeWriter(_ arguments: [String]) async -> Int32 {
        guard arguments.count == 1 else { return usage("_store-writer <dir>") }
        let store = FileStateStore(directory: URL(fileURLWithPath: arguments[0]))
        var sequence = 0
        while true {
            sequence += 1
            let digit = Character(String(sequence % 10))
            let document = Document(sequence: sequence, padding: String(repeating: digit, count: paddingLength))
            do {
                try await store.save(document, for: key)
            } catch {
                printError("channelkit _store-writer: \(error)")
                return 1
            }
            FileHandle.standardOutput.write(Data("\(sequence)\n".utf8))
        }
    }

    /// `_lock-holder <dir>`: holds the lock until stdin yields a line or closes.
    static func lockHolder(_ arguments: [String]) async -> Int32 {
        guard arguments.count == 1 else { return usage("_lock-holder <dir>") }
        let store = FileStateStore(directory: URL(fileURLWithPath: arguments[0]))
        do {
            try await store.withExclusiveAccess(key) {
                FileHandle.standardOutput.write(Data("locked\n".utf8))
                await waitForStandardInput()
            }
        } catch {
            printError("channelkit _lock-holder: \(error)")
            return 1
        }
        return 0
    }

    /// Blocks a dedicated thread (not the cooperative pool) until stdin has a line or ends.
    private static func waitForStandardInput() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread {
                _ = readLine()
                continuation.resume()
            }.start()
        }
    }

    private static func usage(_ synopsis: String) -> Int32 {
        printError("usage: channelkit \(synopsis)")
        return 64
    }

    private static func printError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
