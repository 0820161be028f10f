"""An edge whose broker is gone keeps its candidates in order and sends each once when the
broker is back (issue 13): the queue is the edge's, the dedup the broker's."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from kernel.link.cipher import LinkCipher
from kernel.link.console_ingest import CandidateIngest
from kernel.link.edge_candidates import RemoteCandidates
from kernel.protocols.link import LinkDown
from tests.kernel.link.conftest import Console, make_link
from tests.kernel.link.test_console_ingest import alert_ids, evidence, fetch_one
from tests.nats_server import NatsServer
from tests.waiting import until


async def test_candidates_raised_while_the_broker_is_down_arrive_in_order_once_each(
    nats_server: NatsServer, cipher: LinkCipher, edge_cipher: LinkCipher,
    console: Console, tmp_path: Path,
) -> None:
    edge_link = make_link(nats_server, tmp_path, publish_timeout_s=0.5, connect_timeout_s=0.5)
    console_link = make_link(nats_server, tmp_path, ack_wait_s=5.0)
    await edge_link.open()
    await console_link.open()
    edge = RemoteCandidates(edge_link, edge_cipher, "edge-1", retry_s=0.1, retry_max_s=0.3)
    sender = asyncio.create_task(edge.run())
    try:
        nats_server.stop()
        for camera in ("gate-1", "gate-2", "gate-3"):
            await edge.raise_candidate(evidence(console, camera))
        await until(lambda: edge._down, 10, "the edge noticed the link is down")
        assert edge.queued == 3 and edge.published == 0
        await nats_server.start()
        await until(lambda: edge.published == 3 and edge.queued == 0, 30,
                    "the queue was sent when the broker returned")
    finally:
        sender.cancel()
        await edge_link.close()
    ingest = CandidateIngest(console_link, cipher, console.gov)
    order = []
    try:
        for _ in range(3):
            delivery = await fetch_one(console_link)
            assert await ingest.settle(delivery)
            order.append((await console.gov.alerts.get(delivery.key or "")).camera_id)
        assert await console_link.fetch_candidates(8, 1.0) == []  # none twice
    finally:
        await console_link.close()
    assert order == ["gate-1", "gate-2", "gate-3"]
    assert len(await alert_ids(console)) == 3


async def test_a_broker_back_without_its_store_gets_its_streams_again(
    nats_server: NatsServer, tmp_path: Path,
) -> None:
    link = make_link(nats_server, tmp_path, publish_timeout_s=0.5, connect_timeout_s=0.5)
    await link.open()
    try:
        await link.publish_candidate("edge-1", "0" * 16, b"sealed")
        nats_server.stop()
        shutil.rmtree(nats_server.store)  # a new machine, a lost disk
        await nats_server.start()

        async def sent() -> bool:
            try:
                await link.publish_candidate("edge-1", "1" * 16, b"sealed")
            except LinkDown:
                return False
            return True

        deadline = asyncio.get_running_loop().time() + 20
        while not await sent():  # the first attempts fail; then the streams are made again
            assert asyncio.get_running_loop().time() < deadline, "streams never made again"
            await asyncio.sleep(0.1)
        assert len(await link.fetch_candidates(8, 1.0)) == 1  # the new one, on the new store
    finally:
        await link.close()


async def test_a_node_started_while_the_broker_is_away_hears_link_down_not_a_hang(
    tmp_path: Path,
) -> None:
    from adapters.link.nats import NatsLink
    from kernel.testing.camera_contract import make_context
    from tests.media_peers import free_port

    link = NatsLink(NatsLink.Config(url=f"nats://127.0.0.1:{free_port()}",
                                    connect_timeout_s=0.5), make_context("link", tmp_path))
    try:
        async with asyncio.timeout(20):  # the client's own first connect retries for ever
            for call in (link.list_versions(), link.fetch_candidates(1, 0.5)):  # edge, console
                try:
                    await call
                except LinkDown:
                    continue
                raise AssertionError("a call succeeded with no broker")
    finally:
        await link.close()
