/// The flags of one subcommand: `--name value`, `--name=value` and bare `--flag`.
struct CommandOptions {
    private(set) var values: [String: String] = [:]
    private(set) var flags: Set<String> = []

    /// Parses `arguments`; `valued` names the options that take a value.
    init(_ arguments: [String], valued: Set<String>, flags allowed: Set<String>) throws(UsageError) {
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            guard argument.hasPrefix("--") else { throw UsageError("unexpected argument \"\(argument)\"") }
            var name = String(argument.dropFirst(2))
            var inline: String?
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            if valued.contains(name) {
                if let inline {
                    values[name] = inline
                } else {
                    index += 1
                    guard index < arguments.count else { throw UsageError("--\(name) needs a value") }
                    values[name] = arguments[index]
                }
            } else if allowed.contains(name), inline == nil {
                flags.insert(name)
            } else {
                throw UsageError("unknown option --\(name)")
            }
            index += 1
        }
    }

    func require(_ name: String) throws(UsageError) -> String {
        guard let value = values[name], !value.isEmpty else { throw UsageError("--\(name) is required") }
        return value
    }
}

/// A command-line mistake; printed with the usage and exit code 64.
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
