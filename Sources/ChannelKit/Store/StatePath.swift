/// How ``FileStateStore`` turns a ``StateKey`` into file names.
///
/// Channel and account ids are escaped so that any string, including `""`, `"."`,
/// `".."`, `"a/b"` or non-ASCII text, becomes exactly one safe path component, and two
/// different ids never share a directory — not even on a case-insensitive file system
/// (macOS default). Document names are validated instead of escaped.
enum StatePath {
    /// The component used for an empty id (`%` is never produced alone by escaping).
    static let emptyComponent = "%"
    /// Longest accepted document name, in bytes (leaves room for the suffixes and the
    /// temporary-file name inside the usual 255-byte file-name limit).
    static let maxNameLength = 128

    /// Percent-encodes every UTF-8 byte outside `[a-z0-9_-]` as `%XX` (upper-case hex).
    ///
    /// Upper-case ASCII letters are encoded too (`"Main"` → `"%4Dain"`), because account
    /// ids are case-sensitive while many file systems are not.
    static func escape(_ id: String) -> String {
        if id.isEmpty { return emptyComponent }
        var out = ""
        out.reserveCapacity(id.utf8.count)
        for byte in id.utf8 {
            if isPlain(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out.append("%")
                out.append(hexDigit(byte >> 4))
                out.append(hexDigit(byte & 0x0F))
            }
        }
        return out
    }

    /// `true` for a valid document name: 1…128 ASCII letters, digits, `-`, `_` and `.`,
    /// not starting with `.` (so it can never be `.`/`..` nor collide with temporary files).
    static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, first != UInt8(ascii: "."), bytes.count <= maxNameLength else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                return true
            default:
                return false
            }
        }
    }

    private static func isPlain(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }

    private static func hexDigit(_ value: UInt8) -> Character {
        Character(Unicode.Scalar(value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "A") + value - 10))
    }
}
