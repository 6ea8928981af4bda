import Foundation

/// Gateway frames as the platform sends them (shapes from the protocol notes and the
/// decode benchmark).
enum QQBotFixtures {
    static let c2c = #"{"op":0,"s":2,"t":"C2C_MESSAGE_CREATE","id":"C2C_MESSAGE_CREATE:abc","d":{"author":{"id":"E4F4AEA33253A2797FB897C50B81D7E1","user_openid":"E4F4AEA33253A2797FB897C50B81D7E1","union_openid":"U1"},"content":" hello there ","id":"ROBOT1.0_c2c0001","timestamp":"2026-11-23T10:00:00+08:00","attachments":[{"content_type":"image/png","filename":"a.png","height":10,"width":10,"size":100,"url":"//multimedia.nt.qq.com/x"}],"message_scene":{"source":"default","ext":["ref_msg_idx=REFIDX_1","msg_idx=2"]},"message_type":0}}"#
    static let group = #"{"op":0,"s":3,"t":"GROUP_AT_MESSAGE_CREATE","id":"G:1","d":{"author":{"id":"M0001","member_openid":"M0001"},"content":" <@!bot> group hello","group_id":"G0001","group_openid":"G0001","id":"ROBOT1.0_grp0001","timestamp":"2026-11-23T10:00:00+08:00","mentions":[{"scope":"single","member_openid":"B","is_you":true,"bot":true}]}}"#
    static let guild = #"{"op":0,"s":4,"t":"AT_MESSAGE_CREATE","id":"AT:1","d":{"author":{"avatar":"","bot":false,"id":"1234","username":"小明"},"channel_id":"ch1","content":"<@!bot> 你好 \u4e16\u754c \ud83d\ude00","guild_id":"g1","id":"08a1b2","member":{"roles":["1"]},"mentions":[{"id":"bot","bot":true}],"seq":7,"timestamp":"2026-11-23T02:00:00.250Z"}}"#
    static let dm = #"{"op":0,"s":5,"t":"DIRECT_MESSAGE_CREATE","d":{"author":{"id":"1234","username":"u"},"channel_id":"dmch","guild_id":"dmguild1","src_guild_id":"g1","content":"private \"quoted\"\n","id":"dm0001","timestamp":"2026-11-23T10:00:00+08:00","message_reference":{"message_id":"prev01"}}}"#
    static let tFirstDLast = #"{"d":{"author":{"user_openid":"U2"},"content":"late t","id":"m2"},"t":"C2C_MESSAGE_CREATE","s":9,"op":0}"#
    static let hello = #"{"op":10,"d":{"heartbeat_interval":45000}}"#
    static let ready = #"{"op":0,"s":1,"t":"READY","d":{"version":1,"session_id":"082ee18c-0be3-491b-9d8b-fbd95c51673a","user":{"id":"6158788878435714165","username":"bot","bot":true},"shard":[0,1]}}"#
    static let resumed = #"{"op":0,"s":12,"t":"RESUMED","d":""}"#
    static let groupAdd = #"{"op":0,"s":6,"t":"GROUP_ADD_ROBOT","id":"GA:1","d":{"timestamp":1700000000,"group_openid":"G0001","op_member_openid":"M0001"}}"#
    static let unknown = #"{"op":0,"s":8,"t":"SOMETHING_NEW","d":{"x":[1,2,{"y":null}]}}"#
    static let invalidSession = #"{"op":9,"d":false}"#
    static let reconnect = #"{"op":7}"#
    static let ack = #"{"op":11}"#

    static let all = [c2c, group, guild, dm, tFirstDLast, hello, ready, resumed, groupAdd, unknown, invalidSession, reconnect, ack]

    /// The two frame shapes of `../shared/bench/decode_peers.py`.
    static func benchFrame(_ i: Int) -> String {
        if i % 2 == 0 {
            let attachments = i % 10 == 0
                ? #"[{"content_type": "image/png", "filename": "a.png", "height": 10, "width": 10, "size": 100, "url": "//multimedia.nt.qq.com/x"}]"#
                : "[]"
            let openid = "E4F4AEA33253A2797FB897C50B81D7E" + String(format: "%02d", i % 97)
            return #"{"op": 0, "s": \#(i + 1), "t": "C2C_MESSAGE_CREATE", "id": "C2C:\#(i)", "d": {"author": {"user_openid": "\#(openid)"}, "content": " hello number \#(i) from a user", "id": "ROBOT1.0_abc\#(String(format: "%08d", i))", "timestamp": "2026-11-23T10:00:00+08:00", "attachments": \#(attachments)}}"#
        }
        let member = "M" + String(format: "%031d", i % 89)
        let group = "G" + String(format: "%031d", i % 13)
        return #"{"op": 0, "s": \#(i + 1), "t": "GROUP_AT_MESSAGE_CREATE", "id": "G:\#(i)", "d": {"author": {"member_openid": "\#(member)"}, "content": " <@!bot> group hello \#(i)", "group_openid": "\#(group)", "id": "ROBOT1.0_grp\#(String(format: "%08d", i))", "timestamp": "2026-11-23T10:00:00+08:00"}}"#
    }
}
