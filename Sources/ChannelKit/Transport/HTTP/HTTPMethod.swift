/// An HTTP request method, e.g. ``get`` or ``post``.
///
/// A struct over the method token rather than an enum, so a platform's unusual method
/// (`PROPFIND`, …) needs no new case. Compare with the static members.
public struct HTTPMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The method token as sent on the wire, e.g. `"GET"`.
    public let rawValue: String

    /// Creates a method from its token. The token is used as given (methods are
    /// case-sensitive); pass it upper-cased.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Creates a method from a string literal, e.g. `"OPTIONS"`.
    public init(stringLiteral value: String) { self.rawValue = value }

    /// `GET`.
    public static let get = HTTPMethod(rawValue: "GET")
    /// `POST`.
    public static let post = HTTPMethod(rawValue: "POST")
    /// `PUT`.
    public static let put = HTTPMethod(rawValue: "PUT")
    /// `PATCH`.
    public static let patch = HTTPMethod(rawValue: "PATCH")
    /// `DELETE`.
    public static let delete = HTTPMethod(rawValue: "DELETE")
    /// `HEAD` (the response has no body).
    public static let head = HTTPMethod(rawValue: "HEAD")

    /// The method token.
    public var description: String { rawValue }
}
