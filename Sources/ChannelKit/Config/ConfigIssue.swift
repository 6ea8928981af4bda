/// One problem in a configuration file: where (a JSON path such as
/// `$.channels.qqbot.accounts.main.appId`) and what.
public struct ConfigIssue: Hashable, Sendable, CustomStringConvertible {
    /// The JSON path of the offending value (or of the object missing a field).
    public var path: String
    /// What is wrong, without secret values.
    public var message: String

    /// Creates an issue.
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

/// Every problem found in a configuration; nothing is started while there are any.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    /// The problems, in document order as far as it is known.
    public var issues: [ConfigIssue]

    /// Creates an error.
    public init(issues: [ConfigIssue]) {
        self.issues = issues
    }

    public var description: String {
        "invalid configuration (\(issues.count) problem\(issues.count == 1 ? "" : "s")):\n"
            + issues.map { "  \($0)" }.joined(separator: "\n")
    }

    /// The same problems as a ``ChannelError`` (`.invalidConfiguration`, location = the
    /// first path).
    public var channelError: ChannelError {
        ChannelError(.invalidConfiguration, description, location: issues.first?.path)
    }
}
