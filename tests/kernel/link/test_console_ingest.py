"""The console's intake of edge candidates over a real nats-server into a real SQLite store:
idempotent by the edge's key (the broker's dedup and the console's insert), persisted before
the acknowledgement, and hostile messages dead-lettered and logged without stopping it."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from datetime import UTC, datetime, timedelta

import msgspec
import nats
import pytest

from adapters.link.nats import NatsLink
from kernel.domain.lateness import arrived_late
from kernel.link.cipher import LinkCipher
from kernel.link.console_ingest import CandidateIngest
from kernel.link.edge_candidates import RemoteCandidates
from kernel.link.messages import DeadLetter, SealedCandidateMessage
from kernel.pipeline.live import CandidateEvidence
from kernel.protocols.link import Delivery
from mobile_api.views import alert_out
from tests.kernel.link.conftest import Console
from tests.nats_server import NatsServer
from tests.waiting import until

FACE, TORSO = b"\xff\xd8\xff\xe0 face crop of a match", b"\xff\xd8\xff\xe0 torso of a match"


def evidence(console: Console, camera: str = "gate-1") -> CandidateEvidence:
    return CandidateEvidence(deployment_id=console.deployment_id, entry_id=console.entry_id,
                             blue=False, camera_id=camera, score=0.97,
                             captured_at=datetime.now(UTC), face_jpeg=FACE, torso_jpeg=TORSO,
                             frame_monotonic=time.monotonic())


async def fetch_one(link: NatsLink, timeout: float = 10.0) -> Delivery:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = await link.fetch_candidates(1, 0.5)
        if got:
            return got[0]
    raise AssertionError("no delivery within the deadline")


async def alert_ids(console: Console) -> list[str]:
    return [a.id for a in await console.gov.alerts.list_for(console.deployment_id)]


async def test_a_candidate_published_twice_and_delivered_twice_is_stored_once(
    link: NatsLink, cipher: LinkCipher, edge_cipher: LinkCipher, console: Console,
) -> None:
    edge = RemoteCandidates(link, edge_cipher, "edge-1")
    await edge.raise_candidate(evidence(console))
    ((key, data),) = list(edge._queue)
    # the edge resends after an unanswered publish: the broker keeps one (Nats-Msg-Id)
    await link.publish_candidate("edge-1", key, data)
    await link.publish_candidate("edge-1", key, data)
    ingest = CandidateIngest(link, cipher, console.gov)
    first = await fetch_one(link)
    # not settled within the ack wait (a console killed after its commit): delivered again
    again = await fetch_one(link)
    assert (first.key, first.seq) == (again.key, again.seq) == (key, first.seq)
    # the broker's delivery count never goes back; it is not asserted to be exactly 2: on a
    # loaded machine a delivery made to a pull that had already timed out is handed over by
    # the next fetch, so the two read here may carry the counts 1 and 1 (a fresh-clone CI run
    # on 2026-12-02) or 2 and 3; the same message twice is what the test is about
    assert again.attempts >= first.attempts >= 1
    assert await ingest.settle(first) and await ingest.settle(again)
    assert await alert_ids(console) == [key]  # the edge's key is the alert id, stored once
    assert await link.fetch_candidates(4, 1.0) == []  # settled: nothing comes again
    rec = await console.gov.alerts.get(key)
    assert rec.camera_id == "gate-1" and rec.state == "candidate"
    images = await console.gov.alerts.images(key)
    assert (images.face, images.torso) == (FACE, TORSO)


async def test_the_edge_queue_keeps_order_and_sends_once_each(
    link: NatsLink, cipher: LinkCipher, edge_cipher: LinkCipher, console: Console,
) -> None:
    edge = RemoteCandidates(link, edge_cipher, "edge-1", capacity=2)
    for camera in ("gate-1", "gate-2", "gate-3"):
        await edge.raise_candidate(evidence(console, camera))
    assert (edge.queued, edge.refused) == (2, 1)  # bounded: the third is refused, counted
    sender = asyncio.create_task(edge.run())
    try:
        await until(lambda: edge.published == 2, 10, "the queue was sent")
    finally:
        sender.cancel()
    ingest = CandidateIngest(link, cipher, console.gov)
    for _ in range(2):
        assert await ingest.settle(await fetch_one(link))
    stored = [await console.gov.alerts.get(a) for a in await alert_ids(console)]
    assert sorted(a.camera_id for a in stored) == ["gate-1", "gate-2"]
    assert ingest.stored == 2


async def test_a_late_candidate_is_stored_and_marked_late_never_dropped(
    link: NatsLink, cipher: LinkCipher, edge_cipher: LinkCipher, console: Console,
) -> None:
    """Captured a minute before it reaches the console (queued while the edge's link was
    down): stored like any other, marked late in the API's view and counted for its edge."""
    edge_1 = RemoteCandidates(link, edge_cipher, "edge-1")
    edge_2 = RemoteCandidates(link, edge_cipher, "edge-2")
    old = msgspec.structs.replace(evidence(console, "gate-1"),
                                  captured_at=datetime.now(UTC) - timedelta(seconds=60))
    await edge_1.raise_candidate(old)
    await edge_2.raise_candidate(evidence(console, "gate-2"))
    for edge in (edge_1, edge_2):
        ((key, data),) = list(edge._queue)
        await link.publish_candidate(edge.node_id, key, data)
    ingest = CandidateIngest(link, cipher, console.gov, late_after_s=10.0)
    for _ in range(2):
        assert await ingest.settle(await fetch_one(link))
    assert (ingest.stored, ingest.late, ingest.late_by_node) == (2, 1, {"edge-1": 1})
    shown = {a.camera_id: alert_out(a, 10.0).late
             for a in await console.gov.alerts.candidates(console.deployment_id)}
    assert shown == {"gate-1": True, "gate-2": False}  # both in the operator's queue
    # a longer setting: the same candidate is not late (the mark follows [node] late_after_s)
    assert not any(alert_out(a, 120.0).late
                   for a in await console.gov.alerts.candidates(console.deployment_id))


