"""Face counts from edges to the console over a real nats-server (issue 13, R3, R20): an edge's
counter flushed into messages of ids and numbers only, sent once each (resent with the same
key: the broker keeps one), added to the deployment's per-minute counts that its report sums;
hostile counts messages dead-lettered, unknown deployments left out."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

import msgspec
import nats
import pytest

from adapters.link.nats import NatsLink
from kernel.link.console_counts import CountsIngest, Refused, read_counts
from kernel.link.edge_counts import EdgeCounts
from kernel.link.messages import FaceCountsMessage, MinuteTally
from kernel.pipeline.face_counts import FaceCounter
from kernel.protocols.link import LinkDown
from tests.kernel.link.conftest import Console, make_link
from tests.kernel.link.test_console_ingest import dead_letters
from tests.nats_server import NatsServer
from tests.waiting import until

MINUTE = datetime(2026, 12, 2, 12, 30, tzinfo=UTC)


def edge_counts(link: NatsLink, counter: FaceCounter, deployments: list[str],
                node_id: str = "edge-1") -> EdgeCounts:
    return EdgeCounts(link, node_id, counter, lambda: deployments,
                      lambda: datetime.now(UTC), flush_s=0.1, retry_s=0.05, retry_max_s=0.2)


async def fetch_all(link: NatsLink, n: int) -> list[object]:
    got: list[object] = []
    async with asyncio.timeout(10):
        while len(got) < n:
            got += await link.fetch_counts(8, 0.5)
    return got


async def test_an_edges_counts_reach_the_report_once_each(
    link: NatsLink, console: Console, nats_server: NatsServer,
) -> None:
    dep = console.deployment_id
    counters = {"edge-1": FaceCounter(), "edge-2": FaceCounter()}
    counters["edge-1"].seen("gate-1", MINUTE, 3)
    counters["edge-1"].matched("gate-1", MINUTE, 1)
    counters["edge-1"].seen("gate-1", MINUTE + timedelta(minutes=1), 2)
    counters["edge-2"].seen("gate-2", MINUTE, 4)
    edges = [edge_counts(link, c, [dep], n) for n, c in counters.items()]
    for edge in edges:
        assert edge.flush() is not None
        ((key, data),) = list(edge._queue)
        await link.publish_counts(edge.node_id, key, data)  # an unanswered first try
        await edge.send()  # resent with the same key: the broker keeps one
        assert edge.queued == 0 and edge.flush() is None  # nothing counted since
    # What crossed the link, as the broker keeps it: one message per flush, numbers and ids
    # only (R3). Read from the stream itself: a core subscriber "tap" missed the first
    # publish of a subject about one run in eight, even after a flush (a fresh-clone CI
    # failure), so it could not be the witness.
    tap = await nats.connect(nats_server.url)
    try:
        info = await tap.jetstream().stream_info(link.config.counts_stream)
        assert info.state.messages == 2  # two flushes, each sent twice: kept once each
        raw = [(await tap.jetstream().get_msg(link.config.counts_stream, seq)).data
               for seq in range(info.state.first_seq, info.state.last_seq + 1)]
    finally:
        await tap.close()
    for stored in raw:
        assert stored is not None
        msg = msgspec.msgpack.decode(stored, type=FaceCountsMessage)  # no unknown field
        assert set(msgspec.msgpack.decode(stored)) == {"key", "node_id", "deployments",
                                                     "counts"}
        assert msg.deployments == (dep,)
        assert all(set(msgspec.structs.asdict(t)) == {"camera_id", "minute", "seen",
                                                      "matched"} for t in msg.counts)
    ingest = CountsIngest(link, console.gov)
    for delivery in await fetch_all(link, 2):
        assert await ingest.settle(delivery)  # type: ignore[arg-type]
    assert await link.fetch_counts(8, 0.5) == []  # once each
    stats = await console.gov.reports.stats(dep)
    assert stats.faces_seen == 9
    assert {(c.camera_id, c.faces_seen) for c in stats.cameras} == {("gate-1", 5),
                                                                     ("gate-2", 4)}


async def test_no_list_held_no_counts_sent_and_an_outage_keeps_them_in_order(
    nats_server: NatsServer, console: Console, tmp_path: object,
) -> None:
    link = make_link(nats_server, tmp_path, publish_timeout_s=0.5,  # type: ignore[arg-type]
                     connect_timeout_s=0.5)
    await link.open()
    try:
        counter = FaceCounter()
        deployments: list[str] = []
        edge = edge_counts(link, counter, deployments)
        counter.seen("gate-1", MINUTE, 2)
        assert edge.flush() is None and edge.queued == 0  # counted for no deployment
        deployments.append(console.deployment_id)
        nats_server.stop()
        for n in (1, 2):
            counter.seen("gate-1", MINUTE, n)
            edge.flush()
        with pytest.raises(LinkDown):
            await edge.send()
        assert edge.queued == 2
        await nats_server.start()
        async with asyncio.timeout(20):
            while edge.queued:
                try:
                    await edge.send()
                except LinkDown:
                    await asyncio.sleep(0.1)
        ingest = CountsIngest(link, console.gov)
        for delivery in await fetch_all(link, 2):
            assert await ingest.settle(delivery)  # type: ignore[arg-type]
        assert (await console.gov.reports.stats(console.deployment_id)).faces_seen == 3
    finally:
        await link.close()


async def test_a_stopping_edge_sends_what_it_counted_since_its_last_flush(
    link: NatsLink, console: Console,
) -> None:
    counter = FaceCounter()
    edge = EdgeCounts(link, "edge-1", counter, lambda: [console.deployment_id],
                      lambda: datetime.now(UTC), flush_s=3600.0)
    counter.seen("gate-1", MINUTE, 2)
    task = asyncio.create_task(edge.run())
    await until(lambda: edge.sent == 1, 5, "the first round sent (then an hour's wait)")
    counter.seen("gate-1", MINUTE, 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert edge.sent == 2 and edge.queued == 0
    ingest = CountsIngest(link, console.gov)
    for delivery in await fetch_all(link, 2):
        assert await ingest.settle(delivery)  # type: ignore[arg-type]
    assert (await console.gov.reports.stats(console.deployment_id)).faces_seen == 7


def _message(**fields: object) -> bytes:
    base: dict[str, object] = {
        "key": "a" * 16, "node_id": "edge-1", "deployments": ["d1"],
        "counts": [{"camera_id": "gate-1", "minute": MINUTE.timestamp(), "seen": 2,
                    "matched": 1}]}
    return msgspec.msgpack.encode({**base, **fields})


@pytest.mark.parametrize(("data", "says"), [
    (b"\x00garbage", "not a face-counts message"),
    (_message(extra="a crop"), "not a face-counts message"),  # no field beyond ids, numbers
    (_message(counts=[{"camera_id": "gate-1", "minute": 1.0, "seen": -1, "matched": 0}]),
     "not a face-counts message"),
    (_message(counts=[{"camera_id": "gate 1", "minute": 1.0, "seen": 1, "matched": 0}]),
     "not a face-counts message"),
    (_message(counts=[{"camera_id": "g", "minute": float("nan"), "seen": 1, "matched": 0}]),
     "minute out of range"),
    (_message(deployments=["../etc"]), "not a face-counts message"),
    (_message(key="b" * 16), "message id is not"),
])
def test_hostile_counts_messages_are_refused_saying_why(data: bytes, says: str) -> None:
    with pytest.raises(Refused, match=says):
        read_counts(data, "a" * 16)


def test_r20_a_flush_may_match_more_faces_than_it_saw() -> None:
    # the tracks were counted seen in an earlier flush (or a repeat matched twice): honest
    data = _message(counts=[{"camera_id": "g", "minute": 60.0, "seen": 0, "matched": 2}])
    (count,) = read_counts(data, "a" * 16)
    assert (count.seen, count.matched) == (0, 2)


async def test_hostile_counts_are_dead_lettered_and_unknown_deployments_left_out(
    link: NatsLink, console: Console, nats_server: NatsServer,
) -> None:
    good_key, unknown_key = secrets.token_hex(8), secrets.token_hex(8)
    honest = FaceCountsMessage(
        key=good_key, node_id="edge-1", deployments=(console.deployment_id, "nosuchdep"),
        counts=(MinuteTally(camera_id="gate-1", minute=MINUTE.timestamp(), seen=2,
                            matched=0),))
    unknown = msgspec.structs.replace(honest, key=unknown_key, deployments=("nosuchdep",))
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        for key, data in ((secrets.token_hex(8), b"\xffnot counts"),
                          (unknown_key, msgspec.msgpack.encode(unknown)),
                          (good_key, msgspec.msgpack.encode(honest))):
            await js.publish("pinchpoint.counts.intruder", data,
                             headers={"Nats-Msg-Id": key})
    finally:
        await nc.close()
    ingest = CountsIngest(link, console.gov)
    task = asyncio.create_task(ingest.run())
    try:
        await until(lambda: ingest.messages == 2 and ingest.dead == 1, 20,
                    "the hostile one dead-lettered, the others settled")
        assert not task.done()
    finally:
        task.cancel()
    assert ingest.added == 1  # the known deployment's row only
    assert (await console.gov.reports.stats(console.deployment_id)).faces_seen == 2
    (letter,) = await dead_letters(nats_server)
    assert letter.reason.startswith("not a face-counts message")
