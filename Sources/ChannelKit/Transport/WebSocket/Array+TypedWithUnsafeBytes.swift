extension Array where Element == UInt8 {
    /// `withUnsafeBytes` that keeps the closure's typed error (the standard library's
    /// version rethrows `any Error`).
    func withUnsafeBytes<R, E: Error>(typed body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let result: Result<R, E> = withUnsafeBytes({ raw in
            do throws(E) {
                return .success(try body(raw))
            } catch {
                return .failure(error)
            }
        })
        return try result.get()
    }
}
