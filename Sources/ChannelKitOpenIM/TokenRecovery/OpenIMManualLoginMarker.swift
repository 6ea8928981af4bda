import ChannelKit
import Foundation

/// The per-account file that says "this account needs a manual login": written when
/// token recovery fails for good, read at every start so a restarted process does not
/// spend refresh attempts on a token that already failed, removed when the token or the
/// recovery settings change (or by `clearOnSuccess`).
///
/// Content (JSON): `accountId`, `channel`, `reason`, `trigger`, `at` (ISO 8601) and a
/// `fingerprint` of the token and recovery settings it was written for — a 64-bit
/// FNV-1a hash for change detection, not the token.
struct OpenIMManualLoginMarker: Codable, Sendable, Equatable {
    var accountId: String
    var channel: String
    var reason: String
    var trigger: String
    var at: String
    var fingerprint: String

    /// Where the marker of `accountID` lives: the template with `{accountId}` filled in,
    /// or with `.<accountId>` inserted before the extension
    /// (`manual-login.json` → `manual-login.primary.json`).
    static func path(template: String, accountID: String) -> String {
        if template.contains("{accountId}") {
            return template.replacingOccurrences(of: "{accountId}", with: accountID)
        }
        let directory = (template as NSString).deletingLastPathComponent
        let file = (template as NSString).lastPathComponent
        let ext = (file as NSString).pathExtension
        let stem = ext.isEmpty ? file : (file as NSString).deletingPathExtension
        let name = ext.isEmpty ? "\(stem).\(accountID)" : "\(stem).\(accountID).\(ext)"
        return directory.isEmpty ? name : (directory as NSString).appendingPathComponent(name)
    }

    /// FNV-1a (64-bit) of the parts, as 16 hex digits: detects a changed token or
    /// setting without storing either.
    static func fingerprint(_ parts: String...) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for part in parts {
            for byte in part.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            hash = (hash ^ 0xff) &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The marker at `path`, or `nil` when there is none or it cannot be read (a
    /// damaged marker is treated as absent: the next failure rewrites it).
    static func load(_ path: String) -> OpenIMManualLoginMarker? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(OpenIMManualLoginMarker.self, from: data)
    }

    /// Writes the marker atomically (mode 0600), creating its directory.
    func save(to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try AtomicFile.makeDirectories(directory) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(self) + Data("\n".utf8), to: path, mode: 0o600)
    }
}

/// A refreshed token kept in the state store (`openim/<account>/token.json`), so it
/// survives a restart: used instead of the configured token as long as the configured
/// token is still the one it replaced.
struct OpenIMPersistedToken: Codable, Sendable {
    /// Fingerprint of the configured token this one replaced.
    var replaces: String
    /// The refreshed token.
    var token: Secret
    /// When it was obtained.
    var refreshedAt: Date

    static let name = "token"
}
