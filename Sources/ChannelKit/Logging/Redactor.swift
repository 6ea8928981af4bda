/// Scrubs secret-looking substrings from free text before it reaches a log line or an
/// error description.
///
/// ChannelKit never puts a ``Secret`` into text on purpose; the redactor is the second
/// line of defence at the sink, for text that came from outside (a platform's error
/// body, a URL with a ticket in its query). It replaces:
/// - JWTs (`eyJ….….…`),
/// - the credential after `Bearer `, `QQBot `, `Basic `, `token `,
/// - the values of query or JSON fields whose name contains `token`, `secret`, `ticket`,
///   `password` or `credential`, or ends with `key`, `sign`, `signature` or `auth`
///   (`?ticket=…`, `"access_token":"…"`),
/// - the credential part of `/bot<TOKEN>/` URL paths.
public enum Redactor {
    /// The marker that replaces a secret.
    public static let marker = "<redacted>"

    /// Field names that hold a secret when they contain one of these…
    private static let sensitiveParts = ["token", "secret", "ticket", "password", "passwd", "credential"]
    /// …or end with one of these.
    private static let sensitiveSuffixes = ["key", "sign", "signature", "auth", "authorization"]

    static func isSensitiveName(_ lowercasedName: String) -> Bool {
        sensitiveParts.contains { lowercasedName.contains($0) } || sensitiveSuffixes.contains { lowercasedName.hasSuffix($0) }
    }

    /// Returns `text` with anything that looks like a secret replaced by ``marker``.
    public static func redact(_ text: String) -> String {
        // Fast path: nothing that could introduce a secret.
        if !mightContainSecret(text) { return text }
        var s = Array(text.utf8)
        s = redactJWTs(s)
        s = redactAfterSchemes(s)
        s = redactNamedValues(s)
        return String(decoding: s, as: UTF8.self)
    }

    /// ChannelKit's own identity metadata keys: their values name an account or a
    /// credential (never a secret), so they are scrubbed like text but never dropped.
    public static let identityMetadataKeys: Set<String> = ["channel.account", "channel.adapter", "credential.key", "gateway.connection_id"]

    /// Redacts every value in a set of metadata; keys are kept. Values under a key that
    /// names a secret (`app_secret`, `token`, …) are replaced whole.
    public static func redact(_ metadata: [String: String]) -> [String: String] {
        var out = metadata
        for (k, v) in metadata {
            let lower = k.lowercased()
            if !identityMetadataKeys.contains(lower) && isSensitiveName(lower) && !v.isEmpty {
                out[k] = marker
            } else {
                out[k] = redact(v)
            }
        }
        return out
    }

    private static func mightContainSecret(_ text: String) -> Bool {
        let lower = text.lowercased()
        if lower.contains("eyj") { return true }
        for scheme in ["bearer ", "qqbot ", "basic ", "/bot"] where lower.contains(scheme) { return true }
        for name in sensitiveParts + sensitiveSuffixes where lower.contains(name) { return true }
        return false
    }

