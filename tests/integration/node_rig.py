"""What the tests of edges and a console run as ``pinchpoint run`` processes share: the
``[node]``/``[link]`` sections of their configs, a wait that shows the nodes' logs when it
fails, and the edges' reports as the broker holds them.

The processes themselves are :class:`tests.faults.pinchpoint_process.PinchpointProcess`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec

from adapters.link.nats import NatsLink
from kernel.link.messages import EdgeReport
from tests.faults.pinchpoint_process import PinchpointProcess

NODE = """
[node]
role = "{role}"
id = "{id}"
link_key_file = "{key}"
report_s = 0.5
{node_extra}
[link]
type = "nats"
url = "{url}"
ack_wait_s = 2.0
publish_timeout_s = 2.0
connect_timeout_s = 0.5
[matching]
refresh_s = 0.2
{matching_extra}
[matching.tracker]
repeat_s = 1.0
"""
"""A node's role, link and matching: lists compared every 0.2 s, reports every 0.5 s, an
unacknowledged candidate redelivered after 2 s, a second pass of a person raises again."""


def node_sections(role: str, node_id: str, key: Path, url: str, node_extra: str = "",
                  matching_extra: str = "") -> str:
    """:data:`NODE` for one node; ``*_extra``: more keys of ``[node]`` / ``[matching]``."""
    return NODE.format(role=role, id=node_id, key=key, url=url, node_extra=node_extra,
                       matching_extra=matching_extra)


async def poll(what: str, check: Callable[[], Awaitable[bool]], timeout: float,
               *nodes: PinchpointProcess) -> None:
    """Await ``check()`` until true, else fail naming ``what`` with the nodes' logs."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {n.config.name}\n{n.tail()}" for n in nodes)
            raise AssertionError(f"not reached within {timeout} s: {what}\n{logs}")
        await asyncio.sleep(0.1)


async def edge_reports(link: NatsLink) -> dict[str, EdgeReport]:
    """node id → the edge's latest report, as the console reads it off the broker."""
    return {node: msgspec.msgpack.decode(data, type=EdgeReport)
            for node, data in (await link.reports()).items()}
