"""``link.nats`` with an edge outbox (``outbox_url``): an edge stopped while the console's
broker is away loses nothing (issue 13), on two nats-servers of the test's own: the
console's, and the edge's own."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from adapters.link.nats import NatsLink
from kernel.protocols.link import Delivery, LinkDown
from tests.kernel.link.conftest import make_link
from tests.nats_server import NatsServer, started_server


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 30.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not await check():
            await asyncio.sleep(0.1)


async def take(console: NatsLink, count: int, timeout_s: float = 20.0) -> list[Delivery]:
    """``count`` candidates from the console's broker, each acknowledged (the console
    persisted it), retrying while that broker is still coming back."""
    got: list[Delivery] = []
    async with asyncio.timeout(timeout_s):
        while len(got) < count:
            try:
                batch = await console.fetch_candidates(count - len(got), 0.5)
            except LinkDown:
                await asyncio.sleep(0.2)
                continue
            for delivery in batch:
                await delivery.ack()
            got += batch
    return got


async def nothing_more(console: NatsLink) -> bool:
    return not await console.fetch_candidates(10, 1.0)


def edge_link(hub: NatsServer, edge: NatsServer, tmp: Path, **settings: object) -> NatsLink:
    return make_link(hub, tmp, outbox_url=edge.url, publish_timeout_s=1.0, **settings)


async def test_issue13_an_edge_stopped_while_the_broker_is_away_loses_nothing(
        tmp_path: Path) -> None:
    async with started_server(tmp_path / "hub") as hub, \
            started_server(tmp_path / "edge") as edge_server:
        console = make_link(hub, tmp_path, ack_wait_s=5.0)
        await console.open()  # the console's streams
        hub.stop()
        edge = edge_link(hub, edge_server, tmp_path)
        for n in range(5):  # accepted at once, on the edge's disk
            await edge.publish_candidate("edge-a", f"key-{n}", f"sealed {n}".encode())
        assert await edge.outbox_pending() == 5
        await edge.close()  # the edge stops, its server too (kill -9: no goodbye)
        assert edge_server.proc is not None
        edge_server.proc.kill()
        edge_server.proc.wait()
        await edge_server.start()

        again = edge_link(hub, edge_server, tmp_path)  # the edge starts, the broker still away
        with pytest.raises(LinkDown):
            await again.list_versions()
        await asyncio.sleep(1.0)
        assert await again.outbox_pending() == 5, "nothing may leave before the broker acks"
        await hub.start()
        try:
            got = await take(console, 5)
            assert [(d.key, d.data) for d in got] == [
                (f"key-{n}", f"sealed {n}".encode()) for n in range(5)]  # in order, whole
            await eventually(lambda: _empty(again))
            assert await nothing_more(console), "a candidate arrived twice"
        finally:
            await again.close()
            await console.close()


async def _empty(link: NatsLink) -> bool:
    return await link.outbox_pending() == 0


async def test_issue13_a_full_console_stream_holds_the_rest_on_the_edge_in_order(
        tmp_path: Path) -> None:
    async with started_server(tmp_path / "hub") as hub, \
            started_server(tmp_path / "edge") as edge_server:
        console = make_link(hub, tmp_path, ack_wait_s=5.0, max_msgs=2)
        await console.open()
        edge = edge_link(hub, edge_server, tmp_path, max_msgs=2)
        try:
            for n in range(6):
                await edge.publish_candidate("edge-a", f"key-{n}", b"x")
            # the console's stream takes 2; the rest wait on the edge, refused, not dropped
            await eventually(lambda: _pending(edge, 4))
            await asyncio.sleep(1.5)
            assert await edge.outbox_pending() == 4
            got = await take(console, 6)
            assert [d.key for d in got] == [f"key-{n}" for n in range(6)]
            assert await nothing_more(console)
        finally:
            await edge.close()
            await console.close()


async def _pending(link: NatsLink, count: int) -> bool:
    return await link.outbox_pending() == count


async def test_issue13_a_full_outbox_refuses_rather_than_drops(tmp_path: Path) -> None:
    """Full on the edge's disk: the write is refused (the kernel keeps the candidate queued
    in memory and retries), and what the outbox holds stays whole."""
    async with started_server(tmp_path / "edge") as edge_server:
        hub = NatsServer(tmp_path / "hub")  # never started: the console's broker is away
        edge = edge_link(hub, edge_server, tmp_path, outbox_max_bytes=1 << 20)
        try:
            big = bytes(600_000)
            await edge.publish_candidate("edge-a", "key-0", big)
            with pytest.raises(LinkDown):
                await edge.publish_candidate("edge-a", "key-1", big)
            assert await edge.outbox_pending() == 1
        finally:
            await edge.close()


async def test_issue13_the_edge_server_down_is_a_link_down_not_a_hang(tmp_path: Path) -> None:
    async with started_server(tmp_path / "hub") as hub:
        edge_server = NatsServer(tmp_path / "edge")  # not running
        edge = edge_link(hub, edge_server, tmp_path)
        try:
            async with asyncio.timeout(15):
                with pytest.raises(LinkDown, match="outbox"):
                    await edge.publish_candidate("edge-a", "key-0", b"x")
            await edge_server.start()
            await edge.publish_candidate("edge-a", "key-0", b"x")  # and it comes back
            console = make_link(hub, tmp_path)
            try:
                assert [d.key for d in await take(console, 1)] == ["key-0"]
            finally:
                await console.close()
        finally:
            await edge.close()
            edge_server.stop()
