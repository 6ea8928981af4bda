extension JSONValue {
    /// The value at a dot-path such as `data.token` or `tokens.0.value`: each segment
    /// names an object member, or — on an array — a zero-based index. `nil` when any
    /// step is missing. An empty path is the value itself.
    ///
    /// Used where operators configure where a value sits in a reply they control (OpenIM
    /// `tokenRefresh.http.responseTokenPath`, `stateWriteBack`).
    public func value(atDotPath path: String) -> JSONValue? {
        var current = self
        guard !path.isEmpty else { return current }
        for segment in path.split(separator: ".", omittingEmptySubsequences: false) {
            switch current {
            case .object(let members):
                guard let next = members[String(segment)] else { return nil }
                current = next
            case .array(let elements):
                guard let index = Int(segment), elements.indices.contains(index) else { return nil }
                current = elements[index]
            default:
                return nil
            }
        }
        return current
    }
}
