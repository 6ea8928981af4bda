#!/usr/bin/env python3
"""The official Feishu/Lark SDK (lark-oapi) as an independent client of ChannelKit's
Feishu simulator.

    python3 lark_oapi_client.py <base-url> <app-id> <app-secret>

Everything is the SDK's own code, pointed at the simulator with its `domain` option:
endpoint discovery (POST /callback/ws/endpoint), the pbbp2 WebSocket client (ping,
pong config, data frames, fragment reassembly, the ack frame), event parsing through
EventDispatcherHandler into P2ImMessageReceiveV1, and a reply through its REST client
(tenant token, POST /open-apis/im/v1/messages?receive_id_type=chat_id).

Prints one line per step for the Swift test: `starting`, `message <message_id> <chat_id>
<text>`, `sent <code> <message_id or msg>`. Exits when stdin closes.
"""
import json
import os
import sys
import tempfile
import threading

# Keep anything the SDK writes out of the source tree.
os.chdir(tempfile.mkdtemp(prefix="lark-oapi-"))

import lark_oapi as lark
from lark_oapi.api.im.v1 import CreateMessageRequest, CreateMessageRequestBody, P2ImMessageReceiveV1


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> int:
    base, app_id, app_secret = sys.argv[1:4]
    rest = lark.Client.builder().app_id(app_id).app_secret(app_secret).domain(base).log_level(lark.LogLevel.ERROR).build()

    def on_message(data: P2ImMessageReceiveV1) -> None:
        message = data.event.message
        text = json.loads(message.content).get("text", "")
        say(f"message {message.message_id} {message.chat_id} {text}")
        body = CreateMessageRequestBody.builder().receive_id(message.chat_id).msg_type("text") \
            .content(json.dumps({"text": "pong: " + text})).uuid("sdk-" + message.message_id).build()
        request = CreateMessageRequest.builder().receive_id_type("chat_id").request_body(body).build()
        response = rest.im.v1.message.create(request)
        say(f"sent {response.code} {response.data.message_id if response.success() else response.msg}")

    handler = lark.EventDispatcherHandler.builder("", "").register_p2_im_message_receive_v1(on_message).build()
    client = lark.ws.Client(app_id, app_secret, event_handler=handler, domain=base, log_level=lark.LogLevel.ERROR)

    def watch_stdin() -> None:
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    say("starting")
    client.start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
