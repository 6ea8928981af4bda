import Foundation

extension GatewaySettings {
    /// The default health-check interval when a channel does not set
    /// `healthCheckIntervalMinutes`: 5 minutes.
    public static let defaultHealthCheckMinutes = 5

    /// Parses a configuration file.
    ///
    /// Every problem is collected, each with its JSON path, and thrown together; nothing
    /// is partially returned. A channel without a registered adapter, top-level
    /// credentials in a channel object (accounts must be named), malformed account ids,
    /// unknown fields and every adapter-reported problem are errors.
    /// - Parameters:
    ///   - data: the file's bytes (UTF-8 JSON).
    ///   - adapters: the adapters that parse their channels' accounts.
    ///   - environment: where `…Env` / `…File` secrets come from; relative paths
    ///     (including `state.directory`) resolve against its base directory.
    /// - Throws: ``ConfigError``.
    public static func parse(_ data: Data, adapters: [any ChannelAdapter], environment: ConfigEnvironment) throws(ConfigError) -> GatewaySettings {
        let json: JSONValue
        do {
            json = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw ConfigError(issues: [ConfigIssue(path: "$", message: "not valid JSON: \(Self.describeDecodingError(error))")])
        }
        return try parse(json, adapters: adapters, environment: environment)
    }

    /// Parses an already-decoded configuration; see ``parse(_:adapters:environment:)-(Data,_,_)``.
    public static func parse(_ json: JSONValue, adapters: [any ChannelAdapter], environment: ConfigEnvironment) throws(ConfigError) -> GatewaySettings {
        let root = ConfigObject(json, path: "$", environment: environment)
        var settings = GatewaySettings()
        let byChannel = Dictionary(adapters.map { ($0.channel, $0) }, uniquingKeysWith: { first, _ in first })

        if let session = root.object("session") {
            if let scope = session.choice("dmScope", DMScope.allCases.map(\.rawValue)) {
                settings.dmScope = DMScope(rawValue: scope) ?? .main
            }
            if let agent = session.string("agent") {
                if agent.isEmpty { session.error("must not be empty", at: "agent") } else { settings.agent = agent }
            }
            session.rejectUnknownKeys()
        }
        if let state = root.object("state") {
            if let directory = state.string("directory") {
                if directory.isEmpty { state.error("must not be empty", at: "directory") }
                else { settings.stateDirectory = environment.resolve(path: directory) }
            }
            state.rejectUnknownKeys()
        }
        if let channels = root.object("channels") {
            for name in channels.members.keys.sorted() {
                guard let channelObject = channels.object(name) else { continue }
                let channel = ChannelID(rawValue: name)
                guard name == channel.rawValue else {
                    channels.error("channel names are lower-case: use \"\(channel.rawValue)\"", at: name)
                    continue
                }
                guard let adapter = byChannel[channel] else {
                    let known = byChannel.keys.map(\.rawValue).sorted().joined(separator: ", ")
                    channels.error("no adapter for channel \"\(name)\" in this build (available: \(known))", at: name)
                    continue
                }
                settings.channels[channel] = parseChannel(channelObject, adapter: adapter)
            }
        } else if root.issues.isEmpty {
            root.error("missing required field \"channels\"", at: "channels")
        }
        root.rejectUnknownKeys()
        if !root.issues.isEmpty { throw ConfigError(issues: Self.uniqued(root.issues)) }
        return settings
    }

    private static func parseChannel(_ object: ConfigObject, adapter: any ChannelAdapter) -> ChannelSettings {
        var channel = ChannelSettings(healthCheckInterval: .seconds(adapter.defaultHealthCheckMinutes * 60))
        if let minutes = object.int("healthCheckIntervalMinutes", in: 0...(24 * 60)) {
            channel.healthCheckInterval = minutes == 0 ? nil : .seconds(minutes * 60)
        }
        if let accounts = object.object("accounts") {
            // Keep file order where JSON allows it (objects are unordered; sort for determinism).
            for id in accounts.members.keys.sorted() {
                guard isValidAccountID(id) else {
                    accounts.error("account ids are 1–64 characters of letters, digits, '-', '_' or '.'", at: id)
                    continue
                }
                guard let accountObject = accounts.object(id) else { continue }
                if let parsed = adapter.parseAccount(accountObject, channel: object) {
                    channel.accounts.append((AccountID(id), parsed))
                }
            }
        } else if !object.has("accounts") {
            object.error("missing required field \"accounts\": every account is named, as \(object.path).accounts.<id>", at: "accounts")
        }
        // Anything else at channel level is most likely top-level credentials, which
        // would silently create a "default" account elsewhere: name the fix.
        for key in object.members.keys.sorted() where !["accounts", "healthCheckIntervalMinutes"].contains(key) && !adapter.channelFields.contains(key) {
            object.error("unknown channel-level field \"\(key)\": account settings belong under \(object.path).accounts.<id>", at: key)
        }
        return channel
    }

    /// Issues in first-seen order without repeats (channel-level fields are read once per
    /// account).
    private static func uniqued(_ issues: [ConfigIssue]) -> [ConfigIssue] {
        var seen = Set<ConfigIssue>()
        return issues.filter { seen.insert($0).inserted }
    }

    /// Whether `id` can name an account: 1–64 of `[A-Za-z0-9._-]`, not `.`/`..`.
    public static func isValidAccountID(_ id: String) -> Bool {
        guard (1...64).contains(id.utf8.count), id != ".", id != ".." else { return false }
        return id.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x2D || b == 0x2E
        }
    }

    private static func describeDecodingError(_ error: any Error) -> String {
        if let decoding = error as? DecodingError {
            switch decoding {
            case .dataCorrupted(let context):
                let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
                return underlying ?? context.debugDescription
            default:
                return String(describing: decoding)
            }
        }
        return (error as NSError).localizedDescription
    }
}
