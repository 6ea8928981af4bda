import Foundation

/// Reads protobuf wire format (proto2 and proto3) straight from bytes, one field at a
/// time, without reflection or generated code.
///
/// A decoder loops over ``nextField()`` and switches on the field number, reading the
/// fields it knows with the typed readers and passing everything else to ``skip(_:)`` —
/// unknown fields are skipped, as protobuf requires. Every read is bounds-checked;
/// malformed input throws ``ProtobufDecodingError`` with the byte offset, never traps.
///
/// The reader is a view: the buffer it was made from must outlive it (use it inside
/// `withUnsafeBufferPointer`, or through ``read(_:_:)``), and ``readLengthDelimited()``
/// returns views into the same buffer.
///
/// ```swift
/// let frame = try ProtobufReader.read(bytes) { reader throws(ProtobufDecodingError) in
///     var seq: UInt64 = 0
///     while let key = try reader.nextField() {
///         switch key.number {
///         case 1: try reader.expect(key, .varint); seq = try reader.readUInt64()
///         default: try reader.skip(key)
///         }
///     }
///     return seq
/// }
/// ```
public struct ProtobufReader {
    /// The deepest nesting ``readMessage(_:)`` accepts: 64 levels (as the reference
    /// implementations' default recursion limit is 100, ChannelKit's messages need 3).
    public static let maximumDepth = 64

    @usableFromInline let bytes: UnsafeBufferPointer<UInt8>
    @usableFromInline var index: Int
    @usableFromInline let end: Int
    @usableFromInline let depth: Int
    /// The field whose value is being read, for error messages.
    @usableFromInline var currentField: Int?

