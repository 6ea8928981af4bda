#if os(Linux)
import Foundation
import CChannelKitShims

/// One libcurl easy handle in connect-only mode: curl does DNS, proxy, TCP and TLS;
/// ChannelKit speaks HTTP/1.1 Upgrade and RFC 6455 over `send`/`recv`.
///
/// Not thread-safe: the owner serialises every call (curl's rule: one thread at a time
/// per handle).
final class CurlEasy: @unchecked Sendable {  // every use is serialised by its owner's lock
    enum IOResult {
        case done(Int)      // bytes moved (0 from recv = peer closed)
        case wouldBlock
        case failed(Int32)  // curl code
    }

    private(set) var handle: UnsafeMutableRawPointer?

    /// curl option numbers (ABI-stable).
    enum Option {
        static let url: Int32 = 10002
        static let proxy: Int32 = 10004
        static let caInfo: Int32 = 10065
        static let connectOnly: Int32 = 141
        static let noSignal: Int32 = 99
        static let connectTimeoutMS: Int32 = 156
        static let sslVerifyPeer: Int32 = 64
        static let sslVerifyHost: Int32 = 81
        static let httpVersion: Int32 = 84
        static let sslEnableALPN: Int32 = 226
        static let httpProxyTunnel: Int32 = 61
        static let tcpNoDelay: Int32 = 121
    }

    static let curleAgain: Int32 = 81

    /// Loads libcurl once.
    static func load() throws {
        var buffer = [CChar](repeating: 0, count: 256)
        if ck_curl_load(&buffer, buffer.count) != 0 {
            let message = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw ChannelError(.transport, "WebSocket transport unavailable: \(message)")
        }
    }

    init() throws {
        try Self.load()
        guard let h = ck_curl_easy_init() else { throw ChannelError(.transport, "curl_easy_init failed") }
        handle = h
    }

    deinit { cleanup() }

    func cleanup() {
        if let handle { ck_curl_easy_cleanup(handle) }
        handle = nil
    }

    func set(_ option: Int32, _ value: Int) throws {
        let rc = ck_curl_setopt_long(handle, option, value)
        if rc != 0 { throw ChannelError(.transport, "curl option \(option) rejected: \(Self.describe(rc))", platformCode: Int(rc)) }
    }

    func set(_ option: Int32, _ value: String) throws {
        let rc = value.withCString { ck_curl_setopt_string(handle, option, $0) }
        if rc != 0 { throw ChannelError(.transport, "curl option \(option) rejected: \(Self.describe(rc))", platformCode: Int(rc)) }
    }

    /// Blocks until connected (and TLS is up) or failed.
    func perform() -> Int32 { ck_curl_easy_perform(handle) }

    var activeSocket: Int32? {
        var fd: Int64 = -1
        guard ck_curl_active_socket(handle, &fd) == 0, fd >= 0 else { return nil }
        return Int32(fd)
    }

    func send(_ pointer: UnsafeRawPointer, _ count: Int) -> IOResult {
        var sent = 0
        let rc = ck_curl_easy_send(handle, pointer, count, &sent)
        if rc == 0 { return .done(sent) }
        if rc == Self.curleAgain { return .wouldBlock }
        return .failed(rc)
    }

    func recv(_ pointer: UnsafeMutableRawPointer, _ count: Int) -> IOResult {
        var received = 0
        let rc = ck_curl_easy_recv(handle, pointer, count, &received)
        if rc == 0 { return .done(received) }
        if rc == Self.curleAgain { return .wouldBlock }
        return .failed(rc)
    }

    static func describe(_ code: Int32) -> String {
        "curl error \(code): \(String(cString: ck_curl_strerror(code)))"
    }
}
#endif
