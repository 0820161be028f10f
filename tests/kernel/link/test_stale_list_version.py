"""The console refuses a candidate matched against an older version of its deployment's list
than the one it publishes (issue 13): dead-lettered with the reason, logged, counted with its
edge in ``EdgeView.stale`` (``GET /api/health/edges``), never stored; over a real nats-server
and a real SQLite store, with the real publisher."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import nats
import pytest

from adapters.link.nats import NatsLink
from kernel.auth.accounts import Accounts
from kernel.auth.passwords import Passwords
from kernel.config import MatchingConfig
from kernel.link.cipher import LinkCipher
from kernel.link.console_ingest import CandidateIngest
from kernel.link.edge_candidates import RemoteCandidates
from kernel.link.list_publisher import ListPublisher
from kernel.link.messages import CandidatePayload, EdgeReport, SealedCandidateMessage
from tests.kernel.link.conftest import Console, make_link
from tests.kernel.link.test_console_ingest import alert_ids, dead_letters, evidence, fetch_one
from tests.nats_server import NatsServer


@pytest.fixture
async def link(nats_server: NatsServer, tmp_path: Path) -> AsyncIterator[NatsLink]:
    """A console's link whose deliveries are not redelivered while a test settles them (the
    shared fixture's 0.5 s ack wait is for tests of redelivery)."""
    link = make_link(nats_server, tmp_path, ack_wait_s=10.0, publish_timeout_s=1.0)
    await link.open()
    yield link
    await link.close()


def publisher_for(link: NatsLink, cipher: LinkCipher, console: Console) -> ListPublisher:
    return ListPublisher(link, cipher, console.gov, MatchingConfig(), refresh_s=0.1)


async def new_threshold(console: Console) -> None:
    """The commander changes the live threshold (R22): the list's next version."""
    accounts = Accounts(console.gov.store, console.gov.ctx.clock, Passwords(1, 8, 1))
    await accounts.add_user("cmd", "commander", "stale-version-commander", "test")
    await console.gov.deployments.set_threshold(console.deployment_id, 0.95, "cmd")


