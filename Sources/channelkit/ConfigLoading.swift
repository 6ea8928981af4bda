import ChannelKit
import Foundation

/// Reads and parses a config file for `run`, `check` and `probe`.
enum ConfigLoading {
    enum Failure: Error {
        /// The file could not be read (exit 1).
        case unreadable(String)
        /// The configuration is invalid (exit 2).
        case invalid(ConfigError)
    }

    static func load(_ path: String) -> Result<(settings: GatewaySettings, directory: String), Failure> {
        let url = URL(fileURLWithPath: path)
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            return .failure(.unreadable("cannot read \(path): \((error as NSError).localizedDescription)"))
        }
        let directory = url.deletingLastPathComponent().path
        do {
            let settings = try GatewaySettings.parse(data, adapters: AvailableAdapters.all, environment: .process(baseDirectory: directory))
            return .success((settings, directory))
        } catch {
            return .failure(.invalid(error))
        }
    }

    /// The state directory: `state.directory`, else `.channelkit-state` beside the file.
    static func stateDirectory(_ settings: GatewaySettings, configDirectory: String) -> URL {
        URL(fileURLWithPath: settings.stateDirectory ?? (configDirectory as NSString).appendingPathComponent(".channelkit-state"))
    }

    /// A subcommand's parsed options and loaded configuration.
    struct Prepared {
        let options: CommandOptions
        let path: String
        let settings: GatewaySettings
        let directory: String
    }

    /// Why a subcommand stops before it starts: the exit status (64 usage, 1 unreadable
    /// file, 2 invalid configuration), already reported.
    struct Exit: Error {
        let status: Int32
    }

    /// Parses `--config FILE` and the command's other options, reads and validates the
    /// file. Problems are printed — usage and unreadable files on stderr, configuration
    /// issues on `issues` — and thrown as the exit status.
    static func prepare(_ arguments: [String], usage: String, valued: Set<String> = [], flags: Set<String> = [], issues: LineWriter) throws(Exit) -> Prepared {
        let options: CommandOptions
        let path: String
        do {
            options = try CommandOptions(arguments, valued: valued.union(["config"]), flags: flags)
            path = try options.require("config")
        } catch {
            LineWriter.standardError.line("error: \(error)\nusage: \(usage)")
            throw Exit(status: 64)
        }
        switch load(path) {
        case .success(let loaded):
            return Prepared(options: options, path: path, settings: loaded.settings, directory: loaded.directory)
        case .failure(.unreadable(let message)):
            LineWriter.standardError.line("error: \(message)")
            throw Exit(status: 1)
        case .failure(.invalid(let error)):
            printIssues(error, to: issues)
            throw Exit(status: 2)
        }
    }

    /// Prints every issue, one per line, `path: message`.
    static func printIssues(_ error: ConfigError, to writer: LineWriter) {
        writer.line("invalid configuration (\(error.issues.count) problem\(error.issues.count == 1 ? "" : "s")):")
        for issue in error.issues { writer.line("  \(issue.path): \(issue.message)") }
    }
}
