import Testing
@testable import ChannelKitQQBot

/// One test per gateway rule of ``QQBotGatewayStateMachine``.
@Suite struct QQBotGatewayStateMachineTests {
    typealias Machine = QQBotGatewayStateMachine

    /// A machine that went through Hello + READY (session "s1" at seq `seq`).
    static func ready(seq: Int = 1) -> Machine {
        var m = Machine()
        m.socketOpened()
        _ = m.hello(heartbeatInterval: .seconds(45))
        _ = m.ready(sessionID: "s1", seq: seq)
        return m
    }

    @Test func helloWithoutSessionIdentifiesAndStartsHeartbeats() {
        var m = Machine()
        m.socketOpened()
        #expect(m.hello(heartbeatInterval: .milliseconds(41_250)) == [.identify, .startHeartbeats(every: .milliseconds(41_250))])
        #expect(m.phase == .identifying)
    }

    @Test func helloWithSessionResumesFromLastHandledSeq() {
        var m = Self.ready(seq: 1)
        m.dispatchHandled(seq: 7)
        _ = m.socketClosed(code: 4009, reason: "")
        m.socketOpened()
        #expect(m.hello(heartbeatInterval: .seconds(30)) == [.resume(sessionID: "s1", seq: 7), .startHeartbeats(every: .seconds(30))])
        #expect(m.phase == .resuming)
    }

    @Test func helloTwiceOnOneSocketIsIgnored() {
        var m = Machine()
        m.socketOpened()
        _ = m.hello(heartbeatInterval: .seconds(30))
        #expect(m.hello(heartbeatInterval: .seconds(30)) == [])
    }

    @Test func noHelloInTimeReconnects() {
        var m = Machine()
        m.socketOpened()
        #expect(m.helloTimedOut() == .close(.reconnect(after: nil, reason: "no Hello from the gateway", refreshToken: false)))
        var late = Machine()
        late.socketOpened()
        _ = late.hello(heartbeatInterval: .seconds(30))
        #expect(late.helloTimedOut() == .none, "a timeout after Hello is stale")
    }

    @Test func resumeWithoutRESUMEDInTimeDropsTheSession() {
        var m = Machine()
        m.restore(.init(id: "s-old", seq: 41))
        m.socketOpened()
        #expect(m.hello(heartbeatInterval: .seconds(30)).first == .resume(sessionID: "s-old", seq: 41))
        #expect(m.helloTimedOut() == .close(.reconnect(after: .zero, reason: "no RESUMED from the gateway in time; identifying afresh", refreshToken: false)))
        _ = m.socketClosed(code: nil, reason: "")
        m.socketOpened()
        #expect(m.hello(heartbeatInterval: .seconds(30)).first == .identify)
    }

    @Test func socketsLostWhileResumingTwiceInARowDropTheSession() {
        var m = Machine()
        m.restore(.init(id: "s1", seq: 7))
        for attempt in 1...2 {
            m.socketOpened()
            #expect(m.hello(heartbeatInterval: .seconds(30)).first == .resume(sessionID: "s1", seq: 7), "attempt \(attempt)")
            _ = m.socketClosed(code: nil, reason: "dropped")
        }
        m.socketOpened()
        #expect(m.hello(heartbeatInterval: .seconds(30)).first == .identify)
    }

    @Test func aSuccessfulResumeResetsTheResumeFailureCount() {
        var m = Machine()
        m.restore(.init(id: "s1", seq: 7))
        m.socketOpened()
        _ = m.hello(heartbeatInterval: .seconds(30))
        _ = m.socketClosed(code: nil, reason: "dropped")
        m.socketOpened()
        _ = m.hello(heartbeatInterval: .seconds(30))
        #expect(m.resumed() == .connected)
        #expect(m.resumeFailures == 0)
        _ = m.socketClosed(code: 4009, reason: "")
        m.socketOpened()
        #expect(m.hello(heartbeatInterval: .seconds(30)).first == .resume(sessionID: "s1", seq: 7))
    }

