"""Echo server on hypercorn (an ASGI server that speaks RFC 8441 WebSockets over HTTP/2),
for wsspec server mode, over HTTP/1.1 and over cleartext HTTP/2 (prior knowledge, h2c).

    python3 peers/python/hypercorn_echo.py PORT      # PORT 0: any free port

Binds 127.0.0.1 only and prints "LISTENING <port>" once it accepts connections. The ASGI
app accepts every WebSocket and sends every text and binary message back as it came;
hypercorn's options are its defaults (its WebSocket side is wsproto for HTTP/1.1 and its
own h2 stream handling for HTTP/2; max message size 16 MiB, no permessage-deflate
configuration beyond what wsproto does by default).
"""

import asyncio
import socket
import sys

from hypercorn.asyncio import serve
from hypercorn.config import Config


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif event["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "http":
        await receive()
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b"websocket only"})
        return
    # websocket
    event = await receive()
    if event["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    while True:
        event = await receive()
        if event["type"] == "websocket.receive":
            if event.get("bytes") is not None:
                await send({"type": "websocket.send", "bytes": event["bytes"]})
            else:
                await send({"type": "websocket.send", "text": event["text"]})
        elif event["type"] == "websocket.disconnect":
            return


async def main(port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    sock.set_inheritable(True)
    config = Config()
    config.bind = [f"fd://{sock.fileno()}"]
    config.accesslog = None
    print(f"LISTENING {sock.getsockname()[1]}", flush=True)
    await serve(app, config)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: hypercorn_echo.py PORT")
    try:
        asyncio.run(main(int(sys.argv[1])))
    except KeyboardInterrupt:
        pass