async def test_issue13_a_candidate_of_an_older_list_version_is_dead_lettered_and_counted(
    link: NatsLink, cipher: LinkCipher, edge_cipher: LinkCipher,
    console: Console, nats_server: NatsServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    dep = console.deployment_id
    publisher = publisher_for(link, cipher, console)
    await publisher.refresh()
    v1 = publisher.version_of(dep)
    assert v1 > 0 and publisher.ready.is_set()
    held = {dep: v1}
    edge = RemoteCandidates(link, edge_cipher, "edge-1", version_of=held.__getitem__)
    await edge.raise_candidate(evidence(console))  # matched against v1
    ((old_key, old), ) = list(edge._queue)
    await link.publish_candidate("edge-1", old_key, old)
    # the commander changes the live threshold: the console publishes v2 before the
    # candidate matched against v1 reaches it
    await new_threshold(console)
    await publisher.refresh()
    v2 = publisher.version_of(dep)
    assert v2 > v1
    held[dep] = v2
    edge._queue.clear()
    await edge.raise_candidate(evidence(console))  # the edge has the new list
    ((new_key, new), ) = list(edge._queue)
    await link.publish_candidate("edge-1", new_key, new)

    ingest = CandidateIngest(link, cipher, console.gov, lists=publisher)
    caplog.set_level(logging.WARNING, "pinchpoint.link.ingest")
    assert await ingest.settle(await fetch_one(link))
    assert await ingest.settle(await fetch_one(link))
    assert await alert_ids(console) == [new_key]  # the older match is not stored
    assert (ingest.stale, ingest.stale_by_node, ingest.dead, ingest.stored, ingest.judged) == (
        1, {"edge-1": 1}, 1, 1, 2)
    assert await link.fetch_candidates(4, 1.0) == []  # never delivered again
    (letter,) = await dead_letters(nats_server)
    assert letter.key == old_key
    assert letter.reason == f"matched against list version {v1}, older than the published {v2}"
    assert f"candidate {old_key} from edge edge-1 matched against list version {v1}" in (
        caplog.text)
    # what the console shows of the edge (GET /api/health/edges) counts it
    report = EdgeReport(node_id="edge-1", at=0.0, lists=(), cameras=(), queued=0,
                        published=2, refused=0)
    await link.put_report("edge-1", msgspec.msgpack.encode(report))
    await publisher.read_reports()
    (view,) = publisher.edges(ingest.late_by_node, ingest.stale_by_node)
    assert (view.node_id, view.stale) == ("edge-1", 1)


async def test_issue13_hostile_a_forged_older_list_version_is_dead_lettered(
    link: NatsLink, cipher: LinkCipher, console: Console, nats_server: NatsServer,
) -> None:
    """Someone who holds the link key (or replays a sealed payload) forges a candidate naming
    an older version, or none (0): refused; the honest one after it is stored."""
    dep = console.deployment_id
    publisher = publisher_for(link, cipher, console)
    await publisher.refresh()
    await new_threshold(console)
    await publisher.refresh()
    current = publisher.version_of(dep)
    payload = msgspec.msgpack.encode(CandidatePayload(
        entry_id=console.entry_id, camera_id="gate-1", score=0.99, face_jpeg=b"\xff\xd8 f",
        torso_jpeg=b"\xff\xd8 t"))
    nc = await nats.connect(nats_server.url)
    forged = []
    try:
        js = nc.jetstream()
        for version in (current - 1, 0, -5, current):
            key = secrets.token_hex(8)
            msg = SealedCandidateMessage(
                key=key, node_id="intruder", deployment_id=dep, list_version=version,
                captured_at=1_800_000_000.0,
                sealed=cipher.seal("evidence", dep, key, payload))
            await js.publish("pinchpoint.candidates.intruder", msgspec.msgpack.encode(msg),
                             headers={"Nats-Msg-Id": key})
            forged.append(key)
    finally:
        await nc.close()
    ingest = CandidateIngest(link, cipher, console.gov, lists=publisher)
    task = asyncio.create_task(ingest.run())
    try:
        async with asyncio.timeout(20):
            while (ingest.stored, ingest.dead) != (1, 3):
                await asyncio.sleep(0.05)
        assert not task.done()  # the console carries on
    finally:
        task.cancel()
    assert await alert_ids(console) == [forged[3]]  # only the current version's
    assert ingest.stale_by_node == {"intruder": 3}
    assert {d.key for d in await dead_letters(nats_server)} == set(forged[:3])


async def test_issue13_the_intake_waits_for_the_published_versions(
    link: NatsLink, cipher: LinkCipher, edge_cipher: LinkCipher, console: Console,
) -> None:
    """Before the publisher has compared the lists the intake cannot judge a version: it
    neither stores nor dead-letters, the message comes again."""
    publisher = publisher_for(link, cipher, console)
    edge = RemoteCandidates(link, edge_cipher, "edge-1", version_of=lambda _d: 1)
    await edge.raise_candidate(evidence(console))
    ((key, data), ) = list(edge._queue)
    await link.publish_candidate("edge-1", key, data)
    ingest = CandidateIngest(link, cipher, console.gov, lists=publisher, retry_s=0.1)
    assert not await ingest.settle(await fetch_one(link))  # not ready: asked again later
    assert (ingest.stored, ingest.dead) == (0, 0)
    await publisher.refresh()
    assert await ingest.settle(await fetch_one(link))  # redelivered, now judged
    assert await alert_ids(console) == [key] and ingest.stale == 0


async def test_issue13_r18_a_candidate_for_another_consoles_deployment_is_not_stored(
    link: NatsLink, cipher: LinkCipher, edge_cipher: LinkCipher,
    console: Console, caplog: pytest.LogCaptureFixture,
) -> None:
    """Several consoles on one store: an edge of this console (``[node] id`` "node") matched
    a deployment stamped for van B before the withdrawal reached it; the candidate is not
    stored under van B's deployment (refused, logged, acknowledged). Unstamped again, the
    same deployment's next candidate is stored: the stamp is what decides, and a deployment
    whose version the publisher has not recorded yet is judged by the domain, never lost."""
    dep = console.deployment_id
    publisher = publisher_for(link, cipher, console)
    await publisher.refresh()
    assert publisher.version_of(dep) > 0
    async with console.gov.store.transaction() as tx:  # it moves to van B's console
        rec = await tx.deployments.get(dep)
        assert rec is not None
        rec.console = "van-b"
        await tx.deployments.update(rec)
    await publisher.refresh()
    assert publisher.version_of(dep) == 0  # withdrawn from this console's edges
    edge = RemoteCandidates(link, edge_cipher, "edge-1", version_of=lambda _d: 1)
    await edge.raise_candidate(evidence(console))
    ((foreign, data), ) = list(edge._queue)
    await link.publish_candidate("edge-1", foreign, data)
    ingest = CandidateIngest(link, cipher, console.gov, lists=publisher)
    caplog.set_level(logging.WARNING, "pinchpoint.link.ingest")
    assert await ingest.settle(await fetch_one(link))
    assert await alert_ids(console) == []
    assert (ingest.refused, ingest.dead, ingest.stored) == (1, 0, 0)
    assert (f"candidate {foreign} from edge edge-1 not stored: deployment {dep} runs on "
            "another console") in caplog.text
    assert await link.fetch_candidates(4, 1.0) == []  # acknowledged: never again
    async with console.gov.store.transaction() as tx:  # unstamped: every console's
        rec = await tx.deployments.get(dep)
        assert rec is not None
        rec.console = None
        await tx.deployments.update(rec)
    edge._queue.clear()
    await edge.raise_candidate(evidence(console))
    ((honest, data), ) = list(edge._queue)
    await link.publish_candidate("edge-1", honest, data)
    assert await ingest.settle(await fetch_one(link))  # before the publisher's next refresh
    assert await alert_ids(console) == [honest]
