/// The QQ gateway rules as a pure state machine: every input is a `mutating` call that
/// returns what the driver must do. No I/O, no clock; tested rule by rule.
///
/// One value lives as long as the account's connection: the ``session`` (id + last
/// committed seq) survives from one socket to the next so a new socket can resume;
/// ``socketOpened()`` resets everything that belongs to one socket.
///
/// Rules:
/// - Hello → identify, or resume when a session is known; start heartbeats at the
///   server's interval.
/// - No Hello within the driver's timeout → reconnect (resume).
/// - READY → a new session at READY's seq; RESUMED → the session continues.
/// - The seq advances only through ``dispatchHandled(seq:)``, called after the event
///   was handed on, so a resume never skips an event that was not delivered.
/// - A heartbeat is due while ``Configuration/maximumMissedAcks`` earlier ones are still
///   unacknowledged → close and reconnect (resume): the socket is half-open.
/// - op 7 → close and reconnect at once, resuming.
/// - op 9 `true` → reconnect and resume; op 9 `false` → forget the session, reconnect
///   after the runtime's backoff and identify (no hot loop). Identify answered with op 9
///   ``Configuration/maximumIdentifyRejections`` times in a row (no READY between) stops
///   the account: the platform refuses this bot's Identify (typically intents it may not
///   use), and retrying forever only burns the identify budget.
/// - Close codes per ``QQBotCloseCode/action(for:)``; fatal codes end the account.
public struct QQBotGatewayStateMachine: Sendable {
    /// Tuning.
    public struct Configuration: Sendable, Hashable {
        /// Heartbeats that may be outstanding when the next one is due before the socket
        /// is considered dead. Default 2.
        public var maximumMissedAcks: Int
        /// How long to wait after close 4008 ("sending too fast"). Default 60 s.
        public var tooFastWait: Duration
        /// Identify attempts answered with op 9 in a row, without a READY between, after
        /// which the account stops. Default 3.
        public var maximumIdentifyRejections: Int
        /// Sockets lost while resuming (before RESUMED) in a row after which the session
        /// is dropped and the next socket identifies. Default 2.
        public var maximumResumeFailures: Int

        /// Creates a configuration; every parameter has the documented default.
        public init(maximumMissedAcks: Int = 2, tooFastWait: Duration = .seconds(60), maximumIdentifyRejections: Int = 3,
                    maximumResumeFailures: Int = 2) {
            self.maximumMissedAcks = maximumMissedAcks
            self.tooFastWait = tooFastWait
            self.maximumIdentifyRejections = maximumIdentifyRejections
            self.maximumResumeFailures = max(1, maximumResumeFailures)
        }
    }

    /// A gateway session that can be resumed.
    public struct Session: Sendable, Hashable {
        /// READY's `session_id`.
        public var id: String
        /// The last seq whose event was handled.
        public var seq: Int

        /// Creates a session.
        public init(id: String, seq: Int) {
            self.id = id
            self.seq = seq
        }
    }

    /// Where the current socket is.
    public enum Phase: Sendable, Hashable {
        /// No socket.
        case idle
        /// Socket open, waiting for Hello.
        case awaitingHello
        /// Identify sent, waiting for READY.
        case identifying
        /// Resume sent, waiting for replayed events and RESUMED.
        case resuming
        /// READY or RESUMED received.
        case ready
        /// The socket is being closed; the run ends with this outcome.
        case closing(Outcome)
    }

    /// How a socket's run ends.
    public enum Outcome: Sendable, Hashable {
        /// Reconnect after `after` (`nil`: the runtime's backoff; `.zero`: at once),
        /// fetching a fresh token first when `refreshToken`.
        case reconnect(after: Duration?, reason: String, refreshToken: Bool)
        /// Stop for good.
        case failed(reason: String)
    }

    /// What the driver must do.
    public enum Action: Sendable, Hashable {
        /// Send Identify with the current token.
        case identify
        /// Send Resume for this session.
        case resume(sessionID: String, seq: Int)
        /// Start sending heartbeats every `interval`.
        case startHeartbeats(every: Duration)
        /// Send a heartbeat carrying `seq`.
        case sendHeartbeat(seq: Int?)
        /// Close the socket; the run ends with the outcome.
        case close(Outcome)
        /// Report the session as established (READY or RESUMED).
        case connected
        /// Nothing.
        case none
    }

    /// The configuration.
    public var configuration: Configuration
    /// The resumable session, if any.
    public private(set) var session: Session?
    /// The phase of the current socket.
    public private(set) var phase: Phase = .idle
    /// Heartbeats sent and not yet acknowledged.
    public private(set) var unackedHeartbeats = 0
    /// Identify attempts answered with op 9 since the last READY.
    public private(set) var identifyRejections = 0
    /// Sockets lost while resuming (before RESUMED) in a row; at
    /// ``Configuration/maximumResumeFailures`` the session is dropped.
    public private(set) var resumeFailures = 0

    /// Creates a machine without a session.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// The seq a heartbeat or resume carries.
    public var lastSeq: Int? { session?.seq }

    /// A new socket is open.
    public mutating func socketOpened() {
        phase = .awaitingHello
        unackedHeartbeats = 0
    }

    /// op 10 Hello with `heartbeat_interval`.
    public mutating func hello(heartbeatInterval: Duration) -> [Action] {
        guard phase == .awaitingHello else { return [] }
        let interval = heartbeatInterval > .zero ? heartbeatInterval : .seconds(45)
        if let session {
            phase = .resuming
            return [.resume(sessionID: session.id, seq: session.seq), .startHeartbeats(every: interval)]
        }
        phase = .identifying
        return [.identify, .startHeartbeats(every: interval)]
    }

