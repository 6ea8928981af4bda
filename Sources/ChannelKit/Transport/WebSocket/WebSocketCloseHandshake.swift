/// The closing handshake (RFC 6455 §5.5.1, §7) as a pure state machine: each input
/// returns the action to take; no I/O, no timers.
///
/// ```
/// open ──close(code:)────────▶ closing ──receivedClose──▶ closed (disconnect)
///   │                            │
///   ├──receivedClose──▶ closed (reply with a close echoing the code, then disconnect)
///   └──fail(violation)─▶ closed (send a close with the violation's code, then disconnect)
/// ```
///
/// The driver owns the timeout: after ``Action/sendClose(code:reason:)`` it waits a
/// bounded time for the peer's close and then calls ``connectionLost()``. RFC 6455 lets
/// the server close TCP first; a client may wait briefly for that after
/// ``Action/sendCloseAndDisconnect(code:reason:)`` or ``Action/disconnect``.
public struct WebSocketCloseHandshake: Sendable, Hashable {
    /// Where the handshake is.
    public enum State: Sendable, Hashable {
        /// Data may flow both ways.
        case open
        /// We sent a close with this code and wait for the peer's.
        case closing(sent: WebSocketCloseCode?)
        /// Both closes were exchanged (or the connection failed or dropped).
        case closed
    }

    /// What the driver must do.
    public enum Action: Sendable, Hashable {
        /// Nothing.
        case none
        /// Send a close frame with this code and reason, keep reading until the peer's
        /// close arrives (or a timeout passes).
        case sendClose(code: WebSocketCloseCode?, reason: String)
        /// Send a close frame, then close the connection.
        case sendCloseAndDisconnect(code: WebSocketCloseCode?, reason: String)
        /// Close the connection.
        case disconnect
    }

    /// The current state; starts ``State/open``.
    public private(set) var state: State = .open
    /// The code the peer sent (`nil` before its close, or when it sent none), for reporting.
    public private(set) var peerCode: WebSocketCloseCode?

    /// Creates a handshake in the ``State/open`` state.
    public init() {}

    /// `true` while data messages may be sent (state ``State/open``).
    public var canSend: Bool { state == .open }

    /// We want to close: sends a close with `code` once; later calls do nothing.
    /// - Parameters:
    ///   - code: The status to send. Defaults to ``WebSocketCloseCode/normalClosure``.
    ///   - reason: A short UTF-8 reason. Defaults to empty.
    public mutating func close(code: WebSocketCloseCode? = .normalClosure, reason: String = "") -> Action {
        guard state == .open else { return .none }
        state = .closing(sent: code)
        return .sendClose(code: code, reason: reason)
    }

    /// The peer's close frame arrived. When open, answers with a close echoing its code
    /// (an empty close when it sent none) and disconnects; when closing, disconnects.
    public mutating func receivedClose(code: WebSocketCloseCode?) -> Action {
        switch state {
        case .open:
            state = .closed
            peerCode = code
            return .sendCloseAndDisconnect(code: code, reason: "")
        case .closing:
            state = .closed
            peerCode = code
            return .disconnect
        case .closed:
            return .none
        }
    }

    /// The peer broke the protocol: fail the connection (RFC 6455 §7.1.7), sending a
    /// close with the violation's code and message (the encoder cuts it to fit) unless
    /// we already sent one.
    public mutating func fail(_ violation: WebSocketProtocolViolation) -> Action {
        switch state {
        case .open:
            state = .closed
            return .sendCloseAndDisconnect(code: violation.closeCode, reason: violation.message)
        case .closing:
            state = .closed
            return .disconnect
        case .closed:
            return .none
        }
    }

    /// The connection dropped or the close timeout passed: nothing more can be sent.
    public mutating func connectionLost() {
        state = .closed
    }
}