    /// A reader over all of `bytes`, which must stay valid while the reader is used.
    public init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.init(bytes, from: 0, to: bytes.count, depth: 0)
    }

    @usableFromInline
    init(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int, depth: Int) {
        self.bytes = bytes
        self.index = start
        self.end = end
        self.depth = depth
    }

    /// Runs `body` with a reader over `bytes` and returns its result.
    /// - Throws: whatever `body` throws.
    public static func read<T>(_ bytes: some ContiguousBytes, _ body: (inout ProtobufReader) throws(ProtobufDecodingError) -> T) throws(ProtobufDecodingError) -> T {
        let result: Result<T, ProtobufDecodingError> = bytes.withUnsafeBytes { raw in
            raw.withMemoryRebound(to: UInt8.self) { buffer in
                var reader = ProtobufReader(buffer)
                do throws(ProtobufDecodingError) {
                    return .success(try body(&reader))
                } catch {
                    return .failure(error)
                }
            }
        }
        return try result.get()
    }

    /// Whether every byte of this (sub)message has been read.
    public var isAtEnd: Bool { index >= end }

    /// The read position, in bytes from the start of the outermost buffer.
    public var offset: Int { index }

    @usableFromInline
    func fail(_ code: ProtobufDecodingError.Code, _ message: String, at offset: Int? = nil) -> ProtobufDecodingError {
        ProtobufDecodingError(code, offset: offset ?? index, field: currentField, message: message)
    }

    // MARK: Keys

    /// The next field's key, or `nil` at the end of the message.
    /// - Throws: ``ProtobufDecodingError`` for a malformed key, wire type 6/7 or field 0.
    public mutating func nextField() throws(ProtobufDecodingError) -> ProtobufFieldKey? {
        currentField = nil
        guard index < end else { return nil }
        let start = index
        let raw = try readVarint()
        guard let wireType = ProtobufWireType(rawValue: UInt8(truncatingIfNeeded: raw & 7)) else {
            throw fail(.invalidWireType, "wire type \(raw & 7) does not exist", at: start)
        }
        let number = raw >> 3
        guard number >= 1, number <= 536_870_911 else {
            throw fail(.invalidFieldNumber, "field number \(number) is out of range", at: start)
        }
        currentField = Int(number)
        return ProtobufFieldKey(number: Int(number), wireType: wireType)
    }

    /// Throws ``ProtobufDecodingError/Code/wrongWireType`` unless `key` has `wireType`.
    @inlinable
    public func expect(_ key: ProtobufFieldKey, _ wireType: ProtobufWireType) throws(ProtobufDecodingError) {
        if key.wireType != wireType {
            throw fail(.wrongWireType, "expected wire type \(wireType.rawValue), found \(key.wireType.rawValue)")
        }
    }

    // MARK: Scalars

    /// A base-128 varint (at most 10 bytes).
    @inlinable
    public mutating func readVarint() throws(ProtobufDecodingError) -> UInt64 {
        // Fast path: one byte.
        if index < end, bytes[index] < 0x80 {
            defer { index += 1 }
            return UInt64(bytes[index])
        }
        return try readVarintSlow()
    }

    @usableFromInline
    mutating func readVarintSlow() throws(ProtobufDecodingError) -> UInt64 {
        let start = index
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard index < end else { throw fail(.truncated, "the buffer ends inside a varint", at: start) }
            let byte = bytes[index]
            index += 1
            if shift == 63 && byte > 1 {
                throw fail(.malformedVarint, "varint overflows 64 bits", at: start)
            }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
            if shift > 63 { throw fail(.malformedVarint, "varint longer than 10 bytes", at: start) }
        }
    }

    /// An `int32` (a varint; negative values arrive sign-extended to 10 bytes and are
    /// truncated to 32 bits, as protobuf specifies).
    public mutating func readInt32() throws(ProtobufDecodingError) -> Int32 {
        Int32(truncatingIfNeeded: try readVarint())
    }

    /// An `int64`.
    public mutating func readInt64() throws(ProtobufDecodingError) -> Int64 {
        Int64(bitPattern: try readVarint())
    }

    /// A `uint32` (truncated to 32 bits, as protobuf specifies).
    public mutating func readUInt32() throws(ProtobufDecodingError) -> UInt32 {
        UInt32(truncatingIfNeeded: try readVarint())
    }

    /// A `uint64`.
    public mutating func readUInt64() throws(ProtobufDecodingError) -> UInt64 {
        try readVarint()
    }

    /// A `bool` (any non-zero varint is `true`).
    public mutating func readBool() throws(ProtobufDecodingError) -> Bool {
        try readVarint() != 0
    }

    /// A `sint32` (zig-zag).
    public mutating func readSInt32() throws(ProtobufDecodingError) -> Int32 {
        let v = UInt32(truncatingIfNeeded: try readVarint())
        return Int32(bitPattern: (v >> 1) ^ (0 &- (v & 1)))
    }

    /// A `sint64` (zig-zag).
    public mutating func readSInt64() throws(ProtobufDecodingError) -> Int64 {
        let v = try readVarint()
        return Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1)))
    }

    /// Four little-endian bytes (`fixed32`; `sfixed32`/`float` by bit pattern).
    public mutating func readFixed32() throws(ProtobufDecodingError) -> UInt32 {
        guard end - index >= 4 else { throw fail(.truncated, "the buffer ends inside a fixed32") }
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(bytes[index + i]) << (8 * UInt32(i)) }
        index += 4
        return v
    }

    /// Eight little-endian bytes (`fixed64`; `sfixed64`/`double` by bit pattern).
    public mutating func readFixed64() throws(ProtobufDecodingError) -> UInt64 {
        guard end - index >= 8 else { throw fail(.truncated, "the buffer ends inside a fixed64") }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[index + i]) << (8 * UInt64(i)) }
        index += 8
        return v
    }

    // MARK: Length-delimited

    /// The bytes of a length-delimited value, as a view into the reader's buffer.
    /// - Throws: `.lengthOutOfBounds` when the length points past the enclosing message.
    public mutating func readLengthDelimited() throws(ProtobufDecodingError) -> UnsafeBufferPointer<UInt8> {
        let range = try readLengthDelimitedRange()
        return UnsafeBufferPointer(rebasing: bytes[range])
    }

    /// The byte range (in the outermost buffer) of a length-delimited value.
    public mutating func readLengthDelimitedRange() throws(ProtobufDecodingError) -> Range<Int> {
        let start = index
        let length = try readVarint()
        guard length <= UInt64(end - index) else {
            throw fail(.lengthOutOfBounds, "length \(length) exceeds the \(end - index) bytes left", at: start)
        }
        let from = index
        index += Int(length)
        return from..<index
    }

    /// A `string`, which must be valid UTF-8.
    public mutating func readString() throws(ProtobufDecodingError) -> String {
        let start = index
        let view = try readLengthDelimited()
        if view.isEmpty { return "" }
        // ASCII is the common case and needs no validation beyond the high bit.
        var ascii = true
        for b in view where b >= 0x80 { ascii = false; break }
        if ascii { return String(decoding: view, as: UTF8.self) }
        guard let text = String(validating: view, as: UTF8.self) else {
            throw fail(.invalidUTF8, "string is not valid UTF-8", at: start)
        }
        return text
    }

    /// A `bytes` value, copied.
    public mutating func readBytes() throws(ProtobufDecodingError) -> [UInt8] {
        Array(try readLengthDelimited())
    }

    /// A nested message: `body` reads it with a reader bounded to its bytes; the outer
    /// reader continues after it.
    /// - Throws: `.nestingTooDeep` beyond ``maximumDepth``; whatever `body` throws.
    public mutating func readMessage<T>(_ body: (inout ProtobufReader) throws(ProtobufDecodingError) -> T) throws(ProtobufDecodingError) -> T {
        let range = try readLengthDelimitedRange()
        guard depth + 1 <= Self.maximumDepth else {
            throw fail(.nestingTooDeep, "messages nested deeper than \(Self.maximumDepth) levels", at: range.lowerBound)
        }
        let outerField = currentField
        var inner = ProtobufReader(bytes, from: range.lowerBound, to: range.upperBound, depth: depth + 1)
        let value = try body(&inner)
        currentField = outerField
        return value
    }

    /// Appends the values of a `repeated` varint field, packed (one length-delimited
    /// run) or not (one varint per key) — parsers must accept both.
    public mutating func readRepeatedVarints(_ key: ProtobufFieldKey, into values: inout [UInt64]) throws(ProtobufDecodingError) {
        switch key.wireType {
        case .varint:
            values.append(try readVarint())
        case .lengthDelimited:
            let range = try readLengthDelimitedRange()
            var inner = ProtobufReader(bytes, from: range.lowerBound, to: range.upperBound, depth: depth)
            inner.currentField = key.number
            while !inner.isAtEnd { values.append(try inner.readVarint()) }
        default:
            throw fail(.wrongWireType, "a repeated varint field needs wire type 0 or 2, found \(key.wireType.rawValue)")
        }
    }

    /// Skips the value of a field this decoder does not know.
    /// - Throws: `.unsupportedGroup` for wire types 3 and 4; bounds errors.
    public mutating func skip(_ key: ProtobufFieldKey) throws(ProtobufDecodingError) {
        switch key.wireType {
        case .varint: _ = try readVarint()
        case .fixed64:
            guard end - index >= 8 else { throw fail(.truncated, "the buffer ends inside a fixed64") }
            index += 8
        case .fixed32:
            guard end - index >= 4 else { throw fail(.truncated, "the buffer ends inside a fixed32") }
            index += 4
        case .lengthDelimited: _ = try readLengthDelimitedRange()
        case .startGroup, .endGroup:
            throw fail(.unsupportedGroup, "groups are not supported")
        }
    }

    /// Throws `.missingRequiredField` for `field` named `name` unless `present`.
    public func require(_ present: Bool, field: Int, _ name: String) throws(ProtobufDecodingError) {
        if !present {
            throw ProtobufDecodingError(.missingRequiredField, offset: index, field: field, message: "required field \(name) (\(field)) is missing")
        }
    }
}
