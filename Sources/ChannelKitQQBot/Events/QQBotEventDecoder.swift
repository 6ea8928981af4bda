import Foundation
import ChannelKit

/// Turns gateway frames (the text of one WebSocket message) into typed events for one
/// account.
///
/// Message events (C2C, group @, guild @, guild DM) take a byte-level fast path that
/// builds the ``InboundMessage`` straight from the UTF-8 bytes; everything else (Hello,
/// READY, lifecycle and unknown events) goes through `JSONDecoder`. The fast path is
/// differentially tested against ``decodeReference(_:)``.
///
/// Messages become:
/// - C2C → `Peer(.direct, author.user_openid)`; group → `Peer(.group, group_openid)`
///   with the sender's `member_openid`; guild @ → `Peer(.channel, channel_id)`;
///   guild DM → `Peer(.direct, author.id)` with `replyContext["guildId"]` = the DM's guild.
/// - `replyContext["scene"]` is the ``QQBotScene`` raw value.
/// - The text loses a leading mention of the bot (`<@!id>`/`<@id>` with the bot's id)
///   and surrounding whitespace; `//` attachment URLs get `https:`.
/// - The message id (`d.id`) is the dedup key.
public struct QQBotEventDecoder: Sendable {
    /// The receiving account (stamped into every ``Origin``).
    public var account: AccountKey
    /// The bot's own user id (READY `user.id`), for mention stripping and
    /// ``InboundMessage/mentionsBot``; `nil` while unknown (then nothing is stripped and
    /// no message counts as mentioning the bot: fail-closed).
    public var botID: String?

    /// Creates a decoder.
    public init(account: AccountKey, botID: String? = nil) {
        self.account = account
        self.botID = botID
    }

    // MARK: Fast path

    /// Decodes one frame.
    /// - Throws: ``ChannelError`` `.malformedInput` when the envelope is not readable
    ///   (not JSON, no `op`); a dispatch whose body is bad is returned as
    ///   ``QQBotGatewayEvent/malformedDispatch(seq:type:error:)`` instead.
    public func decode(_ text: String) throws(ChannelError) -> QQBotGatewayEvent {
        var event: QQBotGatewayEvent?
        var failure: ChannelError?
        let done: Void? = text.utf8.withContiguousStorageIfAvailable { buffer in
            do throws(ChannelError) { event = try decode(bytes: buffer) } catch { failure = error }
        }
        if done == nil {
            // Not contiguous UTF-8 (a bridged string): make it so.
            var copy = text
            copy.withUTF8 { buffer in
                do throws(ChannelError) { event = try decode(bytes: buffer) } catch { failure = error }
            }
        }
        if let event { return event }
        throw failure ?? ChannelError(.malformedInput, "gateway frame could not be read", account: account, location: "$")
    }

