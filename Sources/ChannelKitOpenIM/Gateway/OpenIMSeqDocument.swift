/// The synced seqs of one account, persisted as the state document `openim-seqs`.
///
/// `synced[conversationID]` is the highest seq below which every message of the
/// conversation was handled (delivered or skipped). Before the first successful 1001
/// (`baselined == false`) nothing is known: the first sync takes the server's max seqs
/// as the starting point, so a new account does not replay history.
struct OpenIMSeqDocument: Codable, Sendable, Equatable {
    var baselined = false
    var synced: [String: Int64] = [:]

    static let documentName = "openim-seqs"
}
