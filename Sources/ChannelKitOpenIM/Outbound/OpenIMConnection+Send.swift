import Foundation
import ChannelKit

extension OpenIMConnection {
    /// Sends one chunk over the msg gateway (1003 with a raw MsgData): each media item as
    /// a picture (102) or file (105; video goes as a file, like the official plugin)
    /// message, then the text (101). Returns the last message's `serverMsgID`.
    ///
    /// - Each message gets a fresh 32-hex `clientMsgID`; direct peers are `recvID`
    ///   (sessionType 1), groups `groupID` (sessionType 3).
    /// - In-memory media is uploaded through `/object/` first; URL media is referenced
    ///   as is.
    /// - Text whose frame would exceed the 51,200-byte limit is split; other oversized
    ///   frames fail with `.invalidState` (`platformMessage` `frame_too_large`).
    /// - Waits up to ``OpenIMAdapter/Configuration/requestTimeout`` for a connected
    ///   session, then as long again for the reply. Cancellation stops the wait.
    /// - Throws: ``ChannelError`` — `.platform` with the raw code and message for 1302
    ///   (blocked), 1303 (not friends), 1203 (not in group), 1402/1403 (muted), 1204
    ///   (dismissed) and others; `.unauthorized` for 1501–1507; `.timeout`;
    ///   `.connectionClosed`; `.invalidState` for a reply to another account's message.
    public func send(_ message: OutboundMessage, to target: DeliveryTarget) async throws -> SentMessage {
        if let reply = target.reply, reply.account != account {
            throw ChannelError(.invalidState, "reply target belongs to \(reply.account), not \(account)", account: account)
        }
        var last: SentMessage?
        for media in message.media {
            last = try await sendMedia(media, to: target)
        }
        if !message.text.isEmpty {
            last = try await sendText(message.text, to: target)
        }
        return last ?? SentMessage(messageID: nil)
    }

    /// Sends text; with `mentioning` user ids (or ``OpenIMInbound/atAllTag``) in a group,
    /// as an @-text message (106) whose text starts with `@<id> ` for each.
    public func sendText(_ text: String, to target: DeliveryTarget, mentioning userIDs: [String] = []) async throws -> SentMessage {
        if !userIDs.isEmpty, target.peer.kind == .group {
            let prefix = userIDs.map { "@\($0) " }.joined()
            let atText = prefix + text
            let content: JSONValue = ["text": .string(atText), "atUserList": .array(userIDs.map { .string($0) }),
                                      "atUsersInfo": .array(userIDs.map { ["atUserID": .string($0), "groupNickname": .string($0)] }), "isAtSelf": false]
            return try await sendContent(106, content, to: target, atUserIDs: userIDs)
        }
        let content: JSONValue = ["content": .string(text)]
        do {
            return try await sendContent(101, content, to: target, atUserIDs: [])
        } catch let error as ChannelError where error.platformMessage == "frame_too_large" && text.count > 16 {
            var last = SentMessage(messageID: nil)
            for part in TextChunker(limit: max(16, text.count / 2)).chunks(text) {
                last = try await sendText(part, to: target)
            }
            return last
        }
    }

