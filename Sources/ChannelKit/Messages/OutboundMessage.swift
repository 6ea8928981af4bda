import Foundation

/// Something to send: text (plain or markdown) and media.
///
/// The gateway splits long text at the account's chunk limit before it reaches the
/// adapter (``TextChunker``); media goes with the first chunk.
public struct OutboundMessage: Sendable, Hashable {
    /// How ``text`` is to be rendered.
    public enum Format: String, Sendable, Hashable {
        /// Plain text.
        case plain
        /// Markdown, where the account supports it (the adapter falls back to plain text
        /// when the account is configured without markdown).
        case markdown
    }

    /// The text; may be empty when only media is sent.
    public var text: String
    /// How to render the text.
    public var format: Format
    /// Media to send.
    public var media: [OutboundMedia]

    /// Creates a message.
    public init(text: String, format: Format = .plain, media: [OutboundMedia] = []) {
        self.text = text
        self.format = format
        self.media = media
    }

    /// A plain-text message.
    public static func text(_ text: String) -> OutboundMessage { OutboundMessage(text: text) }
}

/// A media item to send: where its bytes come from, and what it is.
public struct OutboundMedia: Sendable, Hashable {
    /// Where the bytes come from.
    public enum Source: Sendable, Hashable {
        /// A URL the platform fetches itself (where it supports that) or the adapter
        /// downloads.
        case url(String)
        /// Bytes in memory.
        case data(Data)
    }

    /// What the media is.
    public var kind: Attachment.Kind
    /// Where the bytes come from.
    public var source: Source
    /// The file name to present.
    public var fileName: String?
    /// The MIME type, when known.
    public var mimeType: String?

    /// Creates a media item.
    public init(kind: Attachment.Kind, source: Source, fileName: String? = nil, mimeType: String? = nil) {
        self.kind = kind
        self.source = source
        self.fileName = fileName
        self.mimeType = mimeType
    }
}
