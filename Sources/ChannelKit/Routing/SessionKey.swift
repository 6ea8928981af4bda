/// Canonical session keys: the one function that turns an origin into the string a host
/// stores conversation state under, so the host and the library always agree.
///
/// Shapes (each `<segment>` escaped, see ``escape(_:)``):
/// - direct, ``DMScope/main``: `agent:<agent>:main`
/// - direct, ``DMScope/perPeer``: `agent:<agent>:direct:<peer>`
/// - direct, ``DMScope/perChannelPeer``: `agent:<agent>:<channel>:direct:<peer>`
/// - direct, ``DMScope/perAccountChannelPeer``: `agent:<agent>:<channel>:<account>:direct:<peer>`
/// - group / channel (any scope): `agent:<agent>:<channel>:<account>:<kind>:<peer>`
/// - a thread appends `:thread:<thread>` to a non-`main` key.
///
/// Group keys always include the account: two bots in one group are two sessions, never
/// one shared memory (bug class "session keys collide across accounts").
public enum SessionKey {
    /// The default agent id, `main`.
    public static let defaultAgent = "main"

    /// Builds the session key for a conversation.
    /// - Parameters:
    ///   - agent: the agent id (default `main`).
    ///   - account: the receiving account.
    ///   - peer: the conversation.
    ///   - thread: the thread inside it, if any.
    ///   - dmScope: how direct messages share sessions.
    public static func make(
        agent: String = defaultAgent,
        account: AccountKey,
        peer: Peer,
        thread: String? = nil,
        dmScope: DMScope
    ) -> String {
        var segments = ["agent", escape(agent)]
        switch peer.kind {
        case .direct:
            switch dmScope {
            case .main:
                return (segments + ["main"]).joined(separator: ":")
            case .perPeer:
                segments += ["direct", escape(peer.id)]
            case .perChannelPeer:
                segments += [escape(account.channel.rawValue), "direct", escape(peer.id)]
            case .perAccountChannelPeer:
                segments += [escape(account.channel.rawValue), escape(account.account.rawValue), "direct", escape(peer.id)]
            }
        case .group, .channel:
            segments += [escape(account.channel.rawValue), escape(account.account.rawValue), peer.kind.rawValue, escape(peer.id)]
        }
        if let thread, !thread.isEmpty {
            segments += ["thread", escape(thread)]
        }
        return segments.joined(separator: ":")
    }

    /// The session key for an inbound message's origin.
    public static func make(agent: String = defaultAgent, origin: Origin, dmScope: DMScope) -> String {
        make(agent: agent, account: origin.account, peer: origin.peer, thread: origin.thread, dmScope: dmScope)
    }

    /// Percent-escapes a segment so that no id can forge a separator: `%`, `:`, `/`,
    /// whitespace, control characters and non-ASCII bytes become `%XX` (UTF-8). Case is
    /// kept, because platform ids are case-sensitive and lowercasing could merge two
    /// different peers. An empty segment stays empty, so the key keeps its shape.
    public static func escape(_ segment: String) -> String {
        var out = ""
        out.reserveCapacity(segment.utf8.count)
        for byte in segment.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "@"),
                 UInt8(ascii: "+"), UInt8(ascii: "="), UInt8(ascii: "#"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + hexDigit(byte >> 4) + hexDigit(byte & 0x0F)
            }
        }
        return out
    }

    private static func hexDigit(_ nibble: UInt8) -> String {
        String(UnicodeScalar(nibble < 10 ? nibble + 48 : nibble + 55))
    }
}
