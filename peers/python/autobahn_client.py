"""Autobahn client harness with Python websockets, for wsspec client mode.

    python3 peers/python/autobahn_client.py ws://127.0.0.1:9001 AGENT

Asks /getCaseCount, runs every case on /runCase?case=N&agent=AGENT echoing each text and
binary message, then calls /updateReports. Library defaults throughout; the one setting
given, proxy=None, only keeps an HTTP proxy from the environment off loopback traffic.
A case whose connection fails to open (as it must when wsspec answers the handshake
wrongly) is not an error of the harness.
"""

import asyncio
import sys

from websockets.asyncio.client import connect


async def run_case(url):
    try:
        async with connect(url, proxy=None) as ws:
            async for message in ws:
                await ws.send(message)
    except Exception as error:  # the case judges the failure, the harness goes on
        print(f"{url}: {type(error).__name__}: {error}", file=sys.stderr)


async def main(base, agent):
    async with connect(f"{base}/getCaseCount", proxy=None) as ws:
        count = int(await ws.recv())
    for case in range(1, count + 1):
        await run_case(f"{base}/runCase?case={case}&agent={agent}")
    async with connect(f"{base}/updateReports?agent={agent}", proxy=None):
        pass


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: autobahn_client.py BASE_URL AGENT")
    asyncio.run(main(sys.argv[1].rstrip("/"), sys.argv[2]))
