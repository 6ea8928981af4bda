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

    /// Prints every issue, one per line, `path: message`.
    static func printIssues(_ error: ConfigError, to writer: LineWriter) {
        writer.line("invalid configuration (\(error.issues.count) problem\(error.issues.count == 1 ? "" : "s")):")
        for issue in error.issues { writer.line("  \(issue.path): \(issue.message)") }
    }
}
