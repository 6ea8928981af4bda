import Dispatch
import Foundation

/// Turns SIGINT and SIGTERM into one async notification (the first one wins), so the
/// command can shut down cleanly and exit 0.
final class SignalWatcher {
    private let sources: [any DispatchSourceSignal]
    let signals: AsyncStream<Int32>

    init(_ numbers: [Int32] = [SIGINT, SIGTERM]) {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        signals = stream
        sources = numbers.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
    }

    /// Suspends until the first signal arrives.
    func next() async -> Int32? {
        var iterator = signals.makeAsyncIterator()
        return await iterator.next()
    }
}
