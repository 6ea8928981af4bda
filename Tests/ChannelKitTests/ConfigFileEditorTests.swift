import ChannelKit
import Foundation
import Testing

/// The in-place string edit `channelkit run` uses to write a refreshed token back into
/// its config file: only the value's bytes change.
@Suite struct ConfigFileEditorTests {
    let file = """
    {
      // not JSON comments: none here
      "channels": {
        "openim": {
          "tokenRefresh": {"mode": "http", "http": {"endpoint": "https://a/{accountId}"}},
          "accounts": {
            "primary": { "token": "old-jwt",   "wsAddr": "ws://a:10001" },
            "team-b":  { "token": "keep-me", "apiAddr": "http://b:10002" }
          }
        }
      }
    }
    """.replacingOccurrences(of: "  // not JSON comments: none here\n", with: "")

    @Test func replacesOnlyTheValueBytes() throws {
        let edited = try ConfigFileEditor.replacingString(at: ["channels", "openim", "accounts", "primary", "token"], with: "new\"jwt\u{1}", in: Data(file.utf8))
        let text = String(decoding: edited, as: UTF8.self)
        #expect(text == file.replacingOccurrences(of: #""token": "old-jwt""#, with: #""token": "new\"jwt\u0001""#))
        let parsed = try JSONDecoder().decode(JSONValue.self, from: edited)
        #expect(parsed.value(atDotPath: "channels.openim.accounts.primary.token") == .string("new\"jwt\u{1}"))
        #expect(parsed.value(atDotPath: "channels.openim.accounts.team-b.token") == .string("keep-me"))
    }

    @Test func missingPathsAndWrongTypesAreErrors() {
        let data = Data(file.utf8)
        #expect(throws: ConfigFileEditor.Failure.self) { try ConfigFileEditor.replacingString(at: ["channels", "openim", "accounts", "nobody", "token"], with: "x", in: data) }
        #expect(throws: ConfigFileEditor.Failure.self) { try ConfigFileEditor.replacingString(at: ["channels", "openim", "accounts"], with: "x", in: data) }
        #expect(throws: ConfigFileEditor.Failure.self) { try ConfigFileEditor.replacingString(at: ["a"], with: "x", in: Data("{\"a\": ".utf8)) }
    }

    @Test func escapedNamesMatch() throws {
        let edited = try ConfigFileEditor.replacingString(at: ["t\u{e9}st"], with: "v2", in: Data(#"{"t\u00e9st": "v1", "other": 1}"#.utf8))
        #expect(String(decoding: edited, as: UTF8.self) == #"{"t\u00e9st": "v2", "other": 1}"#)
    }
}
