import Foundation
import Testing
@testable import ChannelKit

/// Returns the same 64 bits forever.
private struct ConstantRNG: RandomNumberGenerator {
    var value: UInt64
    mutating func next() -> UInt64 { value }
}

@Suite struct ULIDTests {
    static let specTime = Date(timeIntervalSince1970: 1_469_918_176.385)

    @Test func encodesTheSpecTimestampVector() {
        var zero = ConstantRNG(value: 0)
        let ulid = ULID(timestamp: Self.specTime, using: &zero)
        #expect(ulid.description == "01ARYZ6S410000000000000000")
        #expect(ulid.milliseconds == 1_469_918_176_385)
        var ones = ConstantRNG(value: .max)
        #expect(ULID(timestamp: Self.specTime, using: &ones).description == "01ARYZ6S41ZZZZZZZZZZZZZZZZ")
    }

    @Test func encodesRandomBitsBigEndian() {
        // Reference computed independently: (ms << 80 | 0x1234 << 64 | 0x0123456789ABCDEF) in base32.
        let ulid = ULID(milliseconds: 1_469_918_176_385, randomHigh: 0x1234, randomLow: 0x0123_4567_89AB_CDEF)
        #expect(ulid.description == "01ARYZ6S4128T028T5CY4TQKFF")
        #expect(ULID(string: "01ARYZ6S4128T028T5CY4TQKFF") == ulid)
    }

    @Test func parsesTheSpecExample() throws {
        let ulid = try #require(ULID(string: "01ARYZ6S41TSV4RRFFQ69G5FAV"))
        #expect(ulid.milliseconds == 1_469_918_176_385)
        #expect(ulid.timestamp == Self.specTime)
        #expect(ulid.description == "01ARYZ6S41TSV4RRFFQ69G5FAV")
    }

    @Test func extremesParseAndOverflowIsRejected() throws {
        let max = try #require(ULID(string: "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"))
        #expect(max.milliseconds == ULID.maximumMilliseconds)
        #expect(max.milliseconds == (1 << 48) - 1)
        let min = try #require(ULID(string: "00000000000000000000000000"))
        #expect(min.milliseconds == 0)
        #expect(min < max)
        for first in "89ABCDEFGHJKMNPQRSTVWXYZ" {
            #expect(ULID(string: "\(first)0000000000000000000000000") == nil, "first char \(first) overflows 128 bits")
        }
    }

    @Test func parsingIsCaseInsensitiveAndDescriptionIsUppercase() throws {
        let lower = try #require(ULID(string: "01arYZ6s41tsv4rrffq69g5fav"))
        #expect(lower.description == "01ARYZ6S41TSV4RRFFQ69G5FAV")
        #expect(lower == ULID(string: "01ARYZ6S41TSV4RRFFQ69G5FAV"))
    }

    @Test(arguments: [
        "", "01ARYZ6S41TSV4RRFFQ69G5FA", "01ARYZ6S41TSV4RRFFQ69G5FAVX",
        "01ARYZ6S41TSV4RRFFQ69G5FAI", "01ARYZ6S41TSV4RRFFQ69G5FAL", "01ARYZ6S41TSV4RRFFQ69G5FAO",
        "01ARYZ6S41TSV4RRFFQ69G5FAU", "01ARYZ6S41TSV4RRFFQ69G5FAi", "01ARYZ6S41TSV4RRFFQ69G5FA!",
        "01ARYZ6S41TSV4RRFFQ69G5FA ", " 01ARYZ6S41TSV4RRFFQ69G5FA", "01ARYZ6S41TSV4RRFFQ69G5Fé",
        "01ARYZ6S41TSV4RRFFQ69G5FAé", "01ARYZ6S41-SV4RRFFQ69G5FAV", "01ARYZ6S41TSV4RRFFQ69G5FA\n",
    ])
    func rejectsMalformedStrings(string: String) {
        #expect(ULID(string: string) == nil)
    }

