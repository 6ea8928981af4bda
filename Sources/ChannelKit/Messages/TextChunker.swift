/// Splits long text into platform-sized chunks.
///
/// Limits count Swift `Character`s (grapheme clusters), so a chunk never splits an emoji
/// or a combining sequence. A split prefers, in order, a blank line, a line break, then
/// a space inside the last half of the window; only text without any of those is cut
/// hard. Code fences are kept balanced: a chunk that ends inside a fenced block closes
/// it with ```` ``` ```` and the next chunk reopens it.
public struct TextChunker: Sendable, Hashable {
    /// The largest chunk, in `Character`s (at least 16).
    public var limit: Int

    /// Creates a chunker.
    public init(limit: Int) {
        self.limit = max(16, limit)
    }

    /// The chunks of `text`, in order; `[text]` when it fits (also for empty text).
    public func chunks(_ text: String) -> [String] {
        guard text.count > limit else { return [text] }
        var result: [String] = []
        var rest = Substring(text)
        var reopenFence: String? = nil
        while !rest.isEmpty {
            let prefix = reopenFence.map { $0 + "\n" } ?? ""
            // Room for the reopened fence and a closing fence.
            let budget = max(8, limit - prefix.count - 4)
            if rest.count <= budget {
                result.append(prefix + rest)
                break
            }
            let window = rest.prefix(budget)
            let cut = Self.splitPoint(in: window)
            var piece = String(rest[rest.startIndex..<cut])
            while let last = piece.last, last == " " || last == "\n" { piece.removeLast() }
            rest = rest[cut...].drop { $0 == "\n" || $0 == " " }
            let fence = Self.openFence(after: reopenFence, in: piece)
            if fence != nil {
                piece += piece.hasSuffix("\n") ? "```" : "\n```"
            }
            result.append(prefix + piece)
            reopenFence = fence
        }
        return result
    }

    private static func splitPoint(in window: Substring) -> Substring.Index {
        let half = window.index(window.startIndex, offsetBy: window.count / 2)
        let tail = window[half...]
        if let range = tail.range(of: "\n\n", options: .backwards) { return range.upperBound }
        if let index = tail.lastIndex(of: "\n") { return window.index(after: index) }
        if let index = tail.lastIndex(of: " ") { return window.index(after: index) }
        return window.endIndex
    }

    /// The fence line (e.g. "```swift") still open at the end of `piece`, given the fence
    /// that was open at its start.
    private static func openFence(after open: String?, in piece: String) -> String? {
        var current = open
        for line in piece.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.drop { $0 == " " }
            guard trimmed.hasPrefix("```") else { continue }
            current = current == nil ? String(trimmed) : nil
        }
        return current
    }
}