    private static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
             UInt8(ascii: "."), UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="),
             UInt8(ascii: "~"), UInt8(ascii: "%"), UInt8(ascii: ":"):
            return true
        default:
            return false
        }
    }

    private static func lowerASCII(_ b: UInt8) -> UInt8 {
        (b >= 65 && b <= 90) ? b + 32 : b
    }

    private static func hasPrefix(_ s: [UInt8], at i: Int, _ p: [UInt8], caseInsensitive: Bool = true) -> Bool {
        guard i + p.count <= s.count else { return false }
        for j in 0..<p.count {
            let a = caseInsensitive ? lowerASCII(s[i + j]) : s[i + j]
            if a != p[j] { return false }
        }
        return true
    }

    /// `eyJ` followed by base64url and at least one dot: a JWT (or JWS/JWE).
    private static func redactJWTs(_ s: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = 0
        let prefix = Array("eyJ".utf8)
        while i < s.count {
            if hasPrefix(s, at: i, prefix, caseInsensitive: false) && (i == 0 || !isTokenByte(s[i - 1]) || s[i - 1] == UInt8(ascii: "=") || s[i - 1] == UInt8(ascii: ":")) {
                var j = i
                var dots = 0
                while j < s.count, isTokenByte(s[j]) || s[j] == UInt8(ascii: ".") {
                    if s[j] == UInt8(ascii: ".") { dots += 1 }
                    j += 1
                }
                if dots >= 1 && j - i >= 16 {
                    out.append(contentsOf: marker.utf8)
                    i = j
                    continue
                }
            }
            out.append(s[i])
            i += 1
        }
        return out
    }

    /// `Bearer x`, `QQBot x`, `Basic x`, `/bot<x>/`.
    private static func redactAfterSchemes(_ s: [UInt8]) -> [UInt8] {
        let schemes = ["bearer ", "qqbot ", "basic ", "token ", "/bot"].map { Array($0.utf8) }
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = 0
        outer: while i < s.count {
            for scheme in schemes where hasPrefix(s, at: i, scheme) {
                // Word boundary before the scheme (except for the path form).
                if scheme.first != UInt8(ascii: "/"), i > 0, isTokenByte(s[i - 1]) { continue }
                var j = i + scheme.count
                let start = j
                while j < s.count, isTokenByte(s[j]), s[j] != UInt8(ascii: "/") || scheme.first != UInt8(ascii: "/") { j += 1 }
                if j - start >= 6 {
                    out.append(contentsOf: s[i..<(i + scheme.count)])
                    out.append(contentsOf: marker.utf8)
                    i = j
                    continue outer
                }
            }
            out.append(s[i])
            i += 1
        }
        return out
    }

    /// `name=value`, `name: value`, `"name":"value"` where name mentions a secret.
    private static func redactNamedValues(_ s: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            // Find an identifier.
            if isIdentByte(s[i]) && (i == 0 || !isIdentByte(s[i - 1])) {
                var j = i
                while j < s.count, isIdentByte(s[j]) { j += 1 }
                let name = String(decoding: s[i..<j].map(lowerASCII), as: UTF8.self)
                out.append(contentsOf: s[i..<j])
                i = j
                guard isSensitiveName(name) else { continue }
                // Separator: optional quote, then = or :, optional spaces and quote.
                var k = i
                if k < s.count, s[k] == UInt8(ascii: "\"") || s[k] == UInt8(ascii: "'") { k += 1 }
                while k < s.count, s[k] == UInt8(ascii: " ") { k += 1 }
                guard k < s.count, s[k] == UInt8(ascii: "=") || s[k] == UInt8(ascii: ":") else { continue }
                k += 1
                while k < s.count, s[k] == UInt8(ascii: " ") { k += 1 }
                var quote: UInt8? = nil
                if k < s.count, s[k] == UInt8(ascii: "\"") || s[k] == UInt8(ascii: "'") { quote = s[k]; k += 1 }
                var v = k
                if let q = quote {
                    while v < s.count, s[v] != q { v += 1 }
                } else {
                    while v < s.count, isTokenByte(s[v]), s[v] != UInt8(ascii: "&") { v += 1 }
                }
                // Numbers (e.g. "code": 10003) and tiny values are not secrets.
                let value = s[k..<v]
                let isNumeric = !value.isEmpty && value.allSatisfy { $0 >= 48 && $0 <= 57 }
                if value.count >= 4 && !isNumeric {
                    out.append(contentsOf: s[i..<k])
                    out.append(contentsOf: marker.utf8)
                    i = v
                }
                continue
            }
            out.append(s[i])
            i += 1
        }
        return out
    }

    private static func isIdentByte(_ b: UInt8) -> Bool {
        (b >= 97 && b <= 122) || (b >= 65 && b <= 90) || (b >= 48 && b <= 57) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
    }
}
