import Foundation
import ChannelKit

extension ClawChatConnection {
    /// Sends one chunk as `message.send`, or `message.reply` when `target` answers an
    /// inbound message, and waits for its `message.ack`.
    ///
    /// - The frame gets `message_id = "msg-" + ULID` and `version: "2"`; it is matched to
    ///   its ack by `trace_id`, then `message_id` (a mismatch is an error).
    /// - Without an ack within ``ClawChatAdapter/Configuration/ackTimeout`` — or when the
    ///   socket drops first — the byte-identical frame is put on the wire again (after
    ///   the reconnect), at most ``ClawChatAdapter/Configuration/maximumTransmissions``
    ///   times in all; the server's `UNIQUE(recipient, message_id)` merges the copies.
    /// - Media are uploaded first (`POST /media/upload`) and sent as fragments.
    /// - Cancellation: the send stops waiting and is not re-sent again.
    /// - Throws: ``ChannelError`` — `.platform` for `message.error` (terminal; the code is
    ///   ``ChannelError/clawChatErrorCode``) or a chat blocked after `chat_not_found`/
    ///   `not_member`; `.rateLimited` when the queue is full; `.timeout`; `.invalidState`
    ///   for a bad chat id or a reply to another account's message; `.refreshPermanent`
    ///   once the account needs re-activation; `.stopped` after shutdown.
    public func send(_ message: OutboundMessage, to target: DeliveryTarget) async throws -> SentMessage {
        if isShutDown { throw ChannelError(.stopped, "the ClawChat connection was shut down", account: account) }
        let boot = try await bootstrap()
        if let permanentFailure { throw ChannelError(.refreshPermanent, permanentFailure, account: account) }
        if let origin = target.reply, origin.account != account {
            throw ChannelError(.invalidState, "reply target belongs to \(origin.account), not \(account)", account: account)
        }
        let chatID = target.peer.id
        guard ClawChatSessionRules.isValidChatID(chatID) else {
            throw ChannelError(.invalidState, "not a ClawChat chat id (expected cnv_ + ULID): \(chatID)", account: account, location: "chat_id")
        }
        try checkBlocked(chatID)

        var fragments: [ClawChatWire.Fragment] = []
        if !message.text.isEmpty { fragments.append(.text(message.text)) }
        for media in message.media {
            fragments.append(try await upload(media, api: boot.api))
        }
        guard !fragments.isEmpty else {
            throw ChannelError(.invalidState, "nothing to send: no text and no media", account: account)
        }
        try checkBlocked(chatID)   // uploads suspend; the chat may have been blocked meanwhile

        var reply: ClawChatWire.ReplyContext?
        if let origin = target.reply {
            let key = ClawChatInboundParser.ReplyKey.self
            let senderID = origin.replyContext[key.senderID] ?? ""
            reply = ClawChatWire.ReplyContext(
                reply_to_msg_id: origin.messageID,
                reply_preview: ClawChatWire.ReplyPreview(
                    id: senderID, nick_name: origin.replyContext[key.senderNick] ?? senderID,
                    fragments: [.text(origin.replyContext[key.previewText] ?? "")]))
        }
        let now = context.time.now()
        let messageID = MessageID.make(now: now)
        let traceID = "trace-" + ULID(timestamp: now).description
        let frame = try ClawChatWire.encode(ClawChatWire.Envelope(
            event: reply == nil ? "message.send" : "message.reply", trace_id: traceID, chat_id: chatID,
            payload: ClawChatWire.MessagePayload(
                message_id: messageID,
                message: ClawChatWire.Message(body: .init(fragments: fragments), context: .init(mentions: [], reply: reply)))))
        guard frame.utf8.count <= configuration.maximumFrameSize else {
            throw ChannelError(.invalidState, "frame of \(frame.utf8.count) bytes exceeds the \(configuration.maximumFrameSize)-byte limit",
                               account: account, platformMessage: "message_too_large")
        }
        guard pending.count < configuration.maximumQueuedSends else {
            var error = ChannelError(.rateLimited, "\(pending.count) ClawChat sends are waiting for an ack", account: account)
            error.retryAfter = configuration.ackTimeout
            throw error
        }
        nextSendID += 1
        let id = nextSendID
        let waiter = ClawChatSendWaiter()
        pending.append(PendingSend(id: id, traceID: traceID, messageID: messageID, chatID: chatID, frame: frame, waiter: waiter))
        await transmit(id)

        var waits = 0
        while true {
            switch await waiter.wait(timeout: configuration.ackTimeout, time: context.time) {
            case .value(let result):
                removePending(id)
                return try result.get()
            case .cancelled:
                removePending(id)
                throw CancellationError()
            case .timedOut:
                waits += 1
                guard let item = pending.first(where: { $0.id == id }) else {
                    if let result = waiter.value { return try result.get() }
                    throw ChannelError(.timeout, "ClawChat send \(messageID) ended without an ack", account: account)
                }
                if waits >= configuration.maximumTransmissions || item.transmissions >= configuration.maximumTransmissions {
                    removePending(id)
                    throw ChannelError(.timeout, "no message.ack for \(messageID) after \(item.transmissions) transmission(s)", account: account)
                }
                logger.info("no ack for \(messageID) within \(configuration.ackTimeout); re-sending the same frame", source: "ClawChat")
                await transmit(id)
            }
        }
    }

