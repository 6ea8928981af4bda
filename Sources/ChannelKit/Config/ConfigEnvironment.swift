import Foundation

/// Where `…Env` and `…File` secrets come from while a configuration is parsed.
///
/// Injected so tests never touch the real environment; ``process(baseDirectory:)`` reads
/// the process environment and the file system.
public struct ConfigEnvironment: Sendable {
    /// Environment variables.
    public var variables: [String: String]
    /// Directory that relative file paths resolve against (the config file's directory).
    public var baseDirectory: String
    /// Reads a file's bytes.
    public var readFile: @Sendable (String) throws -> Data

    /// Creates an environment.
    public init(variables: [String: String] = [:], baseDirectory: String = ".", readFile: @escaping @Sendable (String) throws -> Data = { try Data(contentsOf: URL(fileURLWithPath: $0)) }) {
        self.variables = variables
        self.baseDirectory = baseDirectory
        self.readFile = readFile
    }

    /// The process's environment and file system.
    public static func process(baseDirectory: String = FileManager.default.currentDirectoryPath) -> ConfigEnvironment {
        ConfigEnvironment(variables: ProcessInfo.processInfo.environment, baseDirectory: baseDirectory)
    }

    /// `path` made absolute against ``baseDirectory`` (a leading `~/` expands to `$HOME`).
    public func resolve(path: String) -> String {
        if path.hasPrefix("/") { return path }
        if path.hasPrefix("~/"), let home = variables["HOME"] { return home + String(path.dropFirst(1)) }
        return (baseDirectory as NSString).appendingPathComponent(path)
    }
}
