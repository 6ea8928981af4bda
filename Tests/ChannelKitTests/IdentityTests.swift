import Foundation
import Testing
@testable import ChannelKit

@Suite struct IdentityTests {
    @Test func channelIDsAreLowercasedAndCodable() throws {
        #expect(ChannelID("QQBot") == .qqbot)
        let data = try JSONEncoder().encode(AccountKey(.feishu, "Main"))
        let back = try JSONDecoder().decode(AccountKey.self, from: data)
        #expect(back == AccountKey(.feishu, "Main"))
        #expect(back.account.rawValue == "Main", "account ids keep their case")
        #expect(AccountKey(.qqbot, "a").description == "qqbot:a")
        #expect(CredentialKey(.qqbot, "102863192").description == "qqbot:102863192")
        #expect(CredentialKey(account: AccountKey(.clawchat, "x")) == CredentialKey(.clawchat, "x"))
    }

    @Test func secretRedactsEverywhere() {
        let value = "s3cr3t-VALUE-123456"
        let secret = Secret(value)
        #expect(secret.reveal() == value)
        #expect(!secret.description.contains(value))
        #expect(!secret.debugDescription.contains(value))
        #expect(!"\(secret)".contains(value))
        #expect(!String(describing: secret).contains(value))
        #expect(!String(reflecting: secret).contains(value))
        var dumped = ""
        dump(secret, to: &dumped)
        #expect(!dumped.contains(value))
        #expect(Mirror(reflecting: secret).children.isEmpty)

        struct Holder { let name = "x"; let token: Secret }
        var dumpedHolder = ""
        dump(Holder(token: secret), to: &dumpedHolder)
        #expect(!dumpedHolder.contains(value))
        #expect(!String(describing: Holder(token: secret)).contains(value))
    }

    @Test func secretEncodesItsValueForStores() throws {
        let data = try JSONEncoder().encode(["t": Secret("abc")])
        #expect(String(decoding: data, as: UTF8.self) == #"{"t":"abc"}"#)
        let back = try JSONDecoder().decode([String: Secret].self, from: data)
        #expect(back["t"]?.reveal() == "abc")
    }
}
