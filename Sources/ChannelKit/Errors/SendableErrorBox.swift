/// Carries a non-`Sendable`-declared error as the underlying error of a ``ChannelError``;
/// prints the wrapped error's description.
public struct SendableErrorBox: Error, Sendable, CustomStringConvertible {
    /// The wrapped error's description, captured when boxed.
    public let description: String
    /// The wrapped error's type name.
    public let typeName: String
    /// Boxes `error`.
    public init(_ error: any Error) {
        self.description = String(describing: error)
        self.typeName = String(describing: type(of: error))
    }
}
