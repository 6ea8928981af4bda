import Foundation
import Testing
@testable import ChannelKit

@Suite struct JWTClaimsTests {
    static let header = base64URL(#"{"alg":"HS256","typ":"JWT"}"#)
    static let signature = "c2lnbmF0dXJlLWJ5dGVzLW5vdC1jaGVja2Vk"

    static func base64URL(_ bytes: [UInt8], padded: Bool = false) -> String {
        var s = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
        if !padded { s = s.replacingOccurrences(of: "=", with: "") }
        return s
    }

    static func base64URL(_ text: String, padded: Bool = false) -> String {
        base64URL(Array(text.utf8), padded: padded)
    }

    static func token(payload json: String, padded: Bool = false) -> String {
        "\(header).\(base64URL(json, padded: padded)).\(signature)"
    }

    static let openIMPayload = #"{"UserID":"u_8812345","PlatformID":5,"exp":1767229200,"nbf":1767225540,"iat":1767225600}"#
    static let clawChatPayload = #"{"aid":"agent-alpha","oid":"org-bravo","did":"dev-charlie","sub":"user-delta","exp":1767229200.5,"iat":1767225600.25,"scope":["read","write"],"meta":{"tier":"gold","n":null}}"#

    // MARK: Valid tokens

    @Test func readsOpenIMClaims() throws {
        let claims = try JWTClaims.parse(Self.token(payload: Self.openIMPayload))
        #expect(claims.string("UserID") == "u_8812345")
        #expect(claims.int("PlatformID") == 5)
        #expect(claims.exp == Date(timeIntervalSince1970: 1_767_229_200))
        #expect(claims.iat == Date(timeIntervalSince1970: 1_767_225_600))
        #expect(claims.nbf == Date(timeIntervalSince1970: 1_767_225_540))
        #expect(claims.sub == nil)
        #expect(claims.claims.count == 5)
    }

    @Test func readsClawChatClaimsWithFractionalTimes() throws {
        let claims = try JWTClaims.parse(Self.token(payload: Self.clawChatPayload))
        #expect(claims.string("aid") == "agent-alpha")
        #expect(claims.string("oid") == "org-bravo")
        #expect(claims.string("did") == "dev-charlie")
        #expect(claims.sub == "user-delta")
        #expect(claims.exp?.timeIntervalSince1970 == 1_767_229_200.5)
        #expect(claims.iat?.timeIntervalSince1970 == 1_767_225_600.25)
        #expect(claims.nbf == nil)
        #expect(claims["scope"] == ["read", "write"])
        #expect(claims["meta"]?["tier"] == "gold")
        #expect(claims["meta"]?["n"] == .null)
        #expect(claims["missing"] == nil)
    }

    @Test func typedHelpersDoNotConvert() throws {
        let claims = try JWTClaims.parse(Self.token(payload: #"{"s":"5","i":5,"f":5.5,"b":true,"big":1e300,"z":null}"#))
        #expect(claims.string("s") == "5")
        #expect(claims.int("s") == nil, "strings are not parsed")
        #expect(claims.int("i") == 5)
        #expect(claims.string("i") == nil, "numbers are not stringified")
        #expect(claims.int("f") == nil)
        #expect(claims.int("big") == nil)
        #expect(claims.int("b") == nil)
        #expect(claims.string("z") == nil)
        #expect(claims["z"] == .null)
        #expect(claims.int("absent") == nil && claims.string("absent") == nil)
    }

    /// Payload lengths covering every base64 remainder, with and without `=` padding.
    @Test(arguments: [#"{"a":"x"}"#, #"{"a":"xy"}"#, #"{"a":"xyz"}"#, #"{"a":"ÿ?>~"}"#], [false, true])
    func acceptsPaddedAndUnpaddedPayloads(payload: String, padded: Bool) throws {
        let token = Self.token(payload: payload, padded: padded)
        let claims = try JWTClaims.parse(token)
        #expect(claims.claims == (try JSONDecoder().decode([String: JSONValue].self, from: Data(payload.utf8))))
    }

    @Test func decodesBase64URLAlphabetCharacters() throws {
        // "?>~" style bytes make base64 emit '+' and '/', which base64url spells '-' and '_'.
        let payload = #"{"k":"?>?>~~~ÿÿ"}"#
        let segment = Self.base64URL(payload)
        #expect(segment.contains("-") || segment.contains("_"), "fixture exercises the url-safe characters")
        let claims = try JWTClaims.parse("\(Self.header).\(segment).\(Self.signature)")
        #expect(claims.string("k") == "?>?>~~~ÿÿ")
    }

    @Test(arguments: [
        "\(header).\(base64URL(#"{"sub":"a"}"#))",             // no signature segment
        "\(header).\(base64URL(#"{"sub":"a"}"#)).",            // empty signature
        ".\(base64URL(#"{"sub":"a"}"#)).x",                    // header is not inspected
        "  \n\(header).\(base64URL(#"{"sub":"a"}"#)).sig\n",  // surrounding whitespace
    ])
    func acceptsTwoOrThreeSegments(token: String) throws {
        #expect(try JWTClaims.parse(token).sub == "a")
        #expect(JWTClaims(token: token)?.sub == "a")
    }

    @Test func initFromClaimsValidatesRegisteredClaims() throws {
        let claims = try JWTClaims(claims: ["exp": 10, "sub": "x"])
        #expect(claims.exp == Date(timeIntervalSince1970: 10))
        #expect(throws: ChannelError.self) { try JWTClaims(claims: ["exp": "10"]) }
        #expect(throws: ChannelError.self) { try JWTClaims(claims: ["sub": 1]) }
    }

    @Test func isExpiredComparesAgainstExpWithLeeway() throws {
        let claims = try JWTClaims.parse(Self.token(payload: #"{"exp":1000}"#))
        #expect(!claims.isExpired(at: Date(timeIntervalSince1970: 999.9)))
        #expect(claims.isExpired(at: Date(timeIntervalSince1970: 1000)))
        #expect(claims.isExpired(at: Date(timeIntervalSince1970: 1001)))
        #expect(claims.isExpired(at: Date(timeIntervalSince1970: 940), leeway: .seconds(60)))
        #expect(!claims.isExpired(at: Date(timeIntervalSince1970: 939), leeway: .seconds(60)))
        let noExp = try JWTClaims.parse(Self.token(payload: #"{"sub":"x"}"#))
        #expect(!noExp.isExpired(at: .distantFuture))
    }

    // MARK: Malformed tokens

    @Test(arguments: [
        ("", "token has 1 segment(s), expected ≥ 2", "jwt"),
        ("no-dots-at-all", "token has 1 segment(s), expected ≥ 2", "jwt"),
        ("a.b.c.d.e", "token has 5 segment(s)", "jwt"),
        ("a.b.c.d", "token has 4 segment(s)", "jwt"),
        ("\(header)..\(signature)", "payload is empty", "jwt.payload"),
        ("\(header).eyJhIjoxfQ+/.\(signature)", "payload is not base64url", "jwt.payload"),
        ("\(header).\(base64URL(#"{"k":"?>?>~~~"}"#).replacingOccurrences(of: "-", with: "+")).\(signature)",
         "payload is not base64url", "jwt.payload"),                                 // standard-base64 '+'
        ("\(header).\(base64URL(#"{"k":"?>?>~~~"}"#).replacingOccurrences(of: "_", with: "/")).\(signature)",
         "payload is not base64url", "jwt.payload"),                                 // standard-base64 '/'
        ("\(header).eyJhIjox fQ.\(signature)", "payload is not base64url", "jwt.payload"),
        ("\(header).eyJhI.\(signature)", "payload is not base64url", "jwt.payload"),    // length ≡ 1 (mod 4)
        ("\(header).eyJhIjoxfQ===.\(signature)", "payload is not base64url", "jwt.payload"), // too much padding
        ("\(header).eyJhIjoxfQ=.\(signature)", "payload is not base64url", "jwt.payload"),   // wrong padding
        ("\(header).eyJh=IjoxfQ.\(signature)", "payload is not base64url", "jwt.payload"),   // padding inside
        ("\(header).\(base64URL([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D])).\(signature)", "payload is not UTF-8", "jwt.payload"),
        (token(payload: "[1,2]"), "payload is not a JSON object", "jwt.payload"),
        (token(payload: #""a string""#), "payload is not a JSON object", "jwt.payload"),
        (token(payload: "null"), "payload is not a JSON object", "jwt.payload"),
        (token(payload: "42"), "payload is not a JSON object", "jwt.payload"),
        (token(payload: #"{"exp":1"#), "payload is not valid JSON", "jwt.payload"),
        (token(payload: "not json at all"), "payload is not valid JSON", "jwt.payload"),
        (token(payload: #"{"exp":"1767229200"}"#), "claim exp is not a number", "jwt.payload.exp"),
        (token(payload: #"{"exp":null}"#), "claim exp is not a number", "jwt.payload.exp"),
        (token(payload: #"{"iat":true}"#), "claim iat is not a number", "jwt.payload.iat"),
        (token(payload: #"{"nbf":[1]}"#), "claim nbf is not a number", "jwt.payload.nbf"),
        (token(payload: #"{"sub":42}"#), "claim sub is not a string", "jwt.payload.sub"),
        (token(payload: String(repeating: "[", count: 65) + String(repeating: "]", count: 65)),
         "payload nests deeper than 64 levels", "jwt.payload"),
        (token(payload: #"{"a":"# + String(repeating: "{\"b\":", count: 64) + "1" + String(repeating: "}", count: 65)),
         "payload nests deeper than 64 levels", "jwt.payload"),
    ])
    func reportsWhichPartIsMalformed(token: String, message: String, location: String) throws {
        let error = try #require(throws: ChannelError.self) { try JWTClaims.parse(token) }
        #expect(error.code == .malformedInput)
        #expect(error.message.contains(message), "\(error.message)")
        #expect(error.location == location)
        #expect(JWTClaims(token: token) == nil)
    }

    @Test func nestingUpToTheLimitIsAccepted() throws {
        let deep = String(repeating: "[", count: 63) + String(repeating: "]", count: 63)
        let claims = try JWTClaims.parse(Self.token(payload: #"{"d":\#(deep),"s":"[[[[{{{{"}"#))
        #expect(claims["d"] != nil)
        #expect(claims.string("s") == "[[[[{{{{", "brackets inside strings do not count")
    }

    @Test(arguments: [#"{"exp":1e400}"#, #"{"exp":-1e400}"#])
    func outOfRangeTimesAreMalformed(payload: String) {
        let error = #expect(throws: ChannelError.self) { try JWTClaims.parse(Self.token(payload: payload)) }
        #expect(error?.code == .malformedInput)
        #expect(error?.location?.hasPrefix("jwt.payload") == true)
    }

    @Test(arguments: ["exp", "iat", "nbf"], [Double.infinity, -.infinity, .nan])
    func nonFiniteTimesAreMalformed(claim: String, value: Double) throws {
        let error = try #require(throws: ChannelError.self) { try JWTClaims(claims: [claim: .number(value)]) }
        #expect(error.message == "claim \(claim) is not a finite number")
        #expect(error.location == "jwt.payload.\(claim)")
    }

    // MARK: Secrecy

    static let secretValue = "S3CRET-claim-value-7f3a9c"

    @Test(arguments: [
        "\(header).\(base64URL(#"{"k":"\#(secretValue)","exp":"later"}"#)).\(signature)",
        "\(header).\(base64URL(#"{"k":"\#(secretValue)","sub":17}"#)).\(signature)",
        "\(header).\(base64URL(#"{"k":"\#(secretValue)","#)).\(signature)",
        "\(header).\(base64URL(#"["\#(secretValue)"]"#)).\(signature)",
        "\(header).\(base64URL(#"{"k":"\#(secretValue)"}"#))+.\(signature)",
        "\(header).\(base64URL(#"{"k":"\#(secretValue)"}"#)).\(signature).extra",
        "\(secretValue)",
    ])
    func errorsNeverContainTheTokenOrPayload(token: String) throws {
        let error = try #require(throws: ChannelError.self) { try JWTClaims.parse(token) }
        let payloadSegment = token.split(separator: ".", omittingEmptySubsequences: false).dropFirst().first.map(String.init)
        let texts = [error.message, error.description, error.location ?? "", String(reflecting: error)]
        for text in texts {
            #expect(!text.contains(token))
            #expect(!text.contains(Self.secretValue))
            #expect(!text.contains(Self.signature))
            if let payloadSegment, !payloadSegment.isEmpty { #expect(!text.contains(payloadSegment)) }
        }
        #expect(error.underlying == nil, "decoder errors may quote the payload")
    }

    @Test func descriptionShowsOnlyTimesAndClaimNames() throws {
        let claims = try JWTClaims.parse(Self.token(payload: #"{"UserID":"u_secret_8812","PlatformID":777,"sub":"subject-xyz","aid":"agent-qq","exp":1767229200,"iat":1767225600.5,"nbf":1767225540}"#))
        let texts = [claims.description, "\(claims)", String(reflecting: claims), { var s = ""; dump(claims, to: &s); return s }()]
        for text in texts {
            #expect(!text.contains("u_secret_8812"))
            #expect(!text.contains("777"))
            #expect(!text.contains("subject-xyz"))
            #expect(!text.contains("agent-qq"))
            #expect(text.contains("exp"))
        }
        #expect(claims.description == "JWTClaims(exp: 1767229200, iat: 1767225600.5, nbf: 1767225540, sub: <present>, claims: [PlatformID, UserID, aid, exp, iat, nbf, sub])")
    }

    // MARK: Fuzzing

    /// Every outcome is either a value or a `.malformedInput` ChannelError; nothing traps.
    private func checkNeverCrashes(_ token: String) {
        do {
            _ = try JWTClaims.parse(token)
        } catch let error as ChannelError {
            #expect(error.code == .malformedInput)
        } catch {
            Issue.record("unexpected error type: \(type(of: error))")
        }
        _ = JWTClaims(token: token)?.description
    }

    @Test func fuzzRandomStrings() {
        var rng = SeededRandomNumberGenerator(seed: 0xF022)
        let alphabet = Array("ABCxyz0189-_=+/.. .\n\t{}\"é€\u{0}\u{1F600}eyJ")
        for _ in 0..<3000 {
            let length = Int.random(in: 0..<80, using: &rng)
            let s = String((0..<length).map { _ in alphabet.randomElement(using: &rng) ?? "." })
            checkNeverCrashes(s)
        }
    }

    @Test func fuzzRandomPayloadBytes() {
        var rng = SeededRandomNumberGenerator(seed: 0xB17E5)
        var rejected = 0
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0..<64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let token = "\(Self.header).\(Self.base64URL(bytes, padded: Bool.random(using: &rng))).\(Self.signature)"
            checkNeverCrashes(token)
            if String(validating: bytes, as: UTF8.self) == nil {
                #expect(JWTClaims(token: token) == nil, "non-UTF-8 payloads are rejected")
                rejected += 1
            }
        }
        #expect(rejected > 1000, "the fuzz mostly produced non-UTF-8 payloads")
    }

    @Test func fuzzTruncationsAndMutationsOfAValidToken() throws {
        let token = Self.token(payload: Self.clawChatPayload)
        let full = try JWTClaims.parse(token)
        let chars = Array(token)
        for n in 0...chars.count {
            let prefix = String(chars[..<n])
            checkNeverCrashes(prefix)
            // A truncated JSON object is never valid, so a prefix parses only when it
            // still holds the whole payload.
            if let claims = JWTClaims(token: prefix) { #expect(claims == full) }
        }
        var rng = SeededRandomNumberGenerator(seed: 31337)
        let replacements = Array("A_-=.+/ é\u{0}{")
        for _ in 0..<1500 {
            var mutated = chars
            let i = Int.random(in: 0..<mutated.count, using: &rng)
            mutated[i] = replacements.randomElement(using: &rng) ?? "."
            checkNeverCrashes(String(mutated))
        }
    }

    @Test(arguments: [
        #"{"exp":1e308,"iat":-1e308,"nbf":0}"#,
        #"{"exp":123456789012345678901234567890123456789}"#,
        #"{"PlatformID":9223372036854775808,"n":-9223372036854775809,"m":1e-400}"#,
        #"{"exp":1.7976931348623157e308}"#,
        #"{"k":"\#(String(repeating: "x", count: 100_000))"}"#,
    ])
    func hugeNumbersAndValuesDoNotCrash(payload: String) {
        let token = Self.token(payload: payload)
        checkNeverCrashes(token)
        if let claims = JWTClaims(token: token) {
            #expect(claims.int("PlatformID") == nil)
            _ = claims.exp?.timeIntervalSince1970
        }
    }

    @Test(arguments: [1_000, 100_000])
    func deeplyNestedJSONIsRejectedWithoutCrashing(depth: Int) {
        let arrays = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let objects = String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)
        for payload in [#"{"x":\#(arrays)}"#, objects, String(repeating: "[", count: depth)] {
            let token = Self.token(payload: payload)
            checkNeverCrashes(token)
            #expect(JWTClaims(token: token) == nil)
        }
    }
}
