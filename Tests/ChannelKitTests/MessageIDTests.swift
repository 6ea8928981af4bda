import Foundation
import Testing
@testable import ChannelKit

@Suite struct MessageIDTests {
    @Test func makesPrefixedULIDsAtTheGivenTime() throws {
        let now = Date(timeIntervalSince1970: 1_767_225_600.987654)
        var rng = SeededRandomNumberGenerator(seed: 3)
        let id = MessageID.make(now: now, using: &rng)
        #expect(id.hasPrefix("msg-"))
        #expect(id.count == 30)
        #expect(MessageID.isValid(id))
        let ulid = try #require(ULID(string: String(id.dropFirst(4))))
        #expect(ulid.milliseconds == 1_767_225_600_987)
        var again = SeededRandomNumberGenerator(seed: 3)
        #expect(MessageID.make(now: now, using: &again) == id)
    }

    @Test func systemRandomIDsAreValidAndDistinct() {
        let now = Date(timeIntervalSince1970: 1_767_225_600)
        let ids = (0..<500).map { _ in MessageID.make(now: now) }
        #expect(Set(ids).count == 500)
        #expect(ids.allSatisfy(MessageID.isValid))
    }

    @Test(arguments: [
        ("msg-01ARYZ6S41TSV4RRFFQ69G5FAV", true),
        ("msg-00000000000000000000000000", true),
        ("msg-ZZZZZZZZZZZZZZZZZZZZZZZZZZ", true),   // the pattern does not check ULID overflow
        ("msg-LLLLLLLLLLLLLLLLLLLLLLLLLL", true),   // nor exclude L and U
        ("msg-UUUUUUUUUUUUUUUUUUUUUUUUUU", true),
        ("msg-01ARYZ6S41TSV4RRFFQ69G5FAI", false),
        ("msg-01ARYZ6S41TSV4RRFFQ69G5FAO", false),
        ("msg-01arYZ6S41TSV4RRFFQ69G5FAV", false),
        ("msg-01ARYZ6S41TSV4RRFFQ69G5FA", false),
        ("msg-01ARYZ6S41TSV4RRFFQ69G5FAVV", false),
        ("MSG-01ARYZ6S41TSV4RRFFQ69G5FAV", false),
        ("msg_01ARYZ6S41TSV4RRFFQ69G5FAV", false),
        ("01ARYZ6S41TSV4RRFFQ69G5FAV", false),
        (" msg-01ARYZ6S41TSV4RRFFQ69G5FAV", false),
        ("msg-01ARYZ6S41TSV4RRFFQ69G5FAV\n", false),
        ("msg-01ARYZ6S41TSV4RRFFQ69G5FA-", false),
        ("msg-01ARYZ6S41TSV4RRFFQ69G5FÀ", false),
        ("msg-", false),
        ("", false),
    ])
    func validatesTheFormat(id: String, valid: Bool) {
        #expect(MessageID.isValid(id) == valid)
    }

    /// `isValid` agrees with the regular expression on strings near the boundary.
    @Test func agreesWithTheRegularExpression() throws {
        let regex = try NSRegularExpression(pattern: #"\Amsg-[0-9A-HJ-NP-Z]{26}\z"#)
        var rng = SeededRandomNumberGenerator(seed: 404)
        let alphabet = Array("0189AHIJKLNOPUZaz-_ é")
        var validCount = 0
        for i in 0..<4000 {
            let length = i % 2 == 0 ? 26 : Int.random(in: 24...28, using: &rng)
            // Mostly valid characters, so both outcomes occur.
            let body = String((0..<length).map { _ in
                Int.random(in: 0..<20, using: &rng) == 0
                    ? (alphabet.randomElement(using: &rng) ?? "0")
                    : (Array("0123456789ABCDEFGHJKMNPQRSTVWXYZLU").randomElement(using: &rng) ?? "0")
            })
            let prefix = Int.random(in: 0..<10, using: &rng) == 0 ? "msg_" : "msg-"
            let s = prefix + body
            let expected = regex.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
            #expect(MessageID.isValid(s) == expected, "\(s)")
            if expected { validCount += 1 }
        }
        #expect(validCount > 100)
    }
}
