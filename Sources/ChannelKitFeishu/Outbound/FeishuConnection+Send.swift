import Foundation
import ChannelKit

extension FeishuConnection {
    /// Sends one chunk to `target` through this app's own tenant token.
    ///
    /// - Routing: see ``FeishuOutboundRoute`` (replies through the origin's message id;
    ///   proactive sends by open_id or chat_id).
    /// - Text goes as `msg_type` `text`; markdown as `post` with one `md` element. A chunk
    ///   whose request body would exceed the platform's size limit (150 KiB text, 30 KiB
    ///   post) is split again by size and sent as several messages.
    /// - Media: images are uploaded to `/open-apis/im/v1/images` and sent as `image`;
    ///   everything else to `/open-apis/im/v1/files` and sent as `file` (`audio` for
    ///   opus). One message per item, after the text.
    /// - Every message carries a `uuid`; a chunk retried after a failure (a rate limit,
    ///   a dropped reply) reuses it, so the platform sends it at most once.
    /// - Returns: The platform's id of the last message sent.
    /// - Throws: ``ChannelError``: `.rateLimited` (HTTP 429 / 99991400, with
    ///   ``ChannelError/retryAfter`` from `x-ogw-ratelimit-reset`), `.unauthorized`,
    ///   `.platform` with the raw code, `.invalidState` for an origin of another account
    ///   or an empty message.
    public func send(_ message: OutboundMessage, to target: DeliveryTarget) async throws -> SentMessage {
        let route = try FeishuOutboundRoute(target: target, account: context.account)
        guard !message.text.isEmpty || !message.media.isEmpty else {
            throw ChannelError(.invalidState, "nothing to send: empty text and no media", account: context.account)
        }
        var last = SentMessage(messageID: nil)
        if !message.text.isEmpty {
            let markdown = message.format == .markdown
            for piece in splitBySize(message.text, markdown: markdown, route: route) {
                last = try await post(msgType: markdown ? "post" : "text", content: Self.content(piece, markdown: markdown), route: route)
            }
        }
        for media in message.media {
            let (msgType, content) = try await upload(media)
            last = try await post(msgType: msgType, content: content, route: route)
        }
        return last
    }

    static func content(_ text: String, markdown: Bool) -> String {
        if markdown {
            let element: JSONValue = ["tag": "md", "text": .string(text)]
            return JSONValue.object(["zh_cn": ["title": "", "content": .array([.array([element])])]]).jsonText
        }
        return JSONValue.object(["text": .string(text)]).jsonText
    }

    /// `text` split (at character boundaries, halving) until each piece's request body
    /// fits the platform's limit.
    func splitBySize(_ text: String, markdown: Bool, route: FeishuOutboundRoute) -> [String] {
        let limit = markdown ? configuration.postBodyLimit : configuration.textBodyLimit
        func fits(_ piece: String) -> Bool {
            route.body(msgType: markdown ? "post" : "text", content: Self.content(piece, markdown: markdown),
                       uuid: "00000000-0000-0000-0000-000000000000").utf8.count <= limit
        }
        var done: [String] = []
        var stack = [text]
        while let piece = stack.popLast() {
            if fits(piece) || piece.count < 2 {
                done.append(piece)
                continue
            }
            let middle = piece.index(piece.startIndex, offsetBy: piece.count / 2)
            stack.append(String(piece[middle...]))
            stack.append(String(piece[..<middle]))
        }
        return done
    }

    /// Posts one message, reusing the `uuid` of an earlier failed attempt of the same
    /// message to the same route.
    private func post(msgType: String, content: String, route: FeishuOutboundRoute) async throws -> SentMessage {
        let fingerprint = route.fingerprint + "\u{1F}" + msgType + "\u{1F}" + content
        let uuid = state.withLock { s -> String in
            if let existing = s.pendingUUIDs[fingerprint] { return existing }
            if s.pendingUUIDs.count >= 1024 { s.pendingUUIDs.removeAll() }
            let fresh = UUID().uuidString.lowercased()
            s.pendingUUIDs[fingerprint] = fresh
            return fresh
        }
        let body = route.body(msgType: msgType, content: content, uuid: uuid)
        let reply = try await rest.call(.post, route.pathAndQuery, body: (Data(body.utf8), HTTPRequest.jsonContentType),
                                        label: "POST \(route.pathAndQuery.hasSuffix("/reply") ? "message reply" : "message")")
        state.withLock { _ = $0.pendingUUIDs.removeValue(forKey: fingerprint) }
        return SentMessage(messageID: reply["data"]?["message_id"]?.stringValue)
    }

