/// Why bytes are not the protobuf message a reader expected.
///
/// Carries the byte offset (from the start of the outermost buffer) and, where known,
/// the field number, so a malformed frame is reported with what was wrong and where.
public struct ProtobufDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem.
    public enum Code: String, Sendable, Hashable {
        /// The buffer ended inside a key or value.
        case truncated
        /// A varint longer than 10 bytes, or one that overflows 64 bits.
        case malformedVarint
        /// A wire type of 6 or 7.
        case invalidWireType
        /// Field number 0 or beyond 2^29 − 1.
        case invalidFieldNumber
        /// A length prefix that points past the end of its enclosing buffer.
        case lengthOutOfBounds
        /// A `string` field that is not valid UTF-8.
        case invalidUTF8
        /// A known field arrived with a different wire type than its declaration.
        case wrongWireType
        /// A proto2 `required` field (or one a decoder needs) is absent.
        case missingRequiredField
        /// Messages nested deeper than ``ProtobufReader/maximumDepth``.
        case nestingTooDeep
        /// The bytes are well-formed protobuf but a value is not acceptable (e.g. a
        /// negative length or an out-of-range enum the decoder cannot represent).
        case invalidValue
        /// Groups (wire types 3 and 4) are not supported.
        case unsupportedGroup
    }

    /// What kind of problem.
    public var code: Code
    /// Byte offset of the problem from the start of the outermost buffer.
    public var offset: Int
    /// The field being read, when known.
    public var field: Int?
    /// A human-readable explanation (never contains payload bytes).
    public var message: String

    /// Creates an error.
    public init(_ code: Code, offset: Int, field: Int? = nil, message: String) {
        self.code = code
        self.offset = offset
        self.field = field
        self.message = message
    }

    /// `protobuf truncated at byte 12 (field 5): …`.
    public var description: String {
        var text = "protobuf \(code.rawValue) at byte \(offset)"
        if let field { text += " (field \(field))" }
        return text + ": " + message
    }
}
