import Foundation
import Testing
@testable import ChannelKit

@Suite struct JSONValueTests {
    private func decode(_ json: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8))
    }

    @Test(arguments: [
        ("null", JSONValue.null),
        ("true", .bool(true)),
        ("false", .bool(false)),
        ("0", .number(0)),
        ("1", .number(1)),
        ("-1.5", .number(-1.5)),
        ("1e3", .number(1000)),
        (#""x""#, .string("x")),
        (#""1""#, .string("1")),
        (#""true""#, .string("true")),
        (#""""#, .string("")),
        ("[]", .array([])),
        ("{}", .object([:])),
        (#"[1, "a", null, false]"#, .array([.number(1), .string("a"), .null, .bool(false)])),
        (#"{"a": {"b": [1, {"c": null}]}}"#,
         .object(["a": .object(["b": .array([.number(1), .object(["c": .null])])])])),
    ])
    func decodesEveryKind(json: String, expected: JSONValue) throws {
        #expect(try decode(json) == expected)
    }

    @Test func booleansAndNumbersStayDistinct() throws {
        #expect(try decode("1") == .number(1))
        #expect(try decode("1") != .bool(true))
        #expect(try decode("true") == .bool(true))
        #expect(try decode("0").boolValue == nil)
        #expect(try decode("true").doubleValue == nil)
    }

    @Test func roundTripsThroughJSON() throws {
        let value: JSONValue = [
            "s": "héllo \"quoted\" \u{1F600}", "n": 12.25, "i": -7, "b": true, "z": .null,
            "a": [1, [2, [3]], ["k": "v"]], "o": ["empty": [:], "list": []],
        ]
        let data = try JSONEncoder().encode(value)
        #expect(try JSONDecoder().decode(JSONValue.self, from: data) == value)
        // Nested inside another Codable type.
        struct Envelope: Codable, Equatable { let op: Int; let d: JSONValue }
        let envelope = Envelope(op: 0, d: value)
        let back = try JSONDecoder().decode(Envelope.self, from: JSONEncoder().encode(envelope))
        #expect(back == envelope)
    }

    @Test func encodesToTheJSONItRepresents() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let value: JSONValue = ["a": .null, "b": [true, "x"], "c": 2.5]
        let text = String(decoding: try encoder.encode(value), as: UTF8.self)
        #expect(text == #"{"a":null,"b":[true,"x"],"c":2.5}"#)
    }

    @Test(arguments: ["", "{", "nul", "[1 2]", #"{"a" 1}"#, "'x'", "[1] 2"])
    func rejectsInvalidJSON(json: String) {
        #expect(throws: (any Error).self) { try decode(json) }
    }

    @Test func typedAccessorsReturnNilForOtherKinds() {
        let all: [JSONValue] = [.null, .bool(true), .number(3), .string("3"), .array([1]), .object(["k": 1])]
        #expect(all.compactMap(\.stringValue) == ["3"])
        #expect(all.compactMap(\.doubleValue) == [3])
        #expect(all.compactMap(\.intValue) == [3])
        #expect(all.compactMap(\.boolValue) == [true])
        #expect(all.compactMap(\.arrayValue) == [[1]])
        #expect(all.compactMap(\.objectValue) == [["k": 1]])
        #expect(all.filter(\.isNull) == [.null])
    }

    @Test(arguments: [
        (2.0, Optional(2)),
        (-0.0, Optional(0)),
        (-42, Optional(-42)),
        (9_007_199_254_740_992, Optional(9_007_199_254_740_992)),
        (2.5, nil),
        (-0.1, nil),
        (1e300, nil),
        (9_223_372_036_854_775_808, nil), // 2^63: just past Int.max
        (-9_223_372_036_854_775_808, Optional(Int.min)),
        (.infinity, nil),
        (.nan, nil),
    ] as [(Double, Int?)])
    func intValueIsExactIntegersOnly(number: Double, expected: Int?) {
        #expect(JSONValue.number(number).intValue == expected)
    }

    @Test func keySubscript() throws {
        let value = try decode(#"{"a": 1, "n": null, "o": {"p": "q"}}"#)
        #expect(value["a"] == .number(1))
        #expect(value["n"] == .null, "a null member is .null, not absent")
        #expect(value["missing"] == nil)
        #expect(value["o"]?["p"]?.stringValue == "q")
        #expect(JSONValue.array([1])["a"] == nil)
        #expect(JSONValue.string("a")["a"] == nil)
    }

    @Test func indexSubscriptNeverTraps() {
        let value: JSONValue = ["x", "y"]
        #expect(value[0] == "x")
        #expect(value[1] == "y")
        #expect(value[2] == nil)
        #expect(value[-1] == nil)
        #expect(value[Int.max] == nil)
        #expect(value[Int.min] == nil)
        #expect(JSONValue.object(["0": 1])[0] == nil)
        #expect(JSONValue.string("xy")[0] == nil)
    }

    @Test func hashableIgnoresKeyOrder() throws {
        let a = try decode(#"{"a": 1, "b": [true, null]}"#)
        let b = try decode(#"{"b": [true, null], "a": 1.0}"#)
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(Set([a, b, .number(1), .bool(true)]).count == 3)
        #expect(JSONValue.number(1) != .string("1"))
        #expect(JSONValue.array([1, 2]) != .array([2, 1]))
    }

    @Test func literalsBuildTheMatchingCases() {
        let value: JSONValue = ["b": true, "i": 1, "d": 1.5, "s": "x", "a": [1], "o": ["k": "v"]]
        #expect(value == .object([
            "b": .bool(true), "i": .number(1), "d": .number(1.5), "s": .string("x"),
            "a": .array([.number(1)]), "o": .object(["k": .string("v")]),
        ]))
    }
}

@Suite("JSONValue text")
struct JSONValueTextTests {
    @Test func compactSortedAndIntegral() {
        let value: JSONValue = ["b": [1, 2.5, true, "x"], "a": .null, "c": ["z": 7]]
        #expect(value.jsonText == #"{"a":null,"b":[1,2.5,true,"x"],"c":{"z":7}}"#)
    }

    @Test func escapesQuotesBackslashesAndControls() {
        #expect(JSONValue.quoted("a\"b\\c\nd\u{01}é😀") == #""a\"b\\c\nd\u0001é😀""#)
    }

    @Test func roundTripsThroughJSONDecoder() throws {
        let value: JSONValue = ["text": "line1\nline2\t\"quoted\" \u{1F} ü", "n": -12, "list": [[], [:]]]
        let decoded = try JSONDecoder().decode(JSONValue.self, from: Data(value.jsonText.utf8))
        #expect(decoded == value)
    }
}