    /// Decodes one frame from its UTF-8 bytes; see ``decode(_:)``.
    public func decode(bytes: UnsafeBufferPointer<UInt8>) throws(ChannelError) -> QQBotGatewayEvent {
        var s = JSONScanner(bytes)
        var op: Int?, seq: Int?, type: String?
        var scene: QQBotScene?
        var dRange: Range<Int>?
        var parsed: QQBotMessageFields?
        var parseFailure: JSONScanner.Failure?
        do {
            try s.beginObject()
            var first = true
            var seen: UInt8 = 0   // the first occurrence of a member wins, as with JSONDecoder
            while let key = try s.nextKey(&first) {
                if s.matches(key, "op"), seen & 1 == 0 { seen |= 1; op = try s.readInt() }
                else if s.matches(key, "s"), seen & 2 == 0 { seen |= 2; seq = try s.readOptionalInt() }
                else if s.matches(key, "t"), seen & 4 == 0 {
                    seen |= 4
                    if try s.consumeNull() {
                        type = nil
                    } else {
                        switch try s.readStringValue() {
                        case .raw(let range):
                            scene = QQBotScene(eventType: UnsafeBufferPointer(rebasing: bytes[range]))
                            type = scene?.eventType ?? String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
                        case .decoded(let text):
                            type = text
                            scene = QQBotScene(eventType: text)
                        }
                    }
                }
                else if s.matches(key, "d"), seen & 8 == 0 {
                    seen |= 8
                    s.skipWhitespace()
                    let start = s.index
                    if seen & 5 == 5, op == QQBotOpcode.dispatch, scene != nil, s.peek() == UInt8(ascii: "{") {
                        // `op` and `t` came first: parse the message in place. A body that is
                        // valid JSON of the wrong shape is still skipped, so the envelope
                        // (and its seq) survives.
                        var inPlace = s
                        do throws(JSONScanner.Failure) {
                            parsed = try QQBotMessageFields.scan(&inPlace, botID: botID)
                            s = inPlace
                        } catch {
                            parseFailure = error
                            try s.skipValue(depth: 1)
                        }
                    } else {
                        try s.skipValue(depth: 1)
                    }
                    dRange = start..<s.index
                } else { try s.skipValue(depth: 1) }
            }
            try s.expectEnd()
        } catch {
            throw ChannelError(.malformedInput, "gateway frame is not valid JSON (\(error))", account: account, location: "$")
        }
        guard let op else {
            throw ChannelError(.malformedInput, "gateway frame has no op", account: account, location: "$.op")
        }
        if op == QQBotOpcode.dispatch, let type, let scene {
            let fields: QQBotMessageFields
            if let parsed {
                fields = parsed
            } else if let parseFailure {
                return .malformedDispatch(seq: seq, type: type, error: ChannelError(
                    .malformedInput, "\(type) body is not readable (\(parseFailure))", account: account, location: "$.d"))
            } else {
                guard let dRange, bytes[dRange.lowerBound] == UInt8(ascii: "{") else {
                    return .malformedDispatch(seq: seq, type: type, error: ChannelError(
                        .malformedInput, "\(type) without a message object", account: account, location: "$.d"))
                }
                var ds = JSONScanner(bytes, from: dRange.lowerBound)
                do {
                    fields = try QQBotMessageFields.scan(&ds, botID: botID)
                } catch {
                    return .malformedDispatch(seq: seq, type: type, error: ChannelError(
                        .malformedInput, "\(type) body is not readable (\(error))", account: account, location: "$.d"))
                }
            }
            do throws(ChannelError) {
                return .message(seq: seq, try makeMessage(scene: scene, fields: fields))
            } catch {
                return .malformedDispatch(seq: seq, type: type, error: error)
            }
        }
        let d = dRange.map { Data(UnsafeBufferPointer(rebasing: bytes[$0])) }
        return try decodeCold(op: op, seq: seq, type: type, d: d)
    }

    // MARK: Reference path

    private struct Envelope: Decodable {
        var op: Int
        var s: Int?
        var t: String?
        var id: String?
    }
    private struct MessageEnvelope: Decodable {
        var d: QQBotWireMessage?
    }
    private struct RawD: Decodable {
        var d: JSONValue?
    }

    /// Decodes one frame with `JSONDecoder` only: the reference for the fast path.
    public func decodeReference(_ data: Data) throws(ChannelError) -> QQBotGatewayEvent {
        let decoder = JSONDecoder()
        let envelope: Envelope
        do {
            // JSONDecoder checks escapes only in the strings it decodes; validate the whole
            // document first, as the fast path does.
            _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            envelope = try decoder.decode(Envelope.self, from: data)
        } catch {
            throw ChannelError(.malformedInput, "gateway frame is not valid JSON", account: account, location: "$")
        }
        if envelope.op == QQBotOpcode.dispatch, let type = envelope.t, let scene = QQBotScene(eventType: type) {
            let wire: QQBotWireMessage?
            do {
                wire = try decoder.decode(MessageEnvelope.self, from: data).d
            } catch {
                return .malformedDispatch(seq: envelope.s, type: type, error: ChannelError(
                    .malformedInput, "\(type) body is not readable", account: account, location: "$.d"))
            }
            guard let wire else {
                return .malformedDispatch(seq: envelope.s, type: type, error: ChannelError(
                    .malformedInput, "\(type) without a message object", account: account, location: "$.d"))
            }
            do throws(ChannelError) {
                return .message(seq: envelope.s, try makeMessage(scene: scene, fields: wire.fields(botID: botID)))
            } catch {
                return .malformedDispatch(seq: envelope.s, type: type, error: error)
            }
        }
        let raw = (try? decoder.decode(RawD.self, from: data))?.d
        let d = try raw.map { value throws(ChannelError) -> Data in
            do { return try JSONEncoder().encode(value) } catch {
                throw ChannelError(.malformedInput, "cannot re-encode d", account: account, location: "$.d")
            }
        }
        return try decodeCold(op: envelope.op, seq: envelope.s, type: envelope.t, d: d)
    }

