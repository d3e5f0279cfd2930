"""Echo server with Python websockets, as its users ship it, for wsspec server mode.

    python3 peers/python/echo_server.py PORT      # PORT 0: any free port

Binds 127.0.0.1 only and prints "LISTENING <port>" once it accepts connections, so
the driver needs no guessed port. Every text and binary message is sent back as it
came; every option is the library default (max_size 1 MiB, permessage-deflate offered
by the client is accepted, pings every 20 s): wsspec judges websockets as users run it.
"""

import asyncio
import sys

from websockets.asyncio.server import serve


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def main(port):
    async with serve(echo, "127.0.0.1", port) as server:
        bound = server.sockets[0].getsockname()[1]
        print(f"LISTENING {bound}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: echo_server.py PORT")
    try:
        asyncio.run(main(int(sys.argv[1])))
    except KeyboardInterrupt:
        pass
