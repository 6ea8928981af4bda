import Foundation
import ChannelKit

extension QQBotConnection {
    /// Sends one chunk to `target` through this account's own token.
    ///
    /// - Replies (``DeliveryTarget/reply`` set) go to the scene's endpoint with `msg_id`
    ///   and, on v2 endpoints, `msg_seq` 1, 2, 3… per `msg_id`; guild DMs go to
    ///   `/dms/{guild_id}` from `replyContext["guildId"]`. Proactive addressing: see
    ///   ``QQBotOutboundRoute``.
    /// - Markdown is sent as `msg_type` 2 only when the account has `markdownSupport`.
    /// - Media (C2C, groups): `POST …/files` → `file_info` → `msg_type` 7, one message per
    ///   item, the text riding on the first. Guild scenes take image URLs only.
    /// - Returns: The platform's id of the (last) message sent.
    /// - Throws: ``ChannelError``: `.rateLimited` (429, 22009, 20028, 304045–304050;
    ///   ``ChannelError/retryAfter`` from `Retry-After`), `.unauthorized`, `.platform`
    ///   with the raw code (40054005 duplicate seq, 304027 window expired, 11255 …),
    ///   `.invalidState` for a reply origin of another account.
    public func send(_ message: OutboundMessage, to target: DeliveryTarget) async throws -> SentMessage {
        let route = try QQBotOutboundRoute(target: target, account: context.account)
        if message.media.isEmpty {
            guard !message.text.isEmpty else {
                throw ChannelError(.invalidState, "nothing to send: empty text and no media", account: context.account)
            }
            var body = QQBotMessageBody()
            if route.isV2 {
                if message.format == .markdown && settings.markdownSupport {
                    body.msg_type = 2
                    body.markdown = .init(content: message.text)
                } else {
                    body.msg_type = 0
                    body.content = message.text
                }
            } else {
                body.content = message.text
            }
            return try await post(body, route: route)
        }
        var sent = SentMessage(messageID: nil)
        for (index, media) in message.media.enumerated() {
            let caption = index == 0 ? message.text : ""
            var body = QQBotMessageBody()
            if route.isV2 {
                let fileInfo = try await upload(media, route: route)
                body.msg_type = 7
                body.media = .init(file_info: fileInfo)
                body.content = caption.isEmpty ? " " : caption
            } else {
                guard case .url(let url) = media.source, media.kind == .image else {
                    throw ChannelError(.invalidState, "QQ guild messages take image URLs only", account: context.account)
                }
                body.image = url
                body.content = caption.isEmpty ? nil : caption
            }
            sent = try await post(body, route: route)
        }
        return sent
    }

    /// Posts a message body, stamping `msg_id`/`msg_seq` for replies.
    private func post(_ body: QQBotMessageBody, route: QQBotOutboundRoute) async throws -> SentMessage {
        var body = body
        if let replyTo = route.replyToMessageID {
            body.msg_id = replyTo
            if route.isV2 {
                let now = context.time.now()
                body.msg_seq = state.withLock { $0.sequencer.next(for: replyTo, now: now) }
            }
        }
        let data = try Self.encode(body, account: context.account)
        let response = try await rest.send(.post, route.messagesPath, json: data, label: "POST \(route.scene.rawValue) message")
        let reply = try? JSONDecoder().decode(QQBotSendReply.self, from: response.body)
        return SentMessage(messageID: reply?.id)
    }

    /// Uploads one media item; returns its `file_info`.
    private func upload(_ media: OutboundMedia, route: QQBotOutboundRoute) async throws -> String {
        guard let path = route.filesPath else {
            throw ChannelError(.invalidState, "no upload endpoint for \(route.scene.rawValue)", account: context.account)
        }
        let fileType: Int
        switch media.kind {
        case .image: fileType = 1
        case .video: fileType = 2
        case .audio: fileType = 3
        case .file, .other: fileType = 4
        }
        var body = QQBotUploadBody(file_type: fileType, srv_send_msg: false, file_name: media.fileName)
        switch media.source {
        case .url(let url): body.url = url
        case .data(let data): body.file_data = data.base64EncodedString()
        }
        let response = try await rest.send(.post, path, json: try Self.encode(body, account: context.account), label: "POST \(route.scene.rawValue) file")
        let reply = try rest.decode(QQBotUploadReply.self, from: response)
        guard !reply.file_info.isEmpty else {
            throw ChannelError(.malformedInput, "upload reply without file_info", account: context.account, location: "$.file_info")
        }
        return reply.file_info
    }

    static func encode(_ value: some Encodable, account: AccountKey) throws -> Data {
        do {
            return try JSONEncoder().encode(value)
        } catch {
            throw ChannelError(.malformedInput, "cannot encode the request body", account: account, underlying: SendableErrorBox(error))
        }
    }
}
