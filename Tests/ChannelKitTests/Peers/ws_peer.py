#!/usr/bin/env python3
"""Conformance peer for ChannelKit's WebSocket client: the independent Python
`websockets` library as a server.

    python3 ws_peer.py [--tls CERT_DIR]

Prints `port <n>` (and, with --tls, `ca <path>`) on stdout, then serves until stdin
closes. Behaviour is chosen by the request path:

  /echo            echo every message (text stays text, binary stays binary)
  /fragments       send "hello, fragmented world" in 3 text fragments and a 3-part
                   binary message, then echo
  /ping            ping the client with payload b"srv-ping", report whether the pong came
                   back by sending text "pong-ok"/"pong-missing", then echo
  /close/<code>    send text "bye" then close with <code> and reason "server says bye"
  /drop            send text "dropping" then close the TCP connection (FIN, no close frame)
  /reset           abort the TCP connection (RST, no close frame)
  /reject/<status> refuse the handshake with <status>, a JSON body and an X-Reason header
  /headers         send the handshake request headers back as one JSON text message
  /bad-utf8        send a text frame with invalid UTF-8 (raw frame, bypassing checks)
"""
import argparse
import asyncio
import datetime
import http
import json
import os
import ssl
import sys


def make_cert(directory: str) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = os.path.join(directory, "cert.pem")
    key_path = os.path.join(directory, "key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, key_path


async def handler(ws):
    path = ws.request.path
    if path == "/fragments":
        await ws.send(["hello, ", "fragmented ", "world"])
        await ws.send([b"\x00\x01", b"\x02", b"\x03\x04"])
    elif path == "/ping":
        waiter = await ws.ping(b"srv-ping")
        try:
            await asyncio.wait_for(waiter, 5)
            await ws.send("pong-ok")
        except asyncio.TimeoutError:
            await ws.send("pong-missing")
    elif path.startswith("/close/"):
        await ws.send("bye")
        await ws.close(int(path.rsplit("/", 1)[1]), "server says bye")
        return
    elif path == "/drop":
        await ws.send("dropping")
        ws.transport.close()
        return
    elif path == "/reset":
        ws.transport.abort()
        return
    elif path == "/headers":
        await ws.send(json.dumps({k.lower(): v for k, v in ws.request.headers.raw_items()}))
    elif path == "/bad-utf8":
        # FIN + text opcode, unmasked, 2-byte payload that is not UTF-8.
        ws.transport.write(bytes([0x81, 0x02, 0xC3, 0x28]))
    async for message in ws:
        await ws.send(message)


def process_request(connection, request):
    if request.path.startswith("/reject/"):
        status = http.HTTPStatus(int(request.path.rsplit("/", 1)[1]))
        response = connection.respond(status, json.dumps({"errCode": 1001, "errMsg": "token invalid"}) + "\n")
        response.headers["X-Reason"] = "token-invalid"
        return response
    return None


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tls", metavar="CERT_DIR")
    args = parser.parse_args()
    from websockets.asyncio.server import serve

    context = None
    if args.tls:
        cert, key = make_cert(args.tls)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
    async with serve(handler, "127.0.0.1", 0, ssl=context, process_request=process_request,
                     max_size=None, compression=None, ping_interval=None) as server:
        print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
        if args.tls:
            print(f"ca {cert}", flush=True)
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        loop.add_reader(sys.stdin.fileno(), lambda: done.done() or (sys.stdin.readline() == "" and done.set_result(None)))
        await done


if __name__ == "__main__":
    asyncio.run(main())
