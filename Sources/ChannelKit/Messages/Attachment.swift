/// A media item attached to an inbound message.
public struct Attachment: Hashable, Sendable {
    /// What the media is.
    public enum Kind: String, Hashable, Sendable, Codable {
        case image, file, audio, video, other
    }

    /// What the media is.
    public var kind: Kind
    /// Where to download it (absolute; protocol-relative `//` URLs are already fixed).
    public var url: String
    /// The file name, when known.
    public var name: String?
    /// The MIME type (or the platform's content type), when known.
    public var mimeType: String?
    /// The size in bytes, when known.
    public var size: Int?

    /// Creates an attachment.
    public init(kind: Kind, url: String, name: String? = nil, mimeType: String? = nil, size: Int? = nil) {
        self.kind = kind
        self.url = url
        self.name = name
        self.mimeType = mimeType
        self.size = size
    }
}
