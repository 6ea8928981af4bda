import ChannelKit

/// `{accountId}` and `{state.<field>}` placeholders in the `tokenRefresh.http` templates
/// (endpoint, header values, body string leaves, `clearOnSuccess` paths).
///
/// Only those two forms are placeholders; an unknown `{name}` is a configuration error
/// (reported by ``OpenIMTokenRefresh/parse(_:)``), and text without braces is literal.
enum OpenIMTokenTemplate {
    enum Placeholder: Equatable {
        case accountID
        case state(String)
        case unknown(String)
    }

    /// The placeholders in `text`, in order.
    static func placeholders(in text: String) -> [Placeholder] {
        var found: [Placeholder] = []
        _ = scan(text) { found.append($0); return "" }
        return found
    }

    /// `text` with every placeholder replaced.
    /// - Throws: ``OpenIMTokenRefreshFailure`` (terminal) when a `{state.<field>}` is
    ///   missing from the account's state entry or is not a scalar.
    static func fill(_ text: String, accountID: String, state: [String: JSONValue]) throws(OpenIMTokenRefreshFailure) -> String {
        var failure: OpenIMTokenRefreshFailure?
        let result = scan(text) { placeholder in
            switch placeholder {
            case .accountID:
                return accountID
            case .state(let field):
                switch state[field] {
                case .string(let s)?: return s
                case .number(let n)?: return n.rounded() == n && abs(n) < 1e15 ? String(Int64(n)) : String(n)
                case .bool(let b)?: return b ? "true" : "false"
                case nil, .null?:
                    failure = failure ?? .terminal("the state file has no \"\(field)\" for account \(accountID) (needed by {state.\(field)})")
                    return ""
                default:
                    failure = failure ?? .terminal("state field \"\(field)\" of account \(accountID) is not a string, number or boolean")
                    return ""
                }
            case .unknown(let name):
                failure = failure ?? .terminal("unknown placeholder {\(name)}")
                return ""
            }
        }
        if let failure { throw failure }
        return result
    }

    /// `value` with every string leaf filled in.
    static func fill(_ value: JSONValue, accountID: String, state: [String: JSONValue]) throws(OpenIMTokenRefreshFailure) -> JSONValue {
        switch value {
        case .string(let text):
            return .string(try fill(text, accountID: accountID, state: state))
        case .array(let items):
            var out: [JSONValue] = []
            for item in items { out.append(try fill(item, accountID: accountID, state: state)) }
            return .array(out)
        case .object(let members):
            var out: [String: JSONValue] = [:]
            for (key, item) in members { out[key] = try fill(item, accountID: accountID, state: state) }
            return .object(out)
        default:
            return value
        }
    }

    /// Whether a URL template starts with `http://`, `https://` or a placeholder (which
    /// may supply the scheme, e.g. `{state.auth_server_url}/api/refresh`).
    static func isPlausibleURLTemplate(_ text: String) -> Bool {
        let lower = text.lowercased()
        return lower.hasPrefix("http://") || lower.hasPrefix("https://") || lower.hasPrefix("{")
    }

    /// Walks `text`, replacing each `{…}` placeholder with `replacement(placeholder)`.
    /// A `{` without a closing `}` is literal.
    private static func scan(_ text: String, _ replacement: (Placeholder) -> String) -> String {
        var out = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            out += rest[..<open]
            let afterOpen = rest.index(after: open)
            guard let close = rest[afterOpen...].firstIndex(of: "}") else {
                out += rest[open...]
                return out
            }
            let name = String(rest[afterOpen..<close])
            let placeholder: Placeholder
            if name == "accountId" {
                placeholder = .accountID
            } else if name.hasPrefix("state."), name.count > 6 {
                placeholder = .state(String(name.dropFirst(6)))
            } else {
                placeholder = .unknown(name)
            }
            out += replacement(placeholder)
            rest = rest[rest.index(after: close)...]
        }
        out += rest
        return out
    }
}

/// Why one refresh attempt did not produce a token.
enum OpenIMTokenRefreshFailure: Error, Sendable, Equatable {
    /// Worth retrying later (network, timeout, HTTP 5xx/429, a state-file lock).
    case transient(String)
    /// Retrying cannot help (HTTP 4xx, a reply without a token, a broken template or
    /// state file, no hook): the account needs a manual login.
    case terminal(String)

    var reason: String {
        switch self {
        case .transient(let r), .terminal(let r): return r
        }
    }
}