    @Test func restoreNeverReplacesALiveSession() {
        var m = Machine()
        m.socketOpened()
        _ = m.hello(heartbeatInterval: .seconds(30))
        _ = m.ready(sessionID: "live", seq: 3)
        m.restore(.init(id: "saved", seq: 99))
        #expect(m.session == .init(id: "live", seq: 3))
    }

    @Test func readyStartsSessionAtReadySeqAndReportsConnected() {
        var m = Machine()
        m.socketOpened()
        _ = m.hello(heartbeatInterval: .seconds(30))
        #expect(m.ready(sessionID: "abc", seq: 1) == .connected)
        #expect(m.session == .init(id: "abc", seq: 1))
        #expect(m.phase == .ready)
    }

    @Test func resumedReportsConnectedOnlyWhileResuming() {
        var m = Self.ready()
        #expect(m.resumed() == .none, "RESUMED without a Resume is ignored")
        _ = m.socketClosed(code: nil, reason: "")
        m.socketOpened()
        _ = m.hello(heartbeatInterval: .seconds(30))
        #expect(m.resumed() == .connected)
    }

    @Test func seqAdvancesOnlyThroughHandledDispatchesAndNeverBack() {
        var m = Self.ready(seq: 1)
        m.dispatchHandled(seq: 5)
        m.dispatchHandled(seq: 3)
        m.dispatchHandled(seq: nil)
        #expect(m.lastSeq == 5)
    }

    @Test func heartbeatCarriesLastHandledSeq() {
        var m = Self.ready(seq: 1)
        m.dispatchHandled(seq: 4)
        #expect(m.heartbeatDue() == .sendHeartbeat(seq: 4))
        var fresh = Machine()
        fresh.socketOpened()
        _ = fresh.hello(heartbeatInterval: .seconds(30))
        #expect(fresh.heartbeatDue() == .sendHeartbeat(seq: nil), "before READY the heartbeat carries null")
    }

