import ChannelKit
import Foundation

/// How an OpenIM account gets a new token when the server says its token is expired,
/// invalid or kicked, or it cannot connect (`channels.openim.tokenRefresh`).
///
/// Three modes, as in the `multi-openim-channel` plugin:
/// - `http`: one configured HTTP request per attempt (``HTTP``), the token read from the
///   reply by dot-path;
/// - `hook`: the host's closure (`OpenIMAdapter.Configuration.tokenHook`);
/// - `off`: no recovery.
///
/// When recovery fails for good, a per-account manual-login marker file is written and
/// the account stops (`failed: manual login required`) until its token or configuration
/// changes. The description redacts header values and the body (they often carry
/// credentials).
public struct OpenIMTokenRefresh: Sendable, Equatable, CustomStringConvertible, CustomReflectable {
    /// The recovery mode.
    public enum Mode: Sendable, Equatable {
        /// No recovery: a token error writes the marker at once.
        case off
        /// Ask the host's `tokenHook`; none registered, `nil` or an empty token is a
        /// terminal failure.
        case hook
        /// One HTTP request per attempt.
        case http(HTTP)
    }

    /// The `http` mode's request and reply handling. String templates may contain
    /// `{accountId}` and `{state.<field>}` (from ``stateFile``, `stateFile[accountId][field]`).
    public struct HTTP: Sendable, Equatable {
        /// URL template (`http`/`https` once filled in). Required.
        public var endpoint: String
        /// HTTP method; default `POST`.
        public var method: String
        /// Header templates (values are templates; names are literal).
        public var headers: [String: String]
        /// Body; every string leaf is a template. `nil` sends no body.
        public var body: JSONValue?
        /// Absolute path of the JSON state file keyed by accountId, or `nil`.
        public var stateFile: String?
        /// Request timeout (`timeoutMs`, default 15,000 ms).
        public var timeout: Duration
        /// Where the new token is in the reply: dot-paths tried in order (default `token`).
        public var responseTokenPath: [String]
        /// State fields to write back: field → dot-paths tried in order.
        public var stateWriteBack: [String: [String]]
        /// Path templates of files to delete after a successful refresh.
        public var clearOnSuccess: [String]

        /// Creates settings; see the properties for defaults.
        public init(endpoint: String, method: String = "POST", headers: [String: String] = [:], body: JSONValue? = nil, stateFile: String? = nil, timeout: Duration = .milliseconds(15_000), responseTokenPath: [String] = ["token"], stateWriteBack: [String: [String]] = [:], clearOnSuccess: [String] = []) {
            self.endpoint = endpoint
            self.method = method
            self.headers = headers
            self.body = body
            self.stateFile = stateFile
            self.timeout = timeout
            self.responseTokenPath = responseTokenPath
            self.stateWriteBack = stateWriteBack
            self.clearOnSuccess = clearOnSuccess
        }
    }

    /// The mode.
    public var mode: Mode
    /// The marker path template (absolute once parsed), or `nil` for
    /// `<state directory>/openim/manual-login.json`. The account id goes before the
    /// extension (`manual-login.<accountId>.json`) unless the template has `{accountId}`.
    public var manualLoginMarkerPath: String?

    /// Creates settings.
    public init(mode: Mode, manualLoginMarkerPath: String? = nil) {
        self.mode = mode
        self.manualLoginMarkerPath = manualLoginMarkerPath
    }

    /// No recovery, default marker path (what an absent `tokenRefresh` means).
    public static let off = OpenIMTokenRefresh(mode: .off)

    /// The HTTP methods `http` mode may use.
    public static let methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    /// Parses `tokenRefresh`. The `http` fields sit under `tokenRefresh.http` (as in the
    /// plugin) or, equally, directly under `tokenRefresh`; not both. Every problem is
    /// reported with its JSON path; returns `nil` when the object is unusable.
    public static func parse(_ object: ConfigObject) -> OpenIMTokenRefresh? {
        let issuesBefore = object.issues.count
        let mode = object.choice("mode", ["http", "hook", "off"])
        if !object.has("mode") { object.error("missing required field \"mode\" (http, hook or off)", at: "mode") }
        var marker: String?
        if let path = object.string("manualLoginMarkerPath") {
            if path.isEmpty { object.error("must not be empty", at: "manualLoginMarkerPath") }
            else { marker = object.environment.resolve(path: path) }
        }
        let flatKeys = Set(["endpoint", "method", "headers", "body", "stateFile", "timeoutMs", "responseTokenPath", "stateWriteBack", "clearOnSuccess"])
        let flat = !flatKeys.isDisjoint(with: object.members.keys)
        var http: HTTP?
        if let nested = object.object("http") {
            if flat { object.error("put the http settings either under \"http\" or directly in tokenRefresh, not both", at: "http") }
            http = parseHTTP(nested, requireEndpoint: mode == "http")
            nested.rejectUnknownKeys()
        } else if flat {
            http = parseHTTP(object, requireEndpoint: mode == "http")
        } else if mode == "http" {
            object.error("mode \"http\" needs an \"http\" object with at least \"endpoint\"", at: "http")
        }
        object.rejectUnknownKeys(also: flat ? flatKeys : [])
        guard object.issues.count == issuesBefore, let mode else { return nil }
        switch mode {
        case "http":
            guard let http else { return nil }
            return OpenIMTokenRefresh(mode: .http(http), manualLoginMarkerPath: marker)
        case "hook":
            return OpenIMTokenRefresh(mode: .hook, manualLoginMarkerPath: marker)
        default:
            return OpenIMTokenRefresh(mode: .off, manualLoginMarkerPath: marker)
        }
    }

