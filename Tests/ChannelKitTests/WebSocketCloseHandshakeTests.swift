import Testing
@testable import ChannelKit

@Suite struct WebSocketCloseHandshakeTests {
    @Test func weCloseFirst() {
        var close = WebSocketCloseHandshake()
        #expect(close.canSend)
        #expect(close.close(code: .goingAway, reason: "shutdown") == .sendClose(code: .goingAway, reason: "shutdown"))
        #expect(close.state == .closing(sent: .goingAway))
        #expect(!close.canSend)
        #expect(close.close() == .none, "a second close sends nothing")
        #expect(close.receivedClose(code: .goingAway) == .disconnect)
        #expect(close.state == .closed)
        #expect(close.peerCode == .goingAway)
        #expect(close.receivedClose(code: .normalClosure) == .none)
    }

    @Test func peerClosesFirstAndWeEchoItsCode() {
        var close = WebSocketCloseHandshake()
        #expect(close.receivedClose(code: WebSocketCloseCode(4009)) == .sendCloseAndDisconnect(code: WebSocketCloseCode(4009), reason: ""))
        #expect(close.state == .closed)
        #expect(close.close() == .none)
        var empty = WebSocketCloseHandshake()
        #expect(empty.receivedClose(code: nil) == .sendCloseAndDisconnect(code: nil, reason: ""))
    }

    @Test func violationFailsTheConnection() {
        let violation = WebSocketProtocolViolation(.protocolError, "reserved opcode 0x3")
        var open = WebSocketCloseHandshake()
        #expect(open.fail(violation) == .sendCloseAndDisconnect(code: .protocolError, reason: "reserved opcode 0x3"))
        #expect(open.fail(violation) == .none)
        var closing = WebSocketCloseHandshake()
        _ = closing.close()
        #expect(closing.fail(violation) == .disconnect)
    }

    @Test func connectionLostEndsEverything() {
        var close = WebSocketCloseHandshake()
        close.connectionLost()
        #expect(close.state == .closed)
        #expect(close.close() == .none)
        #expect(close.receivedClose(code: .normalClosure) == .none)
    }
}