    @Test func missedAcksCloseTheSocketAndResume() {
        var m = Self.ready()
        #expect(m.heartbeatDue() == .sendHeartbeat(seq: 1))
        #expect(m.heartbeatDue() == .sendHeartbeat(seq: 1))
        let action = m.heartbeatDue()
        #expect(action == .close(.reconnect(after: .zero, reason: "2 heartbeats not acknowledged", refreshToken: false)))
        #expect(m.session != nil, "a half-open socket keeps the session for resuming")
        #expect(m.socketClosed(code: 1006, reason: "") == .reconnect(after: .zero, reason: "2 heartbeats not acknowledged", refreshToken: false),
                "the close the machine asked for keeps its outcome")
    }

    @Test func ackResetsMissedCount() {
        var m = Self.ready()
        _ = m.heartbeatDue()
        _ = m.heartbeatDue()
        m.heartbeatAcked()
        #expect(m.heartbeatDue() == .sendHeartbeat(seq: 1))
        #expect(m.unackedHeartbeats == 1)
    }

    @Test func serverHeartbeatRequestIsAnswered() {
        var m = Self.ready(seq: 3)
        #expect(m.heartbeatRequested() == .sendHeartbeat(seq: 3))
    }

    @Test func op7ReconnectsAtOnceKeepingTheSession() {
        var m = Self.ready()
        #expect(m.reconnectRequested() == .close(.reconnect(after: .zero, reason: "server requested reconnect (op 7)", refreshToken: false)))
        #expect(m.session?.id == "s1")
        #expect(m.reconnectRequested() == .none, "one close per socket")
    }

    @Test func op9ResumableKeepsTheSession() {
        var m = Self.ready()
        _ = m.invalidSession(canResume: true)
        #expect(m.session?.id == "s1")
    }

    @Test func op9NotResumableForgetsTheSessionAndBacksOff() {
        var m = Self.ready()
        let action = m.invalidSession(canResume: false)
        #expect(action == .close(.reconnect(after: nil, reason: "invalid session (op 9, resumable: false)", refreshToken: false)),
                "no immediate re-identify loop")
        #expect(m.session == nil)
    }

    @Test func repeatedIdentifyRejectionsStopTheAccount() {
        var m = Machine()
        for attempt in 1...3 {
            m.socketOpened()
            _ = m.hello(heartbeatInterval: .seconds(30))
            let action = m.invalidSession(canResume: false)
            if attempt < 3 {
                #expect(action == .close(.reconnect(after: nil, reason: "invalid session (op 9, resumable: false)", refreshToken: false)))
            } else {
                guard case .close(.failed(let reason)) = action else { Issue.record("third rejection must stop: \(action)"); return }
                #expect(reason.contains("intents"))
            }
            _ = m.socketClosed(code: nil, reason: "")
        }
    }

    @Test func readyResetsIdentifyRejections() {
        var m = Machine()
        m.socketOpened()
        _ = m.hello(heartbeatInterval: .seconds(30))
        _ = m.invalidSession(canResume: false)
        _ = m.socketClosed(code: nil, reason: "")
        m.socketOpened()
        _ = m.hello(heartbeatInterval: .seconds(30))
        _ = m.ready(sessionID: "s", seq: 1)
        #expect(m.identifyRejections == 0)
        _ = m.invalidSession(canResume: false)
        #expect(m.identifyRejections == 0, "an op 9 on a ready session is not an Identify rejection")
    }

    @Test func close4009ResumesImmediately() {
        var m = Self.ready()
        let outcome = m.socketClosed(code: 4009, reason: "")
        #expect(outcome == .reconnect(after: .zero, reason: "gateway closed with 4009 (connection expired)", refreshToken: false))
        #expect(m.session?.id == "s1")
    }

    @Test func close4008WaitsThenResumes() {
        var m = Self.ready()
        guard case .reconnect(let after, _, false) = m.socketClosed(code: 4008, reason: "") else {
            Issue.record("4008 must reconnect")
            return
        }
        #expect(after == .seconds(60))
        #expect(m.session != nil)
    }

    @Test func close4004RefreshesTheTokenAndIdentifies() {
        var m = Self.ready()
        guard case .reconnect(_, _, let refresh) = m.socketClosed(code: 4004, reason: "") else {
            Issue.record("4004 must reconnect")
            return
        }
        #expect(refresh)
        #expect(m.session == nil)
    }

    @Test(arguments: [4003, 4005, 4006, 4007, 4900, 4902, 4913])
    func identifyAgainCodesForgetTheSession(code: Int) {
        var m = Self.ready()
        guard case .reconnect(let after, _, false) = m.socketClosed(code: code, reason: "") else {
            Issue.record("\(code) must reconnect")
            return
        }
        #expect(after == nil)
        #expect(m.session == nil)
    }

    @Test(arguments: [4001, 4002, 4010, 4011, 4012, 4013, 4014, 4914, 4915])
    func fatalCodesStopForGood(code: Int) {
        var m = Self.ready()
        guard case .failed(let reason) = m.socketClosed(code: code, reason: "bye") else {
            Issue.record("\(code) must be fatal")
            return
        }
        #expect(reason.contains(String(code)))
    }

    @Test(arguments: [nil, 1000, 1001, 1006, 4000] as [Int?])
    func dropsAndOtherCodesResumeAfterBackoff(code: Int?) {
        var m = Self.ready()
        guard case .reconnect(let after, _, false) = m.socketClosed(code: code, reason: "") else {
            Issue.record("must reconnect")
            return
        }
        #expect(after == nil)
        #expect(m.session?.id == "s1")
    }

    @Test func abandonedRunKeepsTheSession() {
        var m = Self.ready()
        m.abandoned()
        #expect(m.phase == .idle)
        #expect(m.session?.id == "s1")
    }

    @Test func closeTableMatchesTheDocumentedActions() {
        #expect(QQBotCloseCode.action(for: 4009) == .resume)
        #expect(QQBotCloseCode.action(for: 4008) == .waitThenResume)
        #expect(QQBotCloseCode.action(for: 4004) == .refreshTokenThenIdentify)
        #expect(QQBotCloseCode.action(for: 4903) == .identify)
        #expect(QQBotCloseCode.action(for: 4915) == .fatal)
        #expect(QQBotCloseCode.action(for: nil) == .resume)
    }
}
