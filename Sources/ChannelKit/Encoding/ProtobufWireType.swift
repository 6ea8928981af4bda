/// The wire type in the low three bits of a protobuf field key.
///
/// Groups (3, 4) are recognised so that readers can report them; ChannelKit's platforms
/// never use them, and ``ProtobufReader/skip(_:)`` rejects them.
public enum ProtobufWireType: UInt8, Sendable, Hashable {
    /// Base-128 varint: int32, int64, uint32, uint64, sint32, sint64, bool, enum.
    case varint = 0
    /// Eight little-endian bytes: fixed64, sfixed64, double.
    case fixed64 = 1
    /// A varint length, then that many bytes: string, bytes, messages, packed repeated.
    case lengthDelimited = 2
    /// Start of a (deprecated) group.
    case startGroup = 3
    /// End of a (deprecated) group.
    case endGroup = 4
    /// Four little-endian bytes: fixed32, sfixed32, float.
    case fixed32 = 5
}

/// One field key: the field number and how its value is encoded.
public struct ProtobufFieldKey: Hashable, Sendable, CustomStringConvertible {
    /// The field number, 1 … 536,870,911.
    public let number: Int
    /// How the value that follows is encoded.
    public let wireType: ProtobufWireType

    /// Creates a key.
    public init(number: Int, wireType: ProtobufWireType) {
        self.number = number
        self.wireType = wireType
    }

    /// `field 5 (length-delimited)` style text for errors.
    public var description: String { "field \(number) (wire type \(wireType.rawValue))" }
}
