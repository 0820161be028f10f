"""The login flood's attackers, in a process of their own (``python -m
tests.faults.login_flooder URL SECONDS CLIENTS``): CLIENTS concurrent keep-alive connections,
each from its own loopback address (127.0.0.2, .3, …), posting random names with wrong
passwords as fast as the server answers, for SECONDS. Prints ``up`` once every client has had
an answer, then the answers' status counts as JSON at the end.

Its own interpreter, so the attackers do not share the runtime's GIL (in-process, 20 httpx
clients cost the pipeline frames the server never spent); raw HTTP/1.1 on asyncio streams,
so the attackers' CPU on the same cores stays small."""

from __future__ import annotations

import asyncio
import collections
import json
import secrets
import sys
import time
from urllib.parse import urlsplit


async def attacker(host: str, port: int, n: int, until: float,
                   counts: collections.Counter[int], answered: asyncio.Event,
                   first: set[int], clients: int) -> None:
    while time.monotonic() < until:
        try:
            reader, writer = await asyncio.open_connection(
                host, port, local_addr=(f"127.0.0.{n + 2}", 0))
        except OSError:
            counts[0] += 1
            await asyncio.sleep(0.05)
            continue
        try:
            while time.monotonic() < until:
                body = json.dumps({"name": secrets.token_hex(6),
                                   "password": secrets.token_hex(8)}).encode()
                writer.write(b"POST /api/auth/login HTTP/1.1\r\nHost: " + host.encode()
                             + b"\r\nContent-Type: application/json\r\nContent-Length: "
                             + str(len(body)).encode() + b"\r\n\r\n" + body)
                status_line = await reader.readline()
                if not status_line:
                    break
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                counts[int(status_line.split()[1])] += 1
                first.add(n)
                if len(first) == clients:
                    answered.set()
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            counts[0] += 1
        finally:
            writer.close()


async def main(url: str, seconds: float, clients: int) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    counts: collections.Counter[int] = collections.Counter()
    answered = asyncio.Event()
    first: set[int] = set()
    until = time.monotonic() + seconds

    async def report_up() -> None:
        await answered.wait()
        print("up", flush=True)

    up = asyncio.create_task(report_up())
    await asyncio.gather(*(attacker(host, port, n, until, counts, answered, first, clients)
                           for n in range(clients)))
    up.cancel()
    print(json.dumps(dict(counts)), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3])))