def test_arrived_late_is_strictly_beyond_the_setting() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    assert not arrived_late(t, t + timedelta(seconds=10), 10.0)
    assert arrived_late(t, t + timedelta(seconds=10.5), 10.0)
    assert not arrived_late(t, t - timedelta(seconds=5), 10.0)  # an edge's clock ahead


async def raw_publish(server: NatsServer, key: str | None, data: bytes) -> None:
    nc = await nats.connect(server.url)
    try:
        js = nc.jetstream()
        await js.publish("pinchpoint.candidates.intruder", data,
                         headers={"Nats-Msg-Id": key} if key else None)
    finally:
        await nc.close()


async def dead_letters(server: NatsServer) -> list[DeadLetter]:
    nc = await nats.connect(server.url)
    try:
        sub = await nc.jetstream().pull_subscribe("pinchpoint.deadletter", stream=
                                                  "PINCHPOINT_DEADLETTER")
        try:
            msgs = await sub.fetch(10, timeout=1.0)
        except nats.errors.TimeoutError:
            return []
        return [msgspec.json.decode(m.data, type=DeadLetter) for m in msgs]
    finally:
        await nc.close()


async def test_hostile_messages_are_dead_lettered_and_logged_and_the_console_goes_on(
    link: NatsLink, cipher: LinkCipher, edge_cipher: LinkCipher,
    console: Console, nats_server: NatsServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "pinchpoint.link")
    dep = console.deployment_id
    # sealed by an edge that does not hold the deployment's list secret (another link key,
    # a made-up secret)
    outsider = LinkCipher(secrets.token_bytes(32))
    outsider.hold(dep, secrets.token_bytes(32))
    stranger = RemoteCandidates(link, outsider, "edge-x")
    await stranger.raise_candidate(evidence(console))
    ((wrong_key, sealed_elsewhere),) = list(stranger._queue)
    # a well-sealed message replayed under another id (its key is bound into the seal)
    honest = RemoteCandidates(link, edge_cipher, "edge-1")
    await honest.raise_candidate(evidence(console))
    ((good_key, good),) = list(honest._queue)
    forged_key = secrets.token_hex(8)
    forged = msgspec.structs.replace(msgspec.msgpack.decode(good, type=SealedCandidateMessage),
                                     key=forged_key)
    nan_key = secrets.token_hex(8)
    nan_time = msgspec.structs.replace(forged, key=nan_key, captured_at=float("nan"))
    hostile = [
        (secrets.token_hex(8), b"\x00garbage\xff" * 50),                  # not msgpack
        (secrets.token_hex(8), msgspec.msgpack.encode({"key": 1})),         # wrong shape
        (wrong_key, sealed_elsewhere),                                      # wrong secret
        ("not-the-key", good),                                              # id ≠ its key
        (forged_key, msgspec.msgpack.encode(forged)),                       # key not sealed
        (nan_key, msgspec.msgpack.encode(nan_time)),                        # NaN time
        (None, b""),                                                        # empty, no id
    ]
    for key, data in hostile:
        await raw_publish(nats_server, key, data)
    await raw_publish(nats_server, good_key, good)
    ingest = CandidateIngest(link, cipher, console.gov)
    task = asyncio.create_task(ingest.run())
    try:
        await until(lambda: ingest.stored == 1, 20, "the honest candidate after the hostile")
        assert not task.done()  # the console goes on
    finally:
        task.cancel()
    assert ingest.dead == len(hostile)
    assert await alert_ids(console) == [good_key]
    letters = await dead_letters(nats_server)
    assert len(letters) == len(hostile)
    # a description only: no body is copied (it may be sealed evidence, or anything)
    assert all(d.size >= 0 and d.reason for d in letters)
    reasons = " | ".join(d.reason for d in letters)
    for why in ("not a candidate message", "seal", "message id is not",
                "capture time out of range"):
        assert why in reasons, reasons
    logged = [r.getMessage() for r in caplog.records if "dead-lettered" in r.getMessage()]
    assert len(logged) == len(hostile)
    assert dep not in reasons  # nothing of the payload is echoed back
    assert await link.fetch_candidates(8, 1.0) == []  # none comes again
