/// Writes protobuf wire format (proto2 and proto3) into a byte array, one field at a
/// time.
///
/// Following proto3, the scalar writers skip a field whose value is the default (0,
/// `false`, empty) unless `always: true` — use that for proto2 `required` fields and
/// wherever a peer needs the field present (Feishu's pbbp2 frames require fields 1–4
/// even when 0). Nested messages and map entries are always written.
///
/// ```swift
/// var writer = ProtobufWriter()
/// writer.writeUInt64(1, seqID, always: true)
/// writer.writeMessage(5) { header in
///     header.writeString(1, "type", always: true)
///     header.writeString(2, "ping", always: true)
/// }
/// let bytes = writer.bytes
/// ```
public struct ProtobufWriter: Sendable {
    /// The encoded bytes so far.
    public var bytes: [UInt8] { storage }
    @usableFromInline var storage: [UInt8]

    /// An empty writer with room for `capacity` bytes (default 64) before it grows.
    public init(capacity: Int = 64) {
        storage = []
        storage.reserveCapacity(capacity)
    }

    /// How many bytes the varint encoding of `value` takes (1 … 10).
    @inlinable
    public static func varintSize(_ value: UInt64) -> Int {
        value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
    }

    // MARK: Primitives

    /// Appends a base-128 varint.
    @inlinable
    public mutating func writeVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            storage.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        storage.append(UInt8(v))
    }

    /// Appends a field key.
    @inlinable
    public mutating func writeTag(_ field: Int, _ wireType: ProtobufWireType) {
        writeVarint(UInt64(field) << 3 | UInt64(wireType.rawValue))
    }

    /// Appends raw bytes (already encoded).
    public mutating func writeRaw(_ raw: some Sequence<UInt8>) {
        storage.append(contentsOf: raw)
    }

    // MARK: Varint fields

    /// A `uint64` field.
    public mutating func writeUInt64(_ field: Int, _ value: UInt64, always: Bool = false) {
        guard always || value != 0 else { return }
        writeTag(field, .varint)
        writeVarint(value)
    }

    /// A `uint32` field.
    public mutating func writeUInt32(_ field: Int, _ value: UInt32, always: Bool = false) {
        writeUInt64(field, UInt64(value), always: always)
    }

    /// An `int64` field (negative values take 10 bytes).
    public mutating func writeInt64(_ field: Int, _ value: Int64, always: Bool = false) {
        writeUInt64(field, UInt64(bitPattern: value), always: always)
    }

    /// An `int32` field (negative values are sign-extended to 10 bytes, as protobuf
    /// specifies).
    public mutating func writeInt32(_ field: Int, _ value: Int32, always: Bool = false) {
        writeUInt64(field, UInt64(bitPattern: Int64(value)), always: always)
    }

    /// A `bool` field.
    public mutating func writeBool(_ field: Int, _ value: Bool, always: Bool = false) {
        writeUInt64(field, value ? 1 : 0, always: always)
    }

    /// A `sint32` field (zig-zag).
    public mutating func writeSInt32(_ field: Int, _ value: Int32, always: Bool = false) {
        writeUInt64(field, UInt64(UInt32(bitPattern: (value << 1) ^ (value >> 31))), always: always)
    }

    /// A `sint64` field (zig-zag).
    public mutating func writeSInt64(_ field: Int, _ value: Int64, always: Bool = false) {
        writeUInt64(field, UInt64(bitPattern: (value << 1) ^ (value >> 63)), always: always)
    }

    // MARK: Fixed fields

    /// A `fixed32` field (`sfixed32`/`float` by bit pattern).
    public mutating func writeFixed32(_ field: Int, _ value: UInt32, always: Bool = false) {
        guard always || value != 0 else { return }
        writeTag(field, .fixed32)
        for i in 0..<4 { storage.append(UInt8(truncatingIfNeeded: value >> (8 * UInt32(i)))) }
    }

    /// A `fixed64` field (`sfixed64`/`double` by bit pattern).
    public mutating func writeFixed64(_ field: Int, _ value: UInt64, always: Bool = false) {
        guard always || value != 0 else { return }
        writeTag(field, .fixed64)
        for i in 0..<8 { storage.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }

    // MARK: Length-delimited fields

    /// A `string` field.
    public mutating func writeString(_ field: Int, _ value: String, always: Bool = false) {
        var text = value
        text.withUTF8 { utf8 in writeBytes(field, utf8, always: always) }
    }

    /// A `bytes` field.
    public mutating func writeBytes(_ field: Int, _ value: some Collection<UInt8>, always: Bool = false) {
        guard always || !value.isEmpty else { return }
        writeTag(field, .lengthDelimited)
        writeVarint(UInt64(value.count))
        storage.append(contentsOf: value)
    }

    /// A nested message field (also a map entry, whose key is field 1 and value field 2),
    /// always written, even when empty.
    ///
    /// The body writes into this writer; its length prefix is filled in afterwards, so
    /// nothing is copied for the common case of a body under 128 storage.
    public mutating func writeMessage(_ field: Int, _ body: (inout ProtobufWriter) -> Void) {
        writeTag(field, .lengthDelimited)
        let lengthAt = storage.count
        storage.append(0)
        let start = storage.count
        body(&self)
        let length = storage.count - start
        if length < 0x80 {
            storage[lengthAt] = UInt8(length)
        } else {
            var prefix = ProtobufWriter(capacity: 10)
            prefix.writeVarint(UInt64(length))
            storage.replaceSubrange(lengthAt..<start, with: prefix.bytes)
        }
    }

    /// A packed `repeated` varint field (proto3's default for repeated scalars); nothing
    /// when `values` is empty.
    public mutating func writePackedVarints(_ field: Int, _ values: [UInt64]) {
        guard !values.isEmpty else { return }
        writeTag(field, .lengthDelimited)
        writeVarint(UInt64(values.reduce(0) { $0 + Self.varintSize($1) }))
        for v in values { writeVarint(v) }
    }
}
