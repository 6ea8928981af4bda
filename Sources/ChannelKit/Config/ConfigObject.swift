import Foundation

/// A JSON object being read as configuration, that knows its JSON path and collects every
/// problem instead of stopping at the first.
///
/// Adapters read their account objects with it:
///
/// ```swift
/// let appId = config.string("appId", required: true)
/// let secret = config.secret("clientSecret", required: true)   // or clientSecretFile / clientSecretEnv
/// let sandbox = config.bool("sandbox") ?? false
/// config.rejectUnknownKeys()
/// ```
///
/// Every typed reader records the key as known, reports a wrong type with its path, and
/// returns `nil` when the value is absent or wrong.
public final class ConfigObject {
    /// The JSON path of this object (`$.channels.qqbot.accounts.main`).
    public let path: String
    /// The object's members.
    public let members: [String: JSONValue]
    /// Where `…Env` / `…File` values come from.
    public let environment: ConfigEnvironment
    private let sink: IssueSink
    private var known: Set<String> = []

    /// Wraps `value` found at `path`; reports an issue and wraps an empty object when it
    /// is not an object.
    public convenience init(_ value: JSONValue, path: String = "$", environment: ConfigEnvironment = ConfigEnvironment()) {
        self.init(value, path: path, environment: environment, sink: IssueSink())
    }

    private init(_ value: JSONValue, path: String, environment: ConfigEnvironment, sink: IssueSink) {
        self.path = path
        self.environment = environment
        self.sink = sink
        if case .object(let members) = value {
            self.members = members
        } else {
            self.members = [:]
            sink.issues.append(ConfigIssue(path: path, message: "expected an object, found \(Self.typeName(value))"))
        }
    }

    /// Every problem recorded so far, by this object and every object derived from it.
    public var issues: [ConfigIssue] { sink.issues }

    /// The path of member `key`.
    public func path(of key: String) -> String {
        Self.join(path, key)
    }

    /// Records a problem at `key` (or at this object when `key` is `nil`).
    public func error(_ message: String, at key: String? = nil) {
        sink.issues.append(ConfigIssue(path: key.map(path(of:)) ?? path, message: message))
    }

    /// Records a problem at an explicit path (for values inside arrays).
    public func error(_ message: String, atPath path: String) {
        sink.issues.append(ConfigIssue(path: path, message: message))
    }

    /// Whether `key` is present (and not `null`). Marks it known.
    public func has(_ key: String) -> Bool {
        known.insert(key)
        if let value = members[key], !value.isNull { return true }
        return false
    }

    /// The raw value of `key`, marking it known.
    public func value(_ key: String) -> JSONValue? {
        known.insert(key)
        guard let value = members[key], !value.isNull else { return nil }
        return value
    }

    /// A string member; reports a non-string, or a missing value when `required`.
    /// Empty strings count as missing when `required`.
    public func string(_ key: String, required: Bool = false) -> String? {
        guard let value = value(key) else {
            if required { error("missing required field \"\(key)\"", at: key) }
            return nil
        }
        guard case .string(let s) = value else {
            error("expected a string, found \(Self.typeName(value))", at: key)
            return nil
        }
        if required && s.isEmpty {
            error("must not be empty", at: key)
            return nil
        }
        return s
    }

