import Foundation

/// Builds JWT-shaped tokens for tests and simulators (`HS256` header, the given
/// payload, a fixed fake signature). The signature is not valid: ChannelKit never
/// verifies signatures, it reads claims for timing and identity only.
public enum TestJWT {
    /// A token whose payload is `claims` serialised as JSON.
    /// - Parameter claims: JSON-serialisable values (numbers, strings, bools, arrays,
    ///   dictionaries).
    public static func make(_ claims: [String: any Sendable]) -> String {
        let header = base64URL(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let payloadData = (try? JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys])) ?? Data("{}".utf8)
        return "\(header).\(base64URL(payloadData)).\(base64URL(Data("test-signature".utf8)))"
    }

    /// A token with `exp`/`iat` (seconds since 1970) and extra claims.
    public static func make(issuedAt: Date?, expiresAt: Date?, extra: [String: any Sendable] = [:]) -> String {
        var claims = extra
        if let issuedAt { claims["iat"] = Int(issuedAt.timeIntervalSince1970) }
        if let expiresAt { claims["exp"] = Int(expiresAt.timeIntervalSince1970) }
        return make(claims)
    }

    /// Base64url without padding.
    public static func base64URL(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
