import Testing
@testable import ChannelKit

@Suite struct RedactorTests {
    static let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1XzEiLCJleHAiOjE3MDAwMDAwMDB9.c2lnbmF0dXJlLWJ5dGVz"

    @Test(arguments: [
        ("Authorization: QQBot aQ4yzKIrzZMggBtOKhPPv73w", "aQ4yzKIrzZMggBtOKhPPv73w"),
        ("Bearer abcdef0123456789", "abcdef0123456789"),
        ("wss://gw.example.com/ws?ticket=T1CKETvalue99&x=1", "T1CKETvalue99"),
        (#"{"access_token":"tok-123456789","expires_in":"7200"}"#, "tok-123456789"),
        (#"{"refresh_token": "ffeeddccbbaa99887766"}"#, "ffeeddccbbaa99887766"),
        ("GET https://api.telegram.org/bot123456:ABCdefGHIjkl/getMe timed out", "123456:ABCdefGHIjkl"),
        ("clientSecret=hunter2hunter2", "hunter2hunter2"),
        ("token \(jwt)", "c2lnbmF0dXJlLWJ5dGVz"),
        ("got \(jwt) back", "eyJzdWIiOiJ1XzEiLCJleHAiOjE3MDAwMDAwMDB9"),
    ])
    func redactsSecretShapes(text: String, secret: String) {
        let out = Redactor.redact(text)
        #expect(!out.contains(secret), "\(out)")
        #expect(out.contains(Redactor.marker))
    }

    @Test func leavesOrdinaryTextAlone() {
        let text = "account qqbot:main connected after 3 attempts (platform code 11255)"
        #expect(Redactor.redact(text) == text)
        #expect(Redactor.redact(#"{"code": 10003, "msg": "invalid refresh"}"#) == #"{"code": 10003, "msg": "invalid refresh"}"#)
    }

    @Test func metadataValuesUnderSensitiveKeysAreDropped() {
        let m = Redactor.redact(["app_secret": "abc", "channel.account": "qqbot:main", "url": "https://x/?token=zzzzzzzz"])
        #expect(m["app_secret"] == Redactor.marker)
        #expect(m["channel.account"] == "qqbot:main")
        #expect(m["url"]?.contains("zzzzzzzz") == false)
    }

    @Test func errorDescriptionsAreRedacted() {
        let error = ChannelError(.platform, "send failed: Authorization QQBot aQ4yzKIrzZMggBtOKhPPv73w",
                                 account: AccountKey(.qqbot, "main"), platformCode: 11255,
                                 platformMessage: #"{"access_token":"leaked-token-value"}"#)
        #expect(!error.description.contains("aQ4yzKIrzZMggBtOKhPPv73w"))
        #expect(!error.description.contains("leaked-token-value"))
        #expect(error.description.contains("11255"))
        #expect(error.description.contains("qqbot:main"))
        #expect(error.code == .platform)
        #expect(error.code.description == "platform")
    }
}
