extension JSONValue {
    /// Compact JSON text for this value: no whitespace, object keys sorted (so equal
    /// values give equal bytes), integral numbers without a fraction (`7`, not `7.0`),
    /// non-finite numbers as `null`. Strings are escaped by ``quoted(_:)``.
    public var jsonText: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let d):
            if let i = Int(exactly: d) { out += String(i) } else { out += d.isFinite ? String(d) : "null" }
        case .string(let s): out += Self.quoted(s)
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                out += Self.quoted(key)
                out += ":"
                (members[key] ?? .null).write(to: &out)
            }
            out += "}"
        }
    }

    /// `string` as a JSON string literal, quotes included: `"`, `\` and control
    /// characters are escaped (`\n`, `\r`, `\t`, else `\u00XX`); everything else,
    /// non-ASCII included, is written as is.
    public static func quoted(_ string: String) -> String {
        var out = "\""
        out.reserveCapacity(string.utf8.count + 2)
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
