import Foundation
import ChannelKit

/// The server-pushed connection settings (`ClientConfig`: PascalCase, seconds), from the
/// endpoint reply and from pong payloads.
///
/// A pushed config is merged **field by field**: a partial config changes only the
/// fields it carries (the official Python SDK overwrites all four, leaving the others
/// empty). ``reconnectCount`` is recorded but never ends reconnection for good
/// (larksuite #72828: the server pushed `ReconnectCount=1`).
public struct FeishuClientConfig: Sendable, Hashable {
    /// `ReconnectCount`: how many reconnects the server suggests; `< 0` unlimited.
    /// Informational only. Default −1.
    public var reconnectCount: Int
    /// `ReconnectInterval`: the suggested wait between reconnects. Default 120 s.
    public var reconnectInterval: Duration
    /// `ReconnectNonce`: the first reconnect waits a random time in `[0, nonce)`.
    /// Default 30 s.
    public var reconnectNonce: Duration
    /// `PingInterval`: the wait between pings (re-read before every ping). Default 120 s.
    public var pingInterval: Duration

    /// The SDKs' defaults: −1, 120 s, 30 s, 120 s.
    public init(reconnectCount: Int = -1, reconnectInterval: Duration = .seconds(120), reconnectNonce: Duration = .seconds(30),
                pingInterval: Duration = .seconds(120)) {
        self.reconnectCount = reconnectCount
        self.reconnectInterval = reconnectInterval
        self.reconnectNonce = reconnectNonce
        self.pingInterval = pingInterval
    }

    /// Merges the fields present in `object` (a decoded `ClientConfig`); absent, `null`
    /// or unusable fields keep their current value. Intervals below 1 s are raised to
    /// 1 s, above a day capped at a day.
    /// - Returns: Whether anything changed.
    @discardableResult
    public mutating func merge(_ object: JSONValue) -> Bool {
        let before = self
        func seconds(_ key: String) -> Duration? {
            guard let n = object[key]?.intValue ?? object[key]?.stringValue.flatMap({ Int($0) }) else { return nil }
            return .seconds(min(max(n, 1), 86_400))
        }
        if let n = object["ReconnectCount"]?.intValue { reconnectCount = n }
        if let d = seconds("ReconnectInterval") { reconnectInterval = d }
        if let d = seconds("PingInterval") { pingInterval = d }
        if let n = object["ReconnectNonce"]?.intValue { reconnectNonce = .seconds(min(max(n, 0), 86_400)) }
        return self != before
    }

    /// Merges a pong payload (UTF-8 JSON `ClientConfig`).
    /// - Throws: ``ChannelError`` `.malformedInput` when it is not a JSON object.
    @discardableResult
    public mutating func merge(payload: [UInt8]) throws(ChannelError) -> Bool {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(payload)), value.objectValue != nil else {
            throw ChannelError(.malformedInput, "pong payload is not a ClientConfig JSON object", location: "pong.payload")
        }
        return merge(value)
    }
}