    @Test func roundTripsThroughStringAndCodable() throws {
        var rng = SeededRandomNumberGenerator(seed: 11)
        for _ in 0..<500 {
            let ms = UInt64.random(in: 0...ULID.maximumMilliseconds, using: &rng)
            let ulid = ULID(timestamp: Date(timeIntervalSince1970: Double(ms) / 1000), using: &rng)
            #expect(ulid.milliseconds == ms, "a date made from ms/1000 maps back to ms")
            #expect(ULID(string: ulid.description) == ulid)
            #expect(ULID(string: ulid.description.lowercased()) == ulid)
            #expect(ULID(timestamp: ulid.timestamp, using: &rng).milliseconds == ms)
        }
        let ulid = ULID(timestamp: Self.specTime, using: &rng)
        let data = try JSONEncoder().encode([ulid])
        #expect(String(decoding: data, as: UTF8.self) == "[\"\(ulid.description)\"]")
        #expect(try JSONDecoder().decode([ULID].self, from: data) == [ulid])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([ULID].self, from: Data(#"["not-a-ulid"]"#.utf8)) }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([ULID].self, from: Data("[42]".utf8)) }
    }

    @Test func timestampIsTruncatedToTheMillisecondAndClamped() {
        var rng = SeededRandomNumberGenerator(seed: 1)
        #expect(ULID(timestamp: Date(timeIntervalSince1970: 1_700_000_000.1239), using: &rng).milliseconds == 1_700_000_000_123)
        #expect(ULID(timestamp: Date(timeIntervalSince1970: 1_700_000_000.1239), using: &rng).timestamp
                == Date(timeIntervalSince1970: 1_700_000_000.123))
        #expect(ULID(timestamp: Date(timeIntervalSince1970: 0.0009), using: &rng).milliseconds == 0)
        #expect(ULID(timestamp: Date(timeIntervalSince1970: -5), using: &rng).milliseconds == 0)
        #expect(ULID(timestamp: .distantPast, using: &rng).milliseconds == 0)
        #expect(ULID(timestamp: Date(timeIntervalSince1970: 1e15), using: &rng).milliseconds == ULID.maximumMilliseconds)
        #expect(ULID(timestamp: Date(timeIntervalSince1970: .infinity), using: &rng).milliseconds == 0)
    }

    @Test func ordersByTimeThenRandomnessLikeItsString() {
        var rng = SeededRandomNumberGenerator(seed: 2)
        var previous = ULID(timestamp: Date(timeIntervalSince1970: 1_767_225_600), using: &rng)
        for step in 1...200 {
            // Later millisecond wins whatever the random bits are.
            let next = ULID(timestamp: Date(timeIntervalSince1970: 1_767_225_600 + Double(step) / 1000), using: &rng)
            #expect(previous < next)
            #expect(previous.description < next.description)
            previous = next
        }
        let sameMillisecond = (0..<300).map { _ in ULID(timestamp: Self.specTime, using: &rng) }
        let mixed = sameMillisecond + (0..<300).map { _ in
            ULID(timestamp: Date(timeIntervalSince1970: Double.random(in: 0..<2e9, using: &rng)), using: &rng)
        }
        #expect(mixed.sorted().map(\.description) == mixed.map(\.description).sorted())
        let a = ULID(milliseconds: 5, randomHigh: 0, randomLow: .max)
        let b = ULID(milliseconds: 5, randomHigh: 1, randomLow: 0)
        let c = ULID(milliseconds: 6, randomHigh: 0, randomLow: 0)
        #expect(a < b && b < c)
        #expect(!(b < a) && !(a < a))
    }

    @Test func randomnessDiffersAndSeedsReproduce() {
        let now = Date(timeIntervalSince1970: 1_767_225_600)
        let system = (0..<1000).map { _ in ULID(timestamp: now) }
        #expect(Set(system).count == 1000)
        #expect(Set(system.map(\.milliseconds)) == [1_767_225_600_000])
        var a = SeededRandomNumberGenerator(seed: 77)
        var b = SeededRandomNumberGenerator(seed: 77)
        var c = SeededRandomNumberGenerator(seed: 78)
        let fromA = ULID(timestamp: now, using: &a)
        #expect(fromA == ULID(timestamp: now, using: &b))
        #expect(fromA != ULID(timestamp: now, using: &c))
        #expect(ULID(timestamp: now, using: &a) != fromA, "the generator advances")
    }
}
