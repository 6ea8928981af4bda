#!/usr/bin/env python3
"""An independent protobuf peer for the OpenIM messages: the generated `sdkws` / `msg`
descriptors of the PyPI package `openim-sdk-core` on Google's protobuf runtime (upb).

    openim_upb_peer.py encode          -> one line per message kind: "<kind> <base64>"
    openim_upb_peer.py decode KIND B64 [KIND B64 …] -> each message as canonical JSON, one line each (field names as in the .proto)
"""
import base64
import json
import sys

from google.protobuf import json_format
from openim_sdk.proto.sdkws import sdkws_pb2 as pb
from openim_sdk.proto.msg import msg_pb2 as msgpb


def msg_data():
    m = pb.MsgData(sendID="a", recvID="b", groupID="g", clientMsgID="c", serverMsgID="s", senderPlatformID=5,
                   senderNickname="n", senderFaceURL="f", sessionType=3, msgFrom=100, contentType=101,
                   content=b'{"content":"hi \xe2\x98\xba"}', seq=300, sendTime=1763800000000, createTime=1763800000001,
                   status=2, isRead=True, attachedInfo="x", ex="e")
    m.options["history"] = False
    m.options["unreadCount"] = True
    m.offlinePushInfo.title = "t"
    m.offlinePushInfo.iOSBadgeCount = True
    m.atUserIDList.extend(["u1", "AtAllTag"])
    return m


def messages():
    push = pb.PushMessages()
    push.msgs["sg_g"].Msgs.append(msg_data())
    push.msgs["sg_g"].isEnd = True
    push.msgs["sg_g"].endSeq = 300
    push.notificationMsgs["n_x"].Msgs.add().seq = 9
    resp = pb.GetMaxSeqResp()
    resp.maxSeqs["si_a_b"] = 12
    resp.maxSeqs["sg_g"] = 0
    resp.minSeqs["si_a_b"] = 1
    req = pb.PullMessageBySeqsReq(userID="u", order=pb.PullOrderDesc)
    req.seqRanges.add(conversationID="c", begin=1, end=100, num=100)
    send = msgpb.SendMsgResp(serverMsgID="s", clientMsgID="c", sendTime=7)
    send.modify.seq = 2
    return {"msgdata": msg_data(), "push": push, "maxseq": resp, "pullreq": req, "sendresp": send,
            "getmaxseqreq": pb.GetMaxSeqReq(userID="u")}


KINDS = {"msgdata": pb.MsgData, "push": pb.PushMessages, "maxseq": pb.GetMaxSeqResp, "pullreq": pb.PullMessageBySeqsReq,
         "sendresp": msgpb.SendMsgResp, "getmaxseqreq": pb.GetMaxSeqReq}


def main():
    if sys.argv[1] == "encode":
        for kind, message in messages().items():
            print(kind, base64.b64encode(message.SerializeToString(deterministic=True)).decode())
    else:
        pairs = sys.argv[2:]
        for kind, data in zip(pairs[0::2], pairs[1::2]):
            message = KINDS[kind]()
            message.ParseFromString(base64.b64decode(data))
            print(json.dumps(json_format.MessageToDict(message, preserving_proto_field_name=True), sort_keys=True))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