    /// Uploads one media item; returns the message type and content that send it.
    private func upload(_ media: OutboundMedia) async throws -> (String, String) {
        let bytes = try await mediaBytes(media)
        let name = media.fileName ?? (media.kind == .image ? "image" : "file")
        var form = FeishuMultipartForm()
        if media.kind == .image {
            form.field("image_type", "message")
            form.file("image", name: name, mimeType: media.mimeType ?? "application/octet-stream", data: bytes)
            let reply = try await rest.call(.post, "/open-apis/im/v1/images", body: (form.closed, form.contentType), label: "POST image upload")
            guard let key = reply["data"]?["image_key"]?.stringValue, !key.isEmpty else {
                throw ChannelError(.malformedInput, "image upload reply without image_key", account: context.account, location: "$.data.image_key")
            }
            return ("image", JSONValue.object(["image_key": .string(key)]).jsonText)
        }
        let isOpus = media.kind == .audio && (media.mimeType?.lowercased().contains("opus") == true || name.lowercased().hasSuffix(".opus"))
        let fileType: String = isOpus ? "opus" : (name.lowercased().hasSuffix(".mp4") ? "mp4" : "stream")
        form.field("file_type", fileType)
        form.field("file_name", name)
        form.file("file", name: name, mimeType: media.mimeType ?? "application/octet-stream", data: bytes)
        let reply = try await rest.call(.post, "/open-apis/im/v1/files", body: (form.closed, form.contentType), label: "POST file upload")
        guard let key = reply["data"]?["file_key"]?.stringValue, !key.isEmpty else {
            throw ChannelError(.malformedInput, "file upload reply without file_key", account: context.account, location: "$.data.file_key")
        }
        return (isOpus ? "audio" : "file", JSONValue.object(["file_key": .string(key)]).jsonText)
    }

    /// The bytes of a media item: in memory, or downloaded (http/https, ≤ 30 MiB).
    private func mediaBytes(_ media: OutboundMedia) async throws -> Data {
        switch media.source {
        case .data(let data):
            return data
        case .url(let text):
            guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme) else {
                throw ChannelError(.invalidState, "media URL must be http(s)", account: context.account)
            }
            let response = try await context.http.send(HTTPRequest(url: url, timeout: configuration.requestTimeout))
            guard response.isSuccess else {
                throw ChannelError(.transport, "media download answered HTTP \(response.status)", account: context.account, response: response)
            }
            guard response.body.count <= 30 << 20 else {
                throw ChannelError(.invalidState, "media larger than 30 MiB", account: context.account)
            }
            return response.body
        }
    }
}

/// A `multipart/form-data` body.
struct FeishuMultipartForm: Sendable {
    let boundary = "ChannelKitFeishu" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
    private(set) var body = Data()

    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    private static func clean(_ s: String) -> String {
        s.replacingOccurrences(of: "\"", with: "_").replacingOccurrences(of: "\r", with: "_").replacingOccurrences(of: "\n", with: "_")
    }

    mutating func field(_ name: String, _ value: String) {
        body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(Self.clean(name))\"\r\n\r\n\(value)\r\n".utf8))
    }

    mutating func file(_ name: String, name fileName: String, mimeType: String, data: Data) {
        body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(Self.clean(name))\"; filename=\"\(Self.clean(fileName))\"\r\nContent-Type: \(Self.clean(mimeType))\r\n\r\n".utf8))
        body.append(data)
        body.append(Data("\r\n".utf8))
    }

    /// The closing boundary is added when the body is read.
    var closed: Data { body + Data("--\(boundary)--\r\n".utf8) }
}
