/// The JSON body of a QQ send (`POST …/messages`).
struct QQBotMessageBody: Encodable, Sendable {
    struct Markdown: Encodable, Sendable { var content: String }
    struct Media: Encodable, Sendable { var file_info: String }

    var content: String?
    var msg_type: Int?
    var markdown: Markdown?
    var media: Media?
    var image: String?
    var msg_id: String?
    var msg_seq: Int?
}

/// The JSON body of a rich-media upload (`POST …/files`).
struct QQBotUploadBody: Encodable, Sendable {
    var file_type: Int
    var url: String?
    var file_data: String?
    var srv_send_msg: Bool
    var file_name: String?
}

/// What `POST …/files` answers.
struct QQBotUploadReply: Decodable, Sendable {
    var file_uuid: String?
    var file_info: String
    var ttl: Int?
}

/// What `POST …/messages` answers.
struct QQBotSendReply: Decodable, Sendable {
    var id: String?
}