    /// The handshake timeout (counted from the socket's opening) passed.
    ///
    /// Without Hello: reconnect. While still resuming (no RESUMED): the session is dropped
    /// and the next socket identifies afresh — a gateway that ignores a Resume it does
    /// not know must not keep the account down. Otherwise the timeout is stale.
    public mutating func helloTimedOut() -> Action {
        switch phase {
        case .awaitingHello:
            return close(.reconnect(after: nil, reason: "no Hello from the gateway", refreshToken: false))
        case .resuming:
            session = nil
            resumeFailures = 0
            return close(.reconnect(after: .zero, reason: "no RESUMED from the gateway in time; identifying afresh", refreshToken: false))
        default:
            return .none
        }
    }

    /// Adopts a session saved by an earlier process, so the next socket resumes it (the
    /// platform then replays what was missed while the process was down). Ignored when a
    /// session is already known. A stale one is harmless: the platform answers op 9 or an
    /// identify-again close, and the machine identifies afresh.
    public mutating func restore(_ saved: Session) {
        guard session == nil, phase == .idle else { return }
        session = saved
    }

    /// READY with its session id and seq.
    public mutating func ready(sessionID: String, seq: Int?) -> Action {
        if case .closing = phase { return .none }
        session = Session(id: sessionID, seq: seq ?? 0)
        phase = .ready
        identifyRejections = 0
        resumeFailures = 0
        return .connected
    }

    /// RESUMED.
    public mutating func resumed() -> Action {
        guard phase == .resuming else { return .none }
        phase = .ready
        resumeFailures = 0
        return .connected
    }

    /// A dispatch with `seq` was handed on (delivered, reported, or rejected as
    /// malformed): the seq a resume starts from moves up to it. Never moves back.
    public mutating func dispatchHandled(seq: Int?) {
        guard let seq, var current = session else { return }
        if seq > current.seq {
            current.seq = seq
            session = current
        }
    }

    /// The heartbeat timer fired.
    public mutating func heartbeatDue() -> Action {
        switch phase {
        case .identifying, .resuming, .ready: break
        default: return .none
        }
        if unackedHeartbeats >= configuration.maximumMissedAcks {
            return close(.reconnect(after: .zero, reason: "\(unackedHeartbeats) heartbeats not acknowledged", refreshToken: false))
        }
        unackedHeartbeats += 1
        return .sendHeartbeat(seq: session?.seq)
    }

    /// op 11.
    public mutating func heartbeatAcked() {
        unackedHeartbeats = 0
    }

    /// op 1 from the server: answer with a heartbeat now.
    public mutating func heartbeatRequested() -> Action {
        if case .closing = phase { return .none }
        return .sendHeartbeat(seq: session?.seq)
    }

    /// op 7: the server wants a new connection; resume on it.
    public mutating func reconnectRequested() -> Action {
        close(.reconnect(after: .zero, reason: "server requested reconnect (op 7)", refreshToken: false))
    }

    /// op 9 with `d` = can-resume.
    public mutating func invalidSession(canResume: Bool) -> Action {
        if phase == .identifying {
            identifyRejections += 1
            if identifyRejections >= configuration.maximumIdentifyRejections {
                session = nil
                return close(.failed(reason: "Identify rejected \(identifyRejections) times in a row (op 9); check the account's intents"))
            }
        }
        if !canResume { session = nil }
        return close(.reconnect(after: nil, reason: "invalid session (op 9, resumable: \(canResume))", refreshToken: false))
    }

    /// The socket closed with `code` (`nil`: dropped without a close frame). Returns how
    /// the run ends; a close the machine asked for keeps its own outcome.
    public mutating func socketClosed(code: Int?, reason: String) -> Outcome {
        defer { unackedHeartbeats = 0 }
        if case .closing(let outcome) = phase {
            phase = .idle
            return outcome
        }
        let wasResuming = phase == .resuming
        phase = .idle
        if wasResuming {
            resumeFailures += 1
            if resumeFailures >= configuration.maximumResumeFailures {
                // The session cannot be resumed on this gateway: identify next time.
                session = nil
                resumeFailures = 0
            }
        }
        let what = code.map { "closed with \($0) (\(QQBotCloseCode.meaning(of: $0)))\(reason.isEmpty ? "" : ": \(reason)")" }
            ?? "connection lost\(reason.isEmpty ? "" : ": \(reason)")"
        switch QQBotCloseCode.action(for: code) {
        case .fatal:
            session = nil
            return .failed(reason: "gateway \(what)")
        case .identify:
            session = nil
            return .reconnect(after: nil, reason: "gateway \(what)", refreshToken: false)
        case .refreshTokenThenIdentify:
            session = nil
            return .reconnect(after: nil, reason: "gateway \(what)", refreshToken: true)
        case .waitThenResume:
            return .reconnect(after: configuration.tooFastWait, reason: "gateway \(what)", refreshToken: false)
        case .resume:
            return .reconnect(after: code == 4009 ? .zero : nil, reason: "gateway \(what)", refreshToken: false)
        }
    }

    /// The socket's run is over (after ``socketClosed(code:reason:)``, after a close the
    /// machine asked for, or cancelled): back to idle, the session as it stands.
    public mutating func abandoned() {
        phase = .idle
        unackedHeartbeats = 0
    }

    private mutating func close(_ outcome: Outcome) -> Action {
        if case .closing = phase { return .none }
        phase = .closing(outcome)
        return .close(outcome)
    }
}
