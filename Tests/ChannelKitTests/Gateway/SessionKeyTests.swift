import ChannelKit
import Testing

@Suite("Session keys")
struct SessionKeyTests {
    let qqMain = AccountKey(.qqbot, "main")
    let qqAlt = AccountKey(.qqbot, "alt")

    @Test("direct keys per dmScope", arguments: [
        (DMScope.main, "agent:main:main"),
        (.perPeer, "agent:main:direct:U1"),
        (.perChannelPeer, "agent:main:qqbot:direct:U1"),
        (.perAccountChannelPeer, "agent:main:qqbot:main:direct:U1"),
    ])
    func directScopes(scope: DMScope, expected: String) {
        #expect(SessionKey.make(account: qqMain, peer: Peer(.direct, "U1"), dmScope: scope) == expected)
    }

    @Test("group and channel keys always include the account, whatever the scope")
    func groupKeysIncludeAccount() {
        for scope in DMScope.allCases {
            let one = SessionKey.make(account: qqMain, peer: Peer(.group, "G1"), dmScope: scope)
            let two = SessionKey.make(account: qqAlt, peer: Peer(.group, "G1"), dmScope: scope)
            #expect(one == "agent:main:qqbot:main:group:G1")
            #expect(one != two)
            #expect(SessionKey.make(account: qqMain, peer: Peer(.channel, "C1"), dmScope: scope) == "agent:main:qqbot:main:channel:C1")
        }
    }

    @Test("threads append, agent is configurable")
    func threadsAndAgent() {
        #expect(SessionKey.make(agent: "ops", account: qqMain, peer: Peer(.group, "G1"), thread: "t9", dmScope: .main) == "agent:ops:qqbot:main:group:G1:thread:t9")
    }

    @Test("segments are escaped so no id can forge a separator or collide")
    func escaping() {
        let forged = SessionKey.make(account: qqMain, peer: Peer(.direct, "x:group:y"), dmScope: .perAccountChannelPeer)
        #expect(forged == "agent:main:qqbot:main:direct:x%3Agroup%3Ay")
        #expect(SessionKey.escape("a b/c%d") == "a%20b%2Fc%25d")
        #expect(SessionKey.escape("ü") == "%C3%BC")
        // Case is kept: two ids differing in case are two sessions.
        #expect(SessionKey.escape("ABC") != SessionKey.escape("abc"))
        // Account ids that contain separators cannot collide with others.
        let tricky = SessionKey.make(account: AccountKey(.qqbot, "a:b"), peer: Peer(.group, "g"), dmScope: .main)
        #expect(tricky == "agent:main:qqbot:a%3Ab:group:g")
    }
}

@Suite("Text chunker")
struct TextChunkerTests {
    @Test func shortTextIsOneChunk() {
        #expect(TextChunker(limit: 100).chunks("hello") == ["hello"])
        #expect(TextChunker(limit: 100).chunks("") == [""])
    }

    @Test func prefersParagraphsThenLinesThenSpaces() {
        let text = String(repeating: "a", count: 30) + "\n\n" + String(repeating: "b", count: 30)
        #expect(TextChunker(limit: 40).chunks(text) == [String(repeating: "a", count: 30), String(repeating: "b", count: 30)])
    }

    @Test func hardCutWithoutBreaks() {
        let chunks = TextChunker(limit: 20).chunks(String(repeating: "x", count: 50))
        #expect(chunks.allSatisfy { $0.count <= 20 })
        #expect(chunks.joined() == String(repeating: "x", count: 50))
    }

    @Test func neverSplitsAGraphemeCluster() {
        let family = "👨‍👩‍👧‍👦"
        let chunks = TextChunker(limit: 16).chunks(String(repeating: family, count: 40))
        #expect(chunks.allSatisfy { $0.allSatisfy { $0 == Character(family) } })
        #expect(chunks.joined().count == 40)
    }

    @Test func codeFencesStayBalanced() {
        let code = "```swift\n" + (1...30).map { "let v\($0) = \($0)" }.joined(separator: "\n") + "\n```"
        let chunks = TextChunker(limit: 120).chunks(code)
        #expect(chunks.count > 1)
        for chunk in chunks {
            #expect(chunk.count <= 120)
            let fences = chunk.split(separator: "\n").filter { $0.hasPrefix("```") }.count
            #expect(fences % 2 == 0, "unbalanced chunk: \(chunk)")
        }
    }
}
