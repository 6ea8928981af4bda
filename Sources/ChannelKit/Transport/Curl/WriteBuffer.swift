#if os(Linux)
/// Outbound bytes at a stable address.
///
/// OpenSSL requires a write that returned `CURLE_AGAIN` to be retried with the same
/// buffer pointer and length; bytes wait here, never moved, until fully sent.
final class WriteBuffer: @unchecked Sendable {  // owned by one connection, used under its lock
    private(set) var storage: UnsafeMutableRawBufferPointer
    /// Bytes in use.
    private(set) var count = 0
    /// Bytes already sent.
    var offset = 0

    init(capacity: Int) {
        storage = .allocate(byteCount: max(capacity, 64), alignment: 16)
    }

    deinit { storage.deallocate() }

    var capacity: Int { storage.count }
    var remaining: Int { count - offset }
    var isEmpty: Bool { offset >= count }
    var pendingPointer: UnsafeRawPointer { UnsafeRawPointer(storage.baseAddress!) + offset }

    /// Replaces the content with `bytes` (only while nothing of it is pending).
    func fill(_ bytes: [UInt8]) {
        if bytes.count > storage.count {
            storage.deallocate()
            storage = .allocate(byteCount: bytes.count, alignment: 16)
        }
        bytes.withUnsafeBytes { src in
            if let base = src.baseAddress, !src.isEmpty {
                storage.baseAddress!.copyMemory(from: base, byteCount: src.count)
            }
        }
        count = bytes.count
        offset = 0
    }
}
#endif
