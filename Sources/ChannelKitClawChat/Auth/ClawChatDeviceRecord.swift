import Foundation
import ChannelKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The account's stored ids (document `device` beside `credentials`): the REST
/// `X-Device-Id`, the WebSocket `device_id`, and a fingerprint of the configured token
/// pair, so a re-activation (new tokens in the configuration) is told apart from a pair
/// ChannelKit rotated itself. Kept when the tokens are blanked after a permanent failure.
struct ClawChatDeviceRecord: Codable, Sendable, Equatable {
    /// The REST `X-Device-Id`.
    var restDeviceID: String
    /// The WebSocket `device_id` (replay cursor key).
    var wsDeviceID: String
    /// ``fingerprint(_:_:)`` of the configured pair that seeded the stored one.
    var seedFingerprint: String

    /// The stored document's name.
    static let documentName = "device"
    /// The stored refresh guard (latch, last attempt), saved at shutdown.
    static let guardDocumentName = "refresh-guard"

    /// A non-reversible 64-bit FNV-1a digest of the pair, as 16 hex digits. Used only to
    /// notice that the configured pair changed; never to authenticate.
    static func fingerprint(_ access: Secret, _ refresh: Secret) -> String {
        hex(fnv1a64(access.reveal() + "\u{0}" + refresh.reveal()))
    }

    /// The WebSocket device id derived when none is configured: stable for this host
    /// and account, distinct between accounts.
    static func derivedWSDeviceID(account: AccountKey, host: String) -> String {
        "channelkit-" + hex(fnv1a64(host + "|" + account.description))
    }

    /// This machine's host name from `gethostname` (no DNS lookup, unlike
    /// `ProcessInfo.hostName` on Linux), read once.
    static let hostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        let name = String(decoding: bytes, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }()

    static func fnv1a64(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }
}