    func sendMedia(_ media: OutboundMedia, to target: DeliveryTarget) async throws -> SentMessage {
        let name = media.fileName ?? "\(media.kind.rawValue)"
        let mime = media.mimeType ?? (media.kind == .image ? "image/png" : "application/octet-stream")
        let url: String
        var size = 0
        switch media.source {
        case .url(let text):
            guard let parsed = URL(string: text), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
                throw ChannelError(.invalidState, "media URL is not http(s)", account: account)
            }
            url = text
        case .data(let data):
            size = data.count
            let uploader = OpenIMUploader(api: api, userID: settings.userID, maximumSize: configuration.maximumUploadSize)
            url = try await uploader.upload(data, fileName: name, contentType: mime)
        }
        let uuid = Self.newClientMsgID()
        if media.kind == .image {
            let picture: JSONValue = ["uuid": .string(uuid), "type": .string(mime), "size": .number(Double(size)), "width": 0, "height": 0, "url": .string(url)]
            let content: JSONValue = ["sourcePath": "", "sourcePicture": picture, "bigPicture": picture, "snapshotPicture": picture]
            return try await sendContent(102, content, to: target, atUserIDs: [])
        }
        let content: JSONValue = ["filePath": "", "uuid": .string(uuid), "sourceUrl": .string(url), "fileName": .string(name),
                                  "fileSize": .number(Double(size)), "fileType": .string(mime)]
        return try await sendContent(105, content, to: target, atUserIDs: [])
    }

    /// Builds the MsgData and sends it with 1003.
    func sendContent(_ contentType: Int32, _ content: JSONValue, to target: DeliveryTarget, atUserIDs: [String]) async throws -> SentMessage {
        var msg = OpenIMMsgData()
        msg.sendID = settings.userID
        switch target.peer.kind {
        case .direct:
            msg.recvID = target.peer.id
            msg.sessionType = 1
        case .group, .channel:
            msg.groupID = target.peer.id
            msg.sessionType = 3
        }
        msg.clientMsgID = Self.newClientMsgID()
        msg.senderPlatformID = Int32(settings.platformID)
        msg.msgFrom = 100
        msg.contentType = contentType
        msg.content = Array(content.jsonText.utf8)
        msg.createTime = Int64((context.time.now().timeIntervalSince1970 * 1000).rounded())
        msg.atUserIDList = atUserIDs
        // A socket lost before the reply: the same MsgData (same clientMsgID, which
        // receivers and the server deduplicate on) goes out again on the next session.
        let data = msg.serialized
        var reply: OpenIMResponseEnvelope
        var lostGeneration: Int?
        var transmissions = 0
        while true {
            try await waitUntilReady(newerThan: lostGeneration)
            let generation = session?.generation
            transmissions += 1
            do {
                reply = try await request(OpenIMReqIdentifier.sendMsg, data)
                break
            } catch let error as ChannelError where error.code == .connectionClosed && transmissions < 3 {
                logger.info("send \(msg.clientMsgID) lost with its socket; sending it again after the reconnect", source: "OpenIM")
                lostGeneration = generation
            }
        }
        if reply.errCode != 0 {
            throw Self.sendError(code: reply.errCode, message: reply.errMsg, account: account)
        }
        let resp = (try? OpenIMSendMsgResp(serialized: reply.data)) ?? OpenIMSendMsgResp()
        return SentMessage(messageID: resp.serverMsgID.isEmpty ? msg.clientMsgID : resp.serverMsgID)
    }

    /// The typed error of a rejected send: the raw code and message are kept.
    static func sendError(code: Int, message: String, account: AccountKey) -> ChannelError {
        let what: String
        switch code {
        case 1302: what = "the recipient blocked the account"
        case 1303: what = "the recipient is not a friend (friend verification is on)"
        case 1203: what = "the account is not a member of the group"
        case 1204: what = "the group was dismissed"
        case 1402, 1403: what = "the account is muted"
        case 1501...1507: what = "the token was rejected"
        default: what = "OpenIM rejected the message"
        }
        return ChannelError((1501...1507).contains(code) ? .unauthorized : .platform, "\(what) (errCode \(code))",
                            account: account, platformCode: code, platformMessage: Redactor.redact(message))
    }

    /// A fresh 32-hex `clientMsgID` (128 random bits).
    static func newClientMsgID() -> String {
        let a = UInt64.random(in: 0...UInt64.max), b = UInt64.random(in: 0...UInt64.max)
        return hex16(a) + hex16(b)
    }

    private static func hex16(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    /// Waits up to the request timeout for a connected session (one newer than
    /// `generation`, when given).
    func waitUntilReady(newerThan generation: Int? = nil) async throws {
        if let current = session, current.ready, current.generation > (generation ?? 0) { return }
        if isShutDown { throw ChannelError(.stopped, "the OpenIM connection was shut down", account: account) }
        let waiter = Reply()
        readyWaiters.append(waiter)
        let outcome = await waiter.wait(timeout: configuration.requestTimeout, time: context.time)
        readyWaiters.removeAll { $0 === waiter }
        switch outcome {
        case .value(.success): return
        case .value(.failure(let error)): throw error
        case .cancelled: throw CancellationError()
        case .timedOut:
            throw ChannelError(.connectionClosed, "the OpenIM msg gateway is not connected (waited \(configuration.requestTimeout))", account: account)
        }
    }
}
