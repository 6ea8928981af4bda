#!/usr/bin/env python3
"""The official QQ SDK (qq-botpy) as an independent client of ChannelKit's QQ simulator.

    python3 qq_botpy_client.py <api-base-url> <token-url> <appid> <secret>

botpy's hosts are module constants, pointed here at the simulator: the REST domain and
scheme of `botpy.http.Route`, and the token URL inside `Token.update_access_token`
(copied from botpy 1.2 with only the URL changed). Everything else is botpy's own code:
login (GET /users/@me), GET /gateway/bot, the WebSocket session (Hello, Identify, READY,
heartbeats), event parsing into C2CMessage, and the passive reply.

Prints one line per step for the Swift test: `ready <name>`, `message <id> <content>`,
`replied <id>`, then exits 0. Exits when stdin closes.
"""
import asyncio
import os
import sys
import tempfile
import time
from urllib.parse import urlparse

# botpy writes botpy.log into the working directory when it is imported: keep it out of
# the source tree.
os.chdir(tempfile.mkdtemp(prefix="qq-botpy-"))

import aiohttp
import botpy
from botpy import http as botpy_http
from botpy import robot as botpy_robot


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> int:
    api_base, token_url, appid, secret = sys.argv[1:5]
    parsed = urlparse(api_base)
    botpy_http.Route.DOMAIN = parsed.netloc
    botpy_http.Route.SCHEME = parsed.scheme

    async def update_access_token(self):
        async with aiohttp.ClientSession() as session:
            async with session.post(url=token_url, timeout=aiohttp.ClientTimeout(total=20),
                                    json={"appId": self.app_id, "clientSecret": self.secret}) as response:
                data = await response.json()
        if "access_token" not in data or "expires_in" not in data:
            raise RuntimeError(str(data))
        self.access_token = data["access_token"]
        self.expires_in = int(data["expires_in"]) + int(time.time())

    botpy_robot.Token.update_access_token = update_access_token

    class Client(botpy.Client):
        async def on_ready(self):
            say(f"ready {self.robot.name}")

        async def on_c2c_message_create(self, message):
            say(f"message {message.id} {message.content}")
            await message.reply(msg_type=0, content=f"pong: {message.content}")
            say(f"replied {message.id}")

    async def watch_stdin():
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)
        raise SystemExit(0)

    async def run():
        client = Client(intents=botpy.Intents(public_messages=True), log_level=30, bot_log=None)
        async with client:
            await asyncio.gather(client.start(appid=appid, secret=secret), watch_stdin())

    try:
        asyncio.run(run())
    except SystemExit:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
