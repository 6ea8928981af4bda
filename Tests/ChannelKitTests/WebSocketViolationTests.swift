import Foundation
import Testing
@testable import ChannelKit

/// Every rule the decoder and assembler enforce, with the close code each must produce.
@Suite struct WebSocketViolationTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var role: WebSocketRole
        var code: WebSocketCloseCode
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "masked frame from the server", bytes: WS.hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"), role: .client, code: .protocolError),
        Case(name: "unmasked frame from the client", bytes: WS.hex("81 05 48 65 6c 6c 6f"), role: .server, code: .protocolError),
        Case(name: "RSV1 without extension", bytes: WS.hex("c1 01 61"), role: .client, code: .protocolError),
        Case(name: "RSV2 without extension", bytes: WS.hex("a1 01 61"), role: .client, code: .protocolError),
        Case(name: "RSV3 without extension", bytes: WS.hex("91 01 61"), role: .client, code: .protocolError),
        Case(name: "opcode 3", bytes: WS.hex("83 00"), role: .client, code: .protocolError),
        Case(name: "opcode 7", bytes: WS.hex("87 00"), role: .client, code: .protocolError),
        Case(name: "opcode 11", bytes: WS.hex("8b 00"), role: .client, code: .protocolError),
        Case(name: "opcode 15", bytes: WS.hex("8f 00"), role: .client, code: .protocolError),
        Case(name: "fragmented ping", bytes: WS.hex("09 00"), role: .client, code: .protocolError),
        Case(name: "fragmented close", bytes: WS.hex("08 00"), role: .client, code: .protocolError),
        Case(name: "ping with 126-byte payload", bytes: WS.hex("89 7e 00 7e") + [UInt8](repeating: 0, count: 126), role: .client, code: .protocolError),
        Case(name: "close with 126-byte payload", bytes: WS.hex("88 7e 00 7e 03 e8") + [UInt8](repeating: 0x61, count: 124), role: .client, code: .protocolError),
        Case(name: "64-bit length with top bit", bytes: WS.hex("82 7f 80 00 00 00 00 00 00 01"), role: .client, code: .protocolError),
        Case(name: "continuation without a message", bytes: WS.hex("80 01 61"), role: .client, code: .protocolError),
        Case(name: "unfinished continuation without a message", bytes: WS.hex("00 01 61"), role: .client, code: .protocolError),
        Case(name: "text while a text message is open", bytes: WS.hex("01 01 61 81 01 62"), role: .client, code: .protocolError),
        Case(name: "binary while a text message is open", bytes: WS.hex("01 01 61 02 01 62"), role: .client, code: .protocolError),
        Case(name: "close with a 1-byte payload", bytes: WS.hex("88 01 03"), role: .client, code: .protocolError),
        Case(name: "close code 999", bytes: WS.hex("88 02 03 e7"), role: .client, code: .protocolError),
        Case(name: "close code 1004", bytes: WS.hex("88 02 03 ec"), role: .client, code: .protocolError),
        Case(name: "close code 1005", bytes: WS.hex("88 02 03 ed"), role: .client, code: .protocolError),
        Case(name: "close code 1006", bytes: WS.hex("88 02 03 ee"), role: .client, code: .protocolError),
        Case(name: "close code 1015", bytes: WS.hex("88 02 03 f7"), role: .client, code: .protocolError),
        Case(name: "close code 2999", bytes: WS.hex("88 02 0b b7"), role: .client, code: .protocolError),
        Case(name: "close code 5000", bytes: WS.hex("88 02 13 88"), role: .client, code: .protocolError),
        Case(name: "close reason not UTF-8", bytes: WS.hex("88 04 03 e8 c3 28"), role: .client, code: .invalidFramePayloadData),
        Case(name: "text not UTF-8", bytes: WS.hex("81 02 c3 28"), role: .client, code: .invalidFramePayloadData),
        Case(name: "text ends inside a sequence", bytes: WS.hex("81 02 61 e2"), role: .client, code: .invalidFramePayloadData),
        Case(name: "fragmented text ends inside a sequence", bytes: WS.hex("01 01 61 80 02 e2 82"), role: .client, code: .invalidFramePayloadData),
    ]

    @Test(arguments: cases)
    func violationYieldsCloseCode(_ c: Case) {
        let violation = WS.violation(c.bytes, role: c.role)
        #expect(violation?.closeCode == c.code, "\(violation.map(\.message) ?? "no violation")")
        // Fed in one piece, the result is the same.
        #expect(throws: WebSocketProtocolViolation.self) { _ = try WS.events(c.bytes, role: c.role) }
    }

    @Test func validCloseCodesPass() throws {
        for code: UInt16 in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999] {
            let bytes = [0x88, 0x02, UInt8(code >> 8), UInt8(code & 0xFF)]
            #expect(try WS.events(bytes, role: .client) == [.close(code: WebSocketCloseCode(code), reason: "")])
        }
        #expect(try WS.events(WS.hex("88 00"), role: .client) == [.close(code: nil, reason: "")])
    }

    @Test func frameLargerThanMaxIsRejectedAtItsHeader() {
        // Only the header arrives: 1009 comes before any payload byte.
        let header = WS.hex("82 7e 01 00")
        #expect(WS.violation(header, role: .client, maxFrameSize: 255)?.closeCode == .messageTooBig)
        #expect(WS.violation(header, role: .client, maxFrameSize: 256) == nil)
        let huge = WS.hex("82 7f 7f ff ff ff ff ff ff ff")
        #expect(WS.violation(huge, role: .client)?.closeCode == .messageTooBig)
    }

    @Test func messageLargerThanMaxIsRejectedAtTheCrossingFragment() {
        let fragments = WS.frame(.binary, [UInt8](repeating: 1, count: 60), fin: false, to: .client)
            + WS.frame(.continuation, [UInt8](repeating: 2, count: 40), fin: false, to: .client)
        #expect(WS.violation(fragments, role: .client, maxMessageSize: 100) == nil)
        let more = fragments + WS.frame(.continuation, [3], fin: false, to: .client)
        #expect(WS.violation(more, role: .client, maxMessageSize: 100)?.closeCode == .messageTooBig)
        let single = WS.frame(.text, [UInt8](repeating: 0x61, count: 101), to: .client)
        #expect(WS.violation(single, role: .client, maxMessageSize: 100)?.closeCode == .messageTooBig)
    }

    @Test func violationIsStickyAndCloseEndsTheStream() throws {
        var decoder = WebSocketEventDecoder(role: .client)
        decoder.feed(WS.hex("83 00"))
        #expect(throws: WebSocketProtocolViolation.self) { try decoder.nextEvent() }
        decoder.feed(WS.hex("81 01 61"))
        #expect(throws: WebSocketProtocolViolation.self) { try decoder.nextEvent() }

        var closing = WebSocketEventDecoder(role: .client)
        closing.feed(WS.hex("88 02 03 e8 81 01 61"))
        #expect(try closing.nextEvent() == .close(code: .normalClosure, reason: ""))
        #expect(closing.closeReceived)
        #expect(try closing.nextEvent() == nil)
    }

    @Test func violationConvertsToChannelError() {
        let violation = WebSocketProtocolViolation(.invalidFramePayloadData, "text message is not valid UTF-8")
        let error = violation.channelError
        #expect(error.code == .malformedInput)
        #expect(error.platformCode == 1007)
        #expect(error.underlying as? WebSocketProtocolViolation == violation)
    }
}
