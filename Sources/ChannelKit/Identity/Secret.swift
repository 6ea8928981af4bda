/// A secret value (token, app secret, refresh token, ticketed URL) that never prints.
///
/// `description`, `debugDescription`, string interpolation, `dump` and `Mirror` all show
/// `Secret(<redacted>)`. The value is reachable only through ``reveal()``, which makes
/// every use that sends it somewhere easy to find in review.
///
/// `Secret` encodes as its plain string, because configuration and state files must
/// hold the real value; such files are written with mode 0600.
public struct Secret: Hashable, Sendable, Codable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let value: String

    /// Wraps a secret value.
    public init(_ value: String) { self.value = value }

    /// The secret value itself. Use only to put it on the wire or into a secure store.
    public func reveal() -> String { value }

    /// `true` when the secret is the empty string.
    public var isEmpty: Bool { value.isEmpty }

    /// A fixed marker, never derived from the value.
    public var description: String { "Secret(<redacted>)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    public init(from decoder: any Decoder) throws {
        self.value = try decoder.singleValueContainer().decode(String.self)
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }
}