    private static func parseHTTP(_ object: ConfigObject, requireEndpoint: Bool) -> HTTP? {
        let endpoint = object.string("endpoint", required: requireEndpoint)
        if let endpoint, !OpenIMTokenTemplate.isPlausibleURLTemplate(endpoint) {
            object.error("must be an http:// or https:// URL (placeholders allowed), got \"\(endpoint)\"", at: "endpoint")
        }
        var method = "POST"
        if let m = object.string("method") {
            if methods.contains(m.uppercased()) { method = m.uppercased() }
            else { object.error("must be one of \(methods.joined(separator: ", ")), got \"\(m)\"", at: "method") }
        }
        var headers: [String: String] = [:]
        if let h = object.object("headers") {
            for name in h.members.keys.sorted() {
                if let value = h.string(name) { headers[name] = value }
            }
        }
        let body = object.value("body")
        var stateFile: String?
        if let path = object.string("stateFile") {
            if path.isEmpty { object.error("must not be empty", at: "stateFile") } else { stateFile = object.environment.resolve(path: path) }
        }
        let timeoutMs = object.int("timeoutMs", in: 100...600_000) ?? 15_000
        let tokenPaths = dotPaths(object, "responseTokenPath") ?? ["token"]
        var writeBack: [String: [String]] = [:]
        if let w = object.object("stateWriteBack") {
            for field in w.members.keys.sorted() {
                if let paths = dotPaths(w, field) { writeBack[field] = paths }
            }
        }
        var clear: [String] = []
        if let list = object.array("clearOnSuccess") {
            for (i, item) in list.enumerated() {
                if let path = item.stringValue, !path.isEmpty { clear.append(object.environment.resolve(path: path)) }
                else { object.error("must be a non-empty string (a path template)", atPath: object.path(of: "clearOnSuccess") + "[\(i)]") }
            }
        }
        // Placeholders must name a known source; `{state.x}` needs a state file.
        var templates: [(String, String)] = []
        if let endpoint { templates.append((object.path(of: "endpoint"), endpoint)) }
        for (name, value) in headers { templates.append((object.path(of: "headers") + ".\(name)", value)) }
        if let body { body.forEachStringLeaf(path: object.path(of: "body")) { templates.append(($0, $1)) } }
        for (i, path) in clear.enumerated() { templates.append((object.path(of: "clearOnSuccess") + "[\(i)]", path)) }
        for (path, text) in templates {
            for placeholder in OpenIMTokenTemplate.placeholders(in: text) {
                switch placeholder {
                case .accountID: break
                case .state:
                    if stateFile == nil { object.error("uses {state.…} but no \"stateFile\" is set", atPath: path) }
                case .unknown(let name):
                    object.error("unknown placeholder {\(name)}: use {accountId} or {state.<field>}", atPath: path)
                }
            }
        }
        guard let endpoint else { return nil }
        return HTTP(endpoint: endpoint, method: method, headers: headers, body: body, stateFile: stateFile, timeout: .milliseconds(timeoutMs), responseTokenPath: tokenPaths, stateWriteBack: writeBack, clearOnSuccess: clear)
    }

    /// A dot-path or a non-empty list of them.
    private static func dotPaths(_ object: ConfigObject, _ key: String) -> [String]? {
        guard let value = object.value(key) else { return nil }
        switch value {
        case .string(let path) where !path.isEmpty:
            return [path]
        case .array(let items) where !items.isEmpty && items.allSatisfy({ ($0.stringValue ?? "").isEmpty == false }):
            return items.compactMap(\.stringValue)
        default:
            object.error("must be a dot-path string or a non-empty list of them", at: key)
            return nil
        }
    }

    /// `OpenIMTokenRefresh(mode: http POST <endpoint>, …)` with header values and body redacted.
    public var description: String {
        switch mode {
        case .off: return "OpenIMTokenRefresh(mode: off)"
        case .hook: return "OpenIMTokenRefresh(mode: hook)"
        case .http(let http):
            let headers = http.headers.keys.sorted().map { "\($0): <redacted>" }.joined(separator: ", ")
            return "OpenIMTokenRefresh(mode: http \(http.method) \(Redactor.redact(http.endpoint)), headers: [\(headers)], body: \(http.body == nil ? "none" : "<redacted>"))"
        }
    }

    /// Mirrors the redacted description only.
    public var customMirror: Mirror { Mirror(self, children: ["description": description], displayStyle: .struct) }
}

extension JSONValue {
    /// Calls `body(path, text)` for every string leaf, depth first.
    func forEachStringLeaf(path: String, _ body: (String, String) -> Void) {
        switch self {
        case .string(let text): body(path, text)
        case .array(let items): for (i, item) in items.enumerated() { item.forEachStringLeaf(path: path + "[\(i)]", body) }
        case .object(let members): for key in members.keys.sorted() { members[key]?.forEachStringLeaf(path: path + "." + key, body) }
        default: break
        }
    }
}