    func checkBlocked(_ chatID: String) throws {
        guard let block = blockedChats[chatID] else { return }
        let now = context.time.now()
        if block.until <= now {
            blockedChats[chatID] = nil
            return
        }
        throw ChannelError(.platform, "sends to chat \(chatID) are blocked for \(Int(block.until.timeIntervalSince(now).rounded(.up))) s after \(block.code)",
                           account: account, platformMessage: block.code,
                           underlying: ClawChatMessageError(code: block.code, reason: "blocked after \(block.code)", chatID: chatID))
    }

    func removePending(_ id: UInt64) {
        pending.removeAll { $0.id == id }
    }

    func failSend(_ id: UInt64, _ error: ChannelError) {
        guard let index = pending.firstIndex(where: { $0.id == id }) else { return }
        pending.remove(at: index).waiter.resolve(.failure(error))
    }

    /// Puts a pending frame on the wire if the session is ready (else it waits for the
    /// next `hello-ok`).
    func transmit(_ id: UInt64) async {
        guard var current = session, current.ready, let index = pending.firstIndex(where: { $0.id == id }) else { return }
        if pending[index].transmissions >= configuration.maximumTransmissions {
            failSend(id, ChannelError(.timeout, "no message.ack for \(pending[index].messageID) after \(pending[index].transmissions) transmission(s)", account: account))
            return
        }
        pending[index].transmissions += 1
        pending[index].sentInGeneration = current.generation
        let frame = pending[index].frame
        current.lastSentSendID = id
        session = current
        do {
            try await current.socket.send(text: frame)
        } catch {
            logger.info("send failed on the socket (\(error)); the frame is re-sent after the reconnect", source: "ClawChat")
        }
    }

    /// After `hello-ok`: re-sends every unacked frame, byte-identical, in order.
    func resendPending(generation gen: Int) async {
        let ids = pending.filter { $0.sentInGeneration != gen }.map(\.id)
        if !ids.isEmpty { logger.info("re-sending \(ids.count) unacked frame(s)", source: "ClawChat") }
        for id in ids { await transmit(id) }
    }

    /// Uploads one media item and returns its fragment.
    func upload(_ media: OutboundMedia, api: ClawChatAPI) async throws -> ClawChatWire.Fragment {
        let bytes: Data
        switch media.source {
        case .data(let data):
            bytes = data
        case .url(let text):
            guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http" else {
                throw ChannelError(.invalidState, "media URL is not http(s)", account: account)
            }
            let response = try await context.http.send(HTTPRequest(url: url))
            try response.requireSuccess(timeSource: context.time)
            bytes = response.body
        }
        guard !bytes.isEmpty else { throw ChannelError(.invalidState, "media is empty", account: account, platformCode: 40002) }
        guard bytes.count <= configuration.maximumUploadSize else {
            throw ChannelError(.invalidState, "media of \(bytes.count) bytes exceeds the \(configuration.maximumUploadSize)-byte limit",
                               account: account, platformCode: 41301)
        }
        let name = media.fileName ?? "\(media.kind.rawValue)"
        let mime = media.mimeType ?? "application/octet-stream"
        return try await api.uploadMedia(bytes, fileName: name, mimeType: mime, kind: media.kind)
    }
}
