import Foundation

extension HTTPResponse {
    /// Decodes the body as JSON into `type`.
    ///
    /// - Parameters:
    ///   - type: The type to decode.
    ///   - decoder: The decoder. Defaults to a plain `JSONDecoder()`.
    /// - Throws: ``ChannelError`` `.malformedInput` whose ``ChannelError/location`` is the
    ///   JSON path of the offending field (`$.data.access_token`, `$.items[3].id`; `$`
    ///   when the body is not JSON at all) and whose message says what was wrong (type
    ///   mismatch and the expected type, missing key, null value, not JSON) followed by
    ///   a redacted excerpt of the body.
    public func decodeJSON<T: Decodable>(_ type: T.Type = T.self, decoder: JSONDecoder = JSONDecoder()) throws -> T {
        if body.isEmpty {
            throw ChannelError(.malformedInput, "HTTP \(status) body is empty; expected JSON for \(T.self)", location: "$")
        }
        do {
            return try decoder.decode(T.self, from: body)
        } catch let error as DecodingError {
            let (path, what) = Self.explain(error)
            throw ChannelError(.malformedInput, "HTTP \(status) body does not decode as \(T.self): \(what); body: \(bodyExcerpt(limit: 256))",
                               location: path)
        } catch {
            throw ChannelError(.malformedInput, "HTTP \(status) body does not decode as \(T.self); body: \(bodyExcerpt(limit: 256))",
                               location: "$", underlying: SendableErrorBox(error))
        }
    }

    /// Returns `self` when the status is 2xx; otherwise throws.
    ///
    /// - Parameters:
    ///   - request: The request this answers; its method and redacted URL go into the
    ///     message. Defaults to `nil`.
    ///   - timeSource: Resolves an HTTP-date `Retry-After`. Defaults to ``TimeSource/system``.
    /// - Returns: `self`, for chaining: `try response.requireSuccess().decodeJSON(T.self)`.
    /// - Throws: ``ChannelError`` — `.unauthorized` for 401/403, `.rateLimited` for 429,
    ///   `.platform` for any other non-2xx. The message holds the status and a redacted
    ///   body excerpt; ``ChannelError/underlying`` is an ``HTTPStatusError`` carrying the
    ///   status, the parsed `Retry-After` (``ChannelError/retryAfter``) and the response.
    @discardableResult
    public func requireSuccess(request: HTTPRequest? = nil, timeSource: TimeSource = .system) throws -> HTTPResponse {
        if isSuccess { return self }
        let code: ChannelError.Code
        switch status {
        case 401, 403: code = .unauthorized
        case 429: code = .rateLimited
        default: code = .platform
        }
        let wait = retryAfter(now: timeSource.now())
        var message = "HTTP \(status)"
        if let request { message += " from \(request.label)" }
        if let wait { message += "; retry after \(wait.seconds) s" }
        if !body.isEmpty { message += "; body: \(bodyExcerpt(limit: 256))" }
        throw ChannelError(code, message, underlying: HTTPStatusError(status: status, retryAfter: wait, response: self), response: self)
    }

    /// The `Retry-After` header as a duration: delta-seconds (`120`) or an HTTP-date
    /// (`Wed, 21 Oct 2015 07:28:00 GMT`, measured from `now`; a past date gives zero).
    /// `nil` when absent or unparsable.
    public func retryAfter(now: Date) -> Duration? {
        guard let raw = headers["Retry-After"]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
        if raw.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            guard let seconds = Int(raw) else { return nil }
            return .seconds(seconds)
        }
        guard let date = Self.parseHTTPDate(raw) else { return nil }
        let delta = date.timeIntervalSince(now)
        return delta > 0 ? .milliseconds(Int64((delta * 1000).rounded())) : .zero
    }

    /// IMF-fixdate (RFC 9110 §5.6.7), plus the obsolete RFC 850 and asctime forms.
    static func parseHTTPDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }

    /// The JSON path and a sentence for a `DecodingError`.
    static func explain(_ error: DecodingError) -> (path: String, what: String) {
        switch error {
        case .typeMismatch(let type, let context):
            return (JSONPath.render(context.codingPath), "type mismatch, expected \(type) (\(context.debugDescription))")
        case .valueNotFound(let type, let context):
            return (JSONPath.render(context.codingPath), "value missing or null, expected \(type)")
        case .keyNotFound(let key, let context):
            return (JSONPath.render(context.codingPath + [key]), "key not found: \"\(key.stringValue)\"")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty && context.underlyingError != nil {
                return ("$", "not valid JSON")
            }
            return (JSONPath.render(context.codingPath), "invalid value: \(context.debugDescription)")
        @unknown default:
            return ("$", String(describing: error))
        }
    }
}
