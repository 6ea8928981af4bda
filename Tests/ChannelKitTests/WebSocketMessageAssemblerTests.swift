import Foundation
import Testing
@testable import ChannelKit

@Suite struct WebSocketMessageAssemblerTests {
    /// Text split into fragments at every byte position, including inside code points.
    @Test func utf8SplitAcrossFragmentsAtEveryPosition() throws {
        let text = "aé€𝄞z"
        let utf8 = Array(text.utf8)
        for cut in 0...utf8.count {
            let bytes = WS.frame(.text, Array(utf8[..<cut]), fin: false, to: .client)
                + WS.frame(.continuation, Array(utf8[cut...]), to: .client)
            #expect(try WS.events(bytes, role: .client) == [.message(.text(text))])
        }
        // One byte per fragment.
        var bytes = WS.frame(.text, [utf8[0]], fin: false, to: .server)
        for (i, b) in utf8.enumerated().dropFirst() {
            bytes += WS.frame(.continuation, [b], fin: i == utf8.count - 1, to: .server)
        }
        #expect(try WS.events(bytes, role: .server) == [.message(.text(text))])
    }

    static let invalidUTF8: [[UInt8]] = [
        [0xC0, 0xAF],                   // overlong '/'
        [0xE0, 0x80, 0xAF],             // overlong
        [0xF0, 0x80, 0x80, 0xAF],       // overlong
        [0xC1, 0xBF],                   // overlong
        [0xED, 0xA0, 0x80],             // U+D800 (surrogate)
        [0xED, 0xBF, 0xBF],             // U+DFFF (surrogate)
        [0xF4, 0x90, 0x80, 0x80],       // U+110000
        [0xF5, 0x80, 0x80, 0x80],       // lead byte beyond U+10FFFF
        [0xFF],
        [0x80],                         // stray continuation
        [0xE2, 0x82],                   // truncated at end of message
        [0xF0, 0x9D, 0x84],             // truncated at end of message
        [0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, 0xED, 0xA0, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64],
    ]

    @Test(arguments: invalidUTF8)
    func invalidUTF8IsRejectedWhole(_ bytes: [UInt8]) {
        #expect(WS.violation(WS.frame(.text, bytes, to: .client), role: .client)?.closeCode == .invalidFramePayloadData)
    }

    @Test(arguments: invalidUTF8)
    func invalidUTF8IsRejectedInFragments(_ bytes: [UInt8]) {
        for cut in 0...bytes.count {
            let frames = WS.frame(.text, Array(bytes[..<cut]), fin: false, to: .client)
                + WS.frame(.continuation, Array(bytes[cut...]), to: .client)
            #expect(WS.violation(frames, role: .client)?.closeCode == .invalidFramePayloadData)
        }
    }

    @Test func invalidUTF8FailsFastBeforeTheLastFragment() {
        // The bad byte is in the first fragment; no FIN ever arrives.
        let frames = WS.frame(.text, [0x61, 0xFF], fin: false, to: .client)
        #expect(WS.violation(frames, role: .client)?.closeCode == .invalidFramePayloadData)
    }

    @Test(arguments: ["", "a", "héllo wörld", "日本語", "𝄞𝄞", "\u{10FFFF}", "\u{D7FF}\u{E000}", String(repeating: "abcdefgh", count: 9) + "é"])
    func validUTF8IsAccepted(_ text: String) throws {
        #expect(try WS.events(WS.frame(.text, Array(text.utf8), to: .client), role: .client) == [.message(.text(text))])
        var validator = UTF8Validator()
        let ok = Array(text.utf8).withUnsafeBytes { validator.validate($0) }
        #expect(ok && validator.isComplete)
    }

    @Test func validatorAgreesWithTheStandardLibraryOnRandomBytes() {
        var rng = SeededRandomNumberGenerator(seed: 77)
        for _ in 0..<5000 {
            let count = Int.random(in: 0...12, using: &rng)
            // Bias towards interesting bytes.
            let pool: [UInt8] = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
            let bytes = (0..<count).map { _ in pool[Int.random(in: 0..<pool.count, using: &rng)] }
            let ours = bytes.withUnsafeBytes { UTF8Validator.isValid($0) }
            #expect(ours == (String(validating: bytes, as: UTF8.self) != nil), "\(bytes)")
        }
    }

    @Test func controlFramesInterleaveWithFragments() throws {
        let bytes = WS.frame(.binary, [1, 2], fin: false, to: .client)
            + WS.frame(.ping, [9], to: .client)
            + WS.frame(.continuation, [3], fin: false, to: .client)
            + WS.frame(.pong, [], to: .client)
            + WS.frame(.continuation, [4], to: .client)
            + WS.frame(.close, WS.closePayload(1000, Array("done".utf8)), to: .client)
        #expect(try WS.events(bytes, role: .client) == [
            .ping(Data([9])), .pong(Data()), .message(.binary(Data([1, 2, 3, 4]))), .close(code: .normalClosure, reason: "done"),
        ])
    }

    @Test func assemblerWorksOnFramesAndResetsBetweenMessages() throws {
        var assembler = WebSocketMessageAssembler()
        #expect(try assembler.process(WebSocketFrame(fin: false, opcode: .text, payload: [0x61])) == nil)
        #expect(assembler.isAssembling)
        #expect(try assembler.process(WebSocketFrame(opcode: .continuation, payload: [0x62])) == .message(.text("ab")))
        #expect(!assembler.isAssembling)
        #expect(try assembler.process(WebSocketFrame(fin: false, opcode: .binary, payload: [1])) == nil)
        #expect(try assembler.process(WebSocketFrame(opcode: .continuation, payload: [])) == .message(.binary(Data([1]))))
        #expect(try assembler.process(WebSocketFrame(opcode: .text, payload: [])) == .message(.text("")))
        #expect(throws: WebSocketProtocolViolation.self) { try assembler.process(WebSocketFrame(opcode: .continuation, payload: [])) }
    }

    @Test func emptyFragmentsAreFine() throws {
        let bytes = WS.frame(.text, [], fin: false, to: .client)
            + WS.frame(.continuation, [], fin: false, to: .client)
            + WS.frame(.continuation, [], to: .client)
        #expect(try WS.events(bytes, role: .client) == [.message(.text(""))])
    }
}