    // MARK: Cold frames

    private struct HelloD: Decodable { var heartbeat_interval: Int }
    private struct ReadyD: Decodable {
        struct User: Decodable { var id: String; var username: String? }
        var session_id: String
        var user: User
    }

    private func decodeCold(op: Int, seq: Int?, type: String?, d: Data?) throws(ChannelError) -> QQBotGatewayEvent {
        let decoder = JSONDecoder()
        switch op {
        case QQBotOpcode.hello:
            guard let d, let hello = try? decoder.decode(HelloD.self, from: d), hello.heartbeat_interval > 0 else {
                throw ChannelError(.malformedInput, "Hello without a heartbeat_interval", account: account, location: "$.d.heartbeat_interval")
            }
            return .hello(heartbeatInterval: .milliseconds(hello.heartbeat_interval))
        case QQBotOpcode.heartbeatAck:
            return .heartbeatAck
        case QQBotOpcode.heartbeat:
            return .heartbeatRequest
        case QQBotOpcode.reconnect:
            return .reconnect
        case QQBotOpcode.invalidSession:
            let canResume = d.flatMap { try? decoder.decode(Bool.self, from: $0) } ?? false
            return .invalidSession(canResume: canResume)
        case QQBotOpcode.dispatch:
            guard let type, !type.isEmpty else {
                throw ChannelError(.malformedInput, "dispatch without a type", account: account, location: "$.t")
            }
            if type == "READY" {
                guard let d, let ready = try? decoder.decode(ReadyD.self, from: d), !ready.session_id.isEmpty, !ready.user.id.isEmpty else {
                    return .malformedDispatch(seq: seq, type: type, error: ChannelError(
                        .malformedInput, "READY without session_id and user.id", account: account, location: "$.d"))
                }
                return .ready(seq: seq, sessionID: ready.session_id, user: AccountIdentity(id: ready.user.id, name: ready.user.username))
            }
            if type == "RESUMED" { return .resumed(seq: seq) }
            let payload: JSONValue
            if let d {
                guard let value = try? decoder.decode(JSONValue.self, from: d) else {
                    return .malformedDispatch(seq: seq, type: type, error: ChannelError(
                        .malformedInput, "\(type) body is not JSON", account: account, location: "$.d"))
                }
                payload = value
            } else {
                payload = .null
            }
            return .event(seq: seq, type: type, payload: payload, isKnown: QQBotGatewayEvent.knownEventTypes.contains(type))
        default:
            return .unknownOpcode(op)
        }
    }

    // MARK: Building messages

