import Foundation

/// The claims of a JSON Web Token, read from its payload. **Signatures are never
/// verified**: use this only to read tokens you already trust (your own access token's
/// expiry, the `UserID` OpenIM put in the token it issued you, ClawChat's `aid`), never
/// to authenticate someone else.
///
/// ```swift
/// let claims = try JWTClaims.parse(token.reveal())
/// if let exp = claims.exp, exp < now { … }          // refresh
/// let userID = claims.string("UserID")              // OpenIM
/// let platform = claims.int("PlatformID")
/// ```
///
/// Parsing rules:
/// - Surrounding whitespace and newlines are ignored; the token must then have 2 or 3
///   `.`-separated segments (`header.payload[.signature]`). Only the payload (segment 2)
///   is decoded; the header and signature are not inspected.
/// - The payload is base64url (RFC 4648 §5: `A–Z a–z 0–9 - _`), with or without `=`
///   padding. Standard-base64 `+` and `/` are rejected.
/// - The decoded bytes must be UTF-8 JSON whose top level is an object, nested at most
///   ``maximumNestingDepth`` levels.
/// - `exp`, `iat`, `nbf`, when present, must be finite numbers (seconds since
///   1970-01-01T00:00:00Z, fractions allowed); `sub`, when present, must be a string.
///   A present claim of the wrong type, including `null`, makes the token malformed.
///
/// Error messages say which part was wrong and never contain the token, the payload
/// or any claim value. ``description`` shows only `exp`, `iat`, `nbf` and claim names.
public struct JWTClaims: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Payloads nested deeper than this many arrays/objects are rejected (64).
    public static let maximumNestingDepth = 64

    /// Every claim of the payload, by name.
    public let claims: [String: JSONValue]
    /// `exp`: the time after which the token must not be accepted.
    public let exp: Date?
    /// `iat`: when the token was issued.
    public let iat: Date?
    /// `nbf`: the time before which the token must not be accepted.
    public let nbf: Date?
    /// `sub`: the subject.
    public let sub: String?

    /// Creates claims from an already decoded payload object.
    /// - Throws: ``ChannelError`` `.malformedInput` when a registered claim (`exp`,
    ///   `iat`, `nbf`, `sub`) has the wrong type.
    public init(claims: [String: JSONValue]) throws {
        self.claims = claims
        self.exp = try Self.dateClaim("exp", in: claims)
        self.iat = try Self.dateClaim("iat", in: claims)
        self.nbf = try Self.dateClaim("nbf", in: claims)
        if let value = claims["sub"] {
            guard let s = value.stringValue else { throw Self.malformed("claim sub is not a string", "jwt.payload.sub") }
            self.sub = s
        } else {
            self.sub = nil
        }
    }

    /// Parses `token`'s payload, or returns `nil` when the token is malformed in any way.
    /// Never traps, whatever the input.
    public init?(token: String) {
        guard let parsed = try? Self.parse(token) else { return nil }
        self = parsed
    }

    /// Parses `token`'s payload.
    /// - Throws: ``ChannelError`` `.malformedInput` whose message says which part was
    ///   wrong (`"token has 1 segment(s), expected ≥ 2"`, `"payload is not base64url"`,
    ///   `"payload is not a JSON object"`, `"claim exp is not a number"`, …) and whose
    ///   ``ChannelError/location`` is `jwt`, `jwt.payload` or `jwt.payload.<claim>`.
    ///   The error never contains the token or any part of it.
    public static func parse(_ token: String) throws -> JWTClaims {
        let trimmed = token.trimmingCharacters(in: .whitespacesAndNewlines)
        let segments = trimmed.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard segments.count >= 2 else {
            throw malformed("token has \(segments.count) segment(s), expected ≥ 2", "jwt")
        }
        guard segments.count <= 3 else {
            throw malformed("token has \(segments.count) segment(s), expected 2 or 3 (encrypted JWTs are not supported)", "jwt")
        }
        let payload = segments[1]
        guard !payload.isEmpty else { throw malformed("payload is empty", "jwt.payload") }
        guard let bytes = base64URLDecode(payload) else { throw malformed("payload is not base64url", "jwt.payload") }
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw malformed("payload is not UTF-8", "jwt.payload")
        }
        guard nestingDepth(of: bytes) <= maximumNestingDepth else {
            throw malformed("payload nests deeper than \(maximumNestingDepth) levels", "jwt.payload")
        }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            // The decoder's error may quote the payload: do not attach it.
            throw malformed("payload is not valid JSON", "jwt.payload")
        }
        guard let object = value.objectValue else { throw malformed("payload is not a JSON object", "jwt.payload") }
        return try JWTClaims(claims: object)
    }

    /// The claim named `name`, or `nil` when absent (a `null` claim is `.null`).
    public subscript(_ name: String) -> JSONValue? { claims[name] }

    /// The claim as a string, or `nil` when absent or not a string (numbers are not
    /// converted). E.g. OpenIM `UserID`, ClawChat `aid`.
    public func string(_ name: String) -> String? { claims[name]?.stringValue }

    /// The claim as an `Int`, or `nil` when absent, not a number, or not an exactly
    /// representable integer (strings are not parsed). E.g. OpenIM `PlatformID`.
    public func int(_ name: String) -> Int? { claims[name]?.intValue }

    /// `true` when the token has an `exp` and `date` is at or after `exp - leeway`.
    /// A token without `exp` never expires by this test.
    /// - Parameters:
    ///   - date: The current wall-clock time (from the injected ``TimeSource``).
    ///   - leeway: How long before `exp` to consider it expired already, e.g. to
    ///     refresh early. Default `.zero`.
    public func isExpired(at date: Date, leeway: Duration = .zero) -> Bool {
        guard let exp else { return false }
        return date >= exp.addingTimeInterval(-leeway.seconds)
    }

    /// Safe to log: `exp`, `iat` and `nbf` as Unix seconds, `sub` as present/absent, and
    /// the sorted claim names, never any other claim value.
    /// E.g. `JWTClaims(exp: 1767229200, iat: 1767225600, sub: <present>, claims: [aid, exp, iat, sub])`.
    public var description: String {
        var parts: [String] = []
        if let exp { parts.append("exp: \(Self.unixSeconds(exp))") }
        if let iat { parts.append("iat: \(Self.unixSeconds(iat))") }
        if let nbf { parts.append("nbf: \(Self.unixSeconds(nbf))") }
        if sub != nil { parts.append("sub: <present>") }
        parts.append("claims: [\(claims.keys.sorted().joined(separator: ", "))]")
        return "JWTClaims(\(parts.joined(separator: ", ")))"
    }

    /// Same as ``description``.
    public var debugDescription: String { description }

    /// Shows only `exp`, `iat` and `nbf`, so `dump` cannot print claim values.
    public var customMirror: Mirror {
        Mirror(self, children: ["exp": exp as Any, "iat": iat as Any, "nbf": nbf as Any], displayStyle: .struct)
    }

    // MARK: Helpers

    private static func malformed(_ message: String, _ location: String) -> ChannelError {
        ChannelError(.malformedInput, message, location: location)
    }

    private static func dateClaim(_ name: String, in claims: [String: JSONValue]) throws -> Date? {
        guard let value = claims[name] else { return nil }
        guard let seconds = value.doubleValue else {
            throw malformed("claim \(name) is not a number", "jwt.payload.\(name)")
        }
        guard seconds.isFinite else {
            throw malformed("claim \(name) is not a finite number", "jwt.payload.\(name)")
        }
        return Date(timeIntervalSince1970: seconds)
    }

    private static func unixSeconds(_ date: Date) -> String {
        let t = date.timeIntervalSince1970
        if let whole = Int64(exactly: t) { return String(whole) }
        return String(t)
    }

    /// Decodes base64url (padded or not); `nil` on any invalid character, misplaced or
    /// wrong padding, or an impossible length.
    static func base64URLDecode(_ input: Substring.UTF8View) -> [UInt8]? {
        var body = input[...]
        var padding = 0
        while body.last == UInt8(ascii: "=") {
            body = body.dropLast()
            padding += 1
        }
        let count = body.count
        if padding > 0 {
            // Padded form: total length a multiple of 4, and exactly the needed padding.
            guard padding <= 2, (count + padding) % 4 == 0 else { return nil }
        }
        guard count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(count * 3 / 4)
        var buffer: UInt32 = 0
        var bits = 0
        for byte in body {
            let v: UInt8
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = byte - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = byte - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = byte - UInt8(ascii: "0") + 52
            case UInt8(ascii: "-"): v = 62
            case UInt8(ascii: "_"): v = 63
            default: return nil
            }
            buffer = (buffer << 6) | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
                buffer &= (1 << UInt32(bits)) - 1
            }
        }
        return out
    }

    /// The deepest nesting of `[`/`{` outside strings (0 for a scalar). Stops counting
    /// once the limit is exceeded.
    static func nestingDepth(of bytes: [UInt8]) -> Int {
        var depth = 0
        var deepest = 0
        var inString = false
        var escaped = false
        for b in bytes {
            if inString {
                if escaped { escaped = false }
                else if b == UInt8(ascii: "\\") { escaped = true }
                else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > deepest {
                    deepest = depth
                    if deepest > maximumNestingDepth { return deepest }
                }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth = max(0, depth - 1)
            default: break
            }
        }
        return deepest
    }
}