    /// A boolean member.
    public func bool(_ key: String) -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let b) = value else {
            error("expected true or false, found \(Self.typeName(value))", at: key)
            return nil
        }
        return b
    }

    /// An integer member within `range`.
    public func int(_ key: String, in range: ClosedRange<Int>? = nil, required: Bool = false) -> Int? {
        guard let value = value(key) else {
            if required { error("missing required field \"\(key)\"", at: key) }
            return nil
        }
        guard let i = value.intValue else {
            error("expected an integer, found \(Self.typeName(value))", at: key)
            return nil
        }
        if let range, !range.contains(i) {
            error("must be between \(range.lowerBound) and \(range.upperBound), found \(i)", at: key)
            return nil
        }
        return i
    }

    /// A number member within `range`.
    public func double(_ key: String, in range: ClosedRange<Double>? = nil) -> Double? {
        guard let value = value(key) else { return nil }
        guard let d = value.doubleValue else {
            error("expected a number, found \(Self.typeName(value))", at: key)
            return nil
        }
        if let range, !range.contains(d) {
            error("must be between \(range.lowerBound) and \(range.upperBound), found \(d)", at: key)
            return nil
        }
        return d
    }

    /// A string member that must be one of `allowed`.
    public func choice(_ key: String, _ allowed: [String]) -> String? {
        guard let s = string(key) else { return nil }
        guard allowed.contains(s) else {
            error("must be one of \(allowed.map { "\"\($0)\"" }.joined(separator: ", ")), found \"\(s)\"", at: key)
            return nil
        }
        return s
    }

    /// An absolute URL member whose scheme is in `schemes` (e.g. `["https", "http"]`).
    public func url(_ key: String, schemes: Set<String>, required: Bool = false) -> URL? {
        guard let s = string(key, required: required) else { return nil }
        guard let url = URL(string: s), let scheme = url.scheme?.lowercased(), url.host != nil else {
            error("expected an absolute URL", at: key)
            return nil
        }
        guard schemes.contains(scheme) else {
            error("URL scheme must be one of \(schemes.sorted().joined(separator: ", ")), found \"\(scheme)\"", at: key)
            return nil
        }
        return url
    }

    /// A nested object member.
    public func object(_ key: String) -> ConfigObject? {
        guard let value = value(key) else { return nil }
        guard case .object = value else {
            error("expected an object, found \(Self.typeName(value))", at: key)
            return nil
        }
        return ConfigObject(value, path: path(of: key), environment: environment, sink: sink)
    }

    /// An array member.
    public func array(_ key: String) -> [JSONValue]? {
        guard let value = value(key) else { return nil }
        guard case .array(let items) = value else {
            error("expected an array, found \(Self.typeName(value))", at: key)
            return nil
        }
        return items
    }

    /// A secret given in exactly one of three ways: inline (`key`), from a file
    /// (`keyFile`, trailing newline trimmed) or from an environment variable (`keyEnv`).
    /// Reports none (when `required`), more than one, an unreadable file, an unset or
    /// empty variable — never the secret's value.
    public func secret(_ key: String, required: Bool) -> Secret? {
        let fileKey = key + "File", envKey = key + "Env"
        let inline = string(key)
        let file = string(fileKey)
        let env = string(envKey)
        let given = [inline != nil ? key : nil, file != nil ? fileKey : nil, env != nil ? envKey : nil].compactMap { $0 }
        if given.count > 1 {
            error("give only one of \(given.map { "\"\($0)\"" }.joined(separator: ", "))", at: given[1])
            return nil
        }
        if let inline {
            if inline.isEmpty { error("must not be empty", at: key); return nil }
            return Secret(inline)
        }
        if let file {
            let resolved = environment.resolve(path: file)
            do {
                let data = try environment.readFile(resolved)
                guard let text = String(data: data, encoding: .utf8) else {
                    error("file \(resolved) is not UTF-8 text", at: fileKey)
                    return nil
                }
                let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
                if trimmed.isEmpty { error("file \(resolved) is empty", at: fileKey); return nil }
                return Secret(trimmed)
            } catch {
                self.error("cannot read file \(resolved): \((error as NSError).localizedDescription)", at: fileKey)
                return nil
            }
        }
        if let env {
            guard let value = environment.variables[env], !value.isEmpty else {
                error("environment variable \(env) is not set or empty", at: envKey)
                return nil
            }
            return Secret(value)
        }
        if required {
            error("missing required secret: give \"\(key)\", \"\(fileKey)\" or \"\(envKey)\"", at: key)
        }
        return nil
    }

    /// Reports every member not read by any reader above as an unknown field.
    /// `also` names fields that are accepted but not read here.
    public func rejectUnknownKeys(also: Set<String> = []) {
        for key in members.keys.sorted() where !known.contains(key) && !also.contains(key) {
            error("unknown field \"\(key)\"", at: key)
        }
    }

    /// The JSON type name of a value, for messages.
    public static func typeName(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// Joins a path and a member name (`$.a.b`, or `$.a["x y"]` for names that are not
    /// plain identifiers).
    public static func join(_ path: String, _ key: String) -> String {
        let plain = !key.isEmpty && key.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x2D
        }
        if plain { return path + "." + key }
        let escaped = key.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return path + "[\"" + escaped + "\"]"
    }
}

private final class IssueSink {
    var issues: [ConfigIssue] = []
}
