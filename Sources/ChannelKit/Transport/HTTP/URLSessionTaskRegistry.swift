import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization

/// The session delegate of one ``URLSessionHTTPTransport``: collects each data task's
/// response and body, enforces the size limit while bytes arrive, strips credential
/// headers from cross-origin redirects, and resumes the caller when the task ends.
///
/// Entries are keyed by `taskIdentifier` (unique per session). Callbacks arrive on the
/// session's serial delegate queue; ``register(_:label:limit:continuation:)`` runs
/// before the task is resumed, so no callback can miss its entry.
final class URLSessionTaskRegistry: NSObject, URLSessionDataDelegate, Sendable {
    private struct Entry {
        let label: String
        let limit: Int
        let continuation: CheckedContinuation<HTTPResponse, any Error>
        var response: HTTPURLResponse?
        var body = Data()
        var tooLarge = false
    }

    private let entries = Mutex<[Int: Entry]>([:])
    /// Set by ``URLSessionHTTPTransport/shutdown()``: failures are reported as `.stopped`.
    let isShutDown = Atomic<Bool>(false)

    /// Number of requests in flight.
    var inFlight: Int { entries.withLock { $0.count } }

    func register(_ id: Int, label: String, limit: Int, continuation: CheckedContinuation<HTTPResponse, any Error>) {
        entries.withLock { $0[id] = Entry(label: label, limit: limit, continuation: continuation) }
    }

    /// Fails a registered task that will never be resumed (cancelled before it started).
    func fail(_ id: Int, with error: ChannelError) {
        entries.withLock { $0.removeValue(forKey: id) }?.continuation.resume(throwing: error)
    }

    // MARK: URLSessionDataDelegate

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
        let id = dataTask.taskIdentifier
        let cancel = entries.withLock { all -> Bool in
            guard var entry = all[id] else { return false }
            entry.response = response as? HTTPURLResponse
            if response.expectedContentLength > Int64(entry.limit) { entry.tooLarge = true }
            all[id] = entry
            return entry.tooLarge
        }
        // swift-corelibs-foundation ignores the disposition; cancel explicitly.
        if cancel { dataTask.cancel() }
        completionHandler(cancel ? .cancel : .allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let id = dataTask.taskIdentifier
        let cancel = entries.withLock { all -> Bool in
            guard var entry = all[id], !entry.tooLarge else { return false }
            if entry.body.count + data.count > entry.limit {
                entry.tooLarge = true
                entry.body = Data()
            } else {
                entry.body.append(data)
            }
            all[id] = entry
            return entry.tooLarge
        }
        if cancel { dataTask.cancel() }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        guard let entry = entries.withLock({ $0.removeValue(forKey: task.taskIdentifier) }) else { return }
        if entry.tooLarge {
            entry.continuation.resume(throwing: ChannelError(
                .malformedInput, "\(entry.label): response body exceeds the \(entry.limit)-byte limit", location: "body"))
            return
        }
        if let error {
            entry.continuation.resume(throwing: Self.map(error, label: entry.label, shutDown: isShutDown.load(ordering: .relaxed)))
            return
        }
        guard let http = entry.response ?? (task.response as? HTTPURLResponse) else {
            entry.continuation.resume(throwing: ChannelError(.transport, "\(entry.label): the response was not HTTP"))
            return
        }
        var headers = HTTPHeaders()
        let fields = http.allHeaderFields.compactMap { key, value -> (String, String)? in
            guard let name = key as? String else { return nil }
            return (name, value as? String ?? String(describing: value))
        }
        for (name, value) in fields.sorted(by: { $0.0.lowercased() < $1.0.lowercased() }) {
            headers.add(name: name, value: value)
        }
        entry.continuation.resume(returning: HTTPResponse(status: http.statusCode, headers: headers, body: entry.body))
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
        guard let from = task.originalRequest?.url, let to = request.url, !Self.sameOrigin(from, to) else {
            completionHandler(request)
            return
        }
        var stripped = request
        for name in HTTPHeaders.credentialNames { stripped.setValue(nil, forHTTPHeaderField: name) }
        completionHandler(stripped)
    }

    // MARK: Mapping

    static func sameOrigin(_ a: URL, _ b: URL) -> Bool {
        a.scheme?.lowercased() == b.scheme?.lowercased() && a.host?.lowercased() == b.host?.lowercased() && a.port == b.port
    }

    /// Maps a URLSession error to a ``ChannelError`` without copying its `userInfo`
    /// (which holds the unredacted URL).
    static func map(_ error: any Error, label: String, shutDown: Bool) -> ChannelError {
        let ns = error as NSError
        // Keep domain and code only: the userInfo carries the failing URL with its query.
        let sanitized = SendableErrorBox(NSError(domain: ns.domain, code: ns.code))
        if ns.domain == NSURLErrorDomain {
            switch ns.code {
            case NSURLErrorCancelled:
                if shutDown { return ChannelError(.stopped, "\(label): the transport was shut down") }
                return ChannelError(.cancelled, "\(label) was cancelled")
            case NSURLErrorTimedOut:
                return ChannelError(.timeout, "\(label) timed out", underlying: sanitized)
            default:
                break
            }
        }
        return ChannelError(.transport, "\(label) failed: \(describe(domain: ns.domain, code: ns.code))", underlying: sanitized)
    }

    private static func describe(domain: String, code: Int) -> String {
        guard domain == NSURLErrorDomain else { return "\(domain) \(code)" }
        let name: String
        switch code {
        case NSURLErrorCannotConnectToHost: name = "cannot connect to host"
        case NSURLErrorNetworkConnectionLost: name = "connection lost"
        case NSURLErrorCannotFindHost: name = "cannot find host"
        case NSURLErrorDNSLookupFailed: name = "DNS lookup failed"
        case NSURLErrorNotConnectedToInternet: name = "not connected to the internet"
        case NSURLErrorBadServerResponse: name = "bad server response"
        case NSURLErrorSecureConnectionFailed: name = "TLS handshake failed"
        case NSURLErrorServerCertificateUntrusted, NSURLErrorServerCertificateHasBadDate,
             NSURLErrorServerCertificateNotYetValid, NSURLErrorServerCertificateHasUnknownRoot:
            name = "server certificate rejected"
        case NSURLErrorUnsupportedURL: name = "unsupported URL"
        case NSURLErrorBadURL: name = "bad URL"
        case NSURLErrorHTTPTooManyRedirects: name = "too many redirects"
        case NSURLErrorZeroByteResource: name = "empty reply"
        case NSURLErrorDataLengthExceedsMaximum: name = "request or response too large"
        default: name = "error"
        }
        return "\(name) (NSURLErrorDomain \(code))"
    }
}