    func makeMessage(scene: QQBotScene, fields f: QQBotMessageFields) throws(ChannelError) -> InboundMessage {
        func missing(_ path: String) -> ChannelError {
            ChannelError(.malformedInput, "message event lacks \(path)", account: account, location: "$.d.\(path)")
        }
        guard let id = f.id, !id.isEmpty else { throw missing("id") }
        let peer: Peer
        let sender: Sender
        var context: [String: String]
        switch scene {
        case .c2c:
            guard let openid = f.authorUserOpenID, !openid.isEmpty else { throw missing("author.user_openid") }
            peer = Peer(.direct, openid)
            sender = Sender(id: openid, name: f.authorUsername, isBot: f.authorBot ?? false)
            context = Self.c2cContext
        case .group:
            guard let group = f.groupOpenID, !group.isEmpty else { throw missing("group_openid") }
            guard let member = f.authorMemberOpenID ?? f.authorID, !member.isEmpty else { throw missing("author.member_openid") }
            peer = Peer(.group, group)
            sender = Sender(id: member, name: f.authorUsername, isBot: f.authorBot ?? false)
            context = Self.groupContext
        case .guild:
            guard let channel = f.channelID, !channel.isEmpty else { throw missing("channel_id") }
            guard let author = f.authorID, !author.isEmpty else { throw missing("author.id") }
            peer = Peer(.channel, channel)
            sender = Sender(id: author, name: f.authorUsername, isBot: f.authorBot ?? false)
            context = [QQBotScene.ContextKey.scene: scene.rawValue]
            if let guild = f.guildID { context[QQBotScene.ContextKey.guildID] = guild }
        case .guildDM:
            guard let guild = f.guildID, !guild.isEmpty else { throw missing("guild_id") }
            guard let author = f.authorID, !author.isEmpty else { throw missing("author.id") }
            peer = Peer(.direct, author)
            sender = Sender(id: author, name: f.authorUsername, isBot: f.authorBot ?? false)
            context = [QQBotScene.ContextKey.scene: scene.rawValue, QQBotScene.ContextKey.guildID: guild]
        }
        var attachments: [Attachment] = []
        if let list = f.attachments {
            attachments.reserveCapacity(list.count)
            for a in list {
                guard let url = a.url, !url.isEmpty else { continue }
                attachments.append(Attachment(kind: Self.kind(of: a.contentType), url: Self.fixURL(url), name: a.filename,
                                              mimeType: a.contentType, size: a.size))
            }
        }
        let origin = Origin(account: account, peer: peer, messageID: id, replyContext: context)
        let addressed = scene == .group || scene == .guild
        return InboundMessage(
            origin: origin, sender: sender, text: f.text ?? "", attachments: attachments,
            timestamp: f.timestamp, mentionsBot: addressed && botID != nil,
            replyToMessageID: f.referencedMessageID)
    }

    /// The reply contexts of C2C and group messages: constant, so shared (no allocation
    /// per message).
    private static let c2cContext = [QQBotScene.ContextKey.scene: QQBotScene.c2c.rawValue]
    private static let groupContext = [QQBotScene.ContextKey.scene: QQBotScene.group.rawValue]

    /// `//host/path` → `https://host/path`; anything else unchanged.
    static func fixURL(_ url: String) -> String {
        url.hasPrefix("//") ? "https:" + url : url
    }

    static func kind(of contentType: String?) -> Attachment.Kind {
        guard let type = contentType else { return .other }
        if type.hasPrefix("image") { return .image }
        if type.hasPrefix("video") { return .video }
        if type.hasPrefix("audio") || type == "voice" { return .audio }
        if type == "file" || type.hasPrefix("application") { return .file }
        let lower = type.lowercased()
        return lower == type ? .other : kind(of: lower)
    }

    /// Drops a leading mention of `botID` (`<@!id>` or `<@id>`) and the whitespace
    /// around the text (ASCII space, tab, CR, LF).
    static func stripMention(_ content: String, botID: String?) -> String {
        var content = content
        return content.withUTF8 { stripMention($0, 0..<$0.count, botID: botID) }
    }

    /// ``stripMention(_:botID:)`` on the raw UTF-8 bytes `range` of `b`.
    static func stripMention(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, botID: String?) -> String {
        @inline(__always) func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x09 || c == 0x0D }
        var start = range.lowerBound, end = range.upperBound
        while start < end, isSpace(b[start]) { start += 1 }
        if let botID, end - start >= 3, b[start] == UInt8(ascii: "<"), b[start + 1] == UInt8(ascii: "@") {
            var i = start + 2
            if i < end, b[i] == UInt8(ascii: "!") { i += 1 }
            var id = botID
            let matched: Int? = id.withUTF8 { idBytes -> Int? in
                guard i + idBytes.count < end else { return nil }
                for j in 0..<idBytes.count where b[i + j] != idBytes[j] { return nil }
                return b[i + idBytes.count] == UInt8(ascii: ">") ? i + idBytes.count + 1 : nil
            }
            if let matched {
                start = matched
                while start < end, isSpace(b[start]) { start += 1 }
            }
        }
        while end > start, isSpace(b[end - 1]) { end -= 1 }
        return String(decoding: UnsafeBufferPointer(rebasing: b[start..<end]), as: UTF8.self)
    }
}
