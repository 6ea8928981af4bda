/// Identifies a chat platform ("channel") such as QQ Bot or Feishu.
///
/// A `ChannelID` is a lower-case token used in credential keys, state file names, log
/// metadata and session keys. The well-known platforms have static members; other
/// values are allowed so hosts can plug in their own adapters.
public struct ChannelID: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The canonical (lower-case) name, e.g. `"qqbot"`.
    public let rawValue: String

    /// Creates a channel id; the value is lower-cased.
    public init(rawValue: String) { self.rawValue = rawValue.lowercased() }
    /// Creates a channel id; the value is lower-cased.
    public init(_ rawValue: String) { self.init(rawValue: rawValue) }
    public init(stringLiteral value: String) { self.init(rawValue: value) }
    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    public var description: String { rawValue }

    /// Tencent QQ Bot open platform.
    public static let qqbot = ChannelID(rawValue: "qqbot")
    /// Feishu / Lark open platform.
    public static let feishu = ChannelID(rawValue: "feishu")
    /// OpenIM server.
    public static let openim = ChannelID(rawValue: "openim")
    /// ClawChat (clawling) agent messaging.
    public static let clawchat = ChannelID(rawValue: "clawchat")
}
