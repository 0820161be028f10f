"""An edge's face counts are never counted twice (issue 13, R20), on both stores: the console
records the message's key with the counts, so a message redelivered after the console died
between its commit and its acknowledgement adds nothing, and a replay under a key already
added (a forged or stale copy) adds nothing either. Over a real nats-server, with the real
SQLite file and the real PostgreSQL (a schema of the test's own)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest

from demo.scenario import authorised_deployment
from kernel.clock import ManualClock
from kernel.config import load as load_config
from kernel.domain.governance import Governance, open_governance
from kernel.domain.records import FaceCount
from kernel.domain.reports import COUNTS_KEY_HORIZON
from kernel.link.console_counts import CountsIngest, read_counts
from kernel.pipeline.face_counts import FaceCounter
from kernel.protocols.link import Delivery
from tests import postgres_server as pg
from tests.kernel.link.conftest import make_link
from tests.kernel.link.test_face_counts_link import MINUTE, edge_counts, fetch_all
from tests.nats_server import NatsServer


@asynccontextmanager
async def governance(kind: str, tmp: Path, monkeypatch: pytest.MonkeyPatch,
                     clock: ManualClock | None = None) -> AsyncIterator[Governance]:
    """A console's governed core on ``kind``'s store, empty."""
    path = tmp / "console.toml"
    if kind == "sqlite":
        path.write_text(f'data_dir = "{tmp / "console"}"\n[store]\ntype = "sqlite"\n')
        gov = await open_governance(load_config(path, environ={}), clock)
        try:
            yield gov
        finally:
            await gov.close()
        return
    monkeypatch.setenv(pg.PASSWORD_ENV, pg.ENVIRON[pg.PASSWORD_ENV])
    async with pg.fresh_schema() as schema:
        path.write_text(f'data_dir = "{tmp / "console"}"\n[store]\ntype = "postgres"\n'
                        f'host = "{pg.HOST}"\nport = {pg.PORT}\ndatabase = "{pg.NAME}"\n'
                        f'user = "{pg.NAME}"\npassword_env = "{pg.PASSWORD_ENV}"\n'
                        f'schema = "{schema}"\n')
        gov = await open_governance(load_config(path, environ={}), clock)
        try:
            yield gov
        finally:
            await gov.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_issue13_r20_counts_redelivered_after_their_commit_are_not_counted_twice(
    kind: str, nats_server: NatsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # redelivered after 1 s: long enough for the settle to acknowledge it first, whatever
    # the machine's load
    link = make_link(nats_server, tmp_path, ack_wait_s=1.0, publish_timeout_s=1.0)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(link.close)
        gov = await stack.enter_async_context(governance(kind, tmp_path, monkeypatch))
        dep = await authorised_deployment(gov)
        counter = FaceCounter()
        counter.seen("gate-1", MINUTE, 3)
        counter.matched("gate-1", MINUTE, 1)
        edge = edge_counts(link, counter, [dep])
        assert edge.flush() is not None
        await edge.send()
        (first,) = cast(list[Delivery], await fetch_all(link, 1))
        # the console commits the counts, then dies before acknowledging them
        counts = read_counts(first.data, first.key)
        assert await gov.reports.record_edge_counts(counts, key=first.key) == 1
        (again,) = cast(list[Delivery], await fetch_all(link, 1))  # after the ack wait
        assert (again.key, again.attempts) == (first.key, 2)
        ingest = CountsIngest(link, gov)
        assert await ingest.settle(again)
        assert (ingest.repeated, ingest.messages, ingest.added) == (1, 0, 0)
        assert await link.fetch_counts(8, 1.0) == []  # acknowledged: it never comes again
        stats = await gov.reports.stats(dep)
        assert stats.faces_seen == 3  # once


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_issue13_hostile_a_replay_under_an_added_key_adds_nothing(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A copy of a message already added, or a forged one reusing its key with other numbers
    (the broker's duplicate window long past), adds nothing; keys are forgotten only after
    :data:`COUNTS_KEY_HORIZON`."""
    clock = ManualClock(datetime.now(UTC))
    async with governance(kind, tmp_path, monkeypatch, clock) as gov:
        dep = await authorised_deployment(gov)
        honest = [FaceCount(deployment_id=dep, camera_id="gate-1", minute=MINUTE, seen=2,
                            matched=0)]
        forged = [FaceCount(deployment_id=dep, camera_id="gate-1", minute=MINUTE,
                            seen=1_000_000, matched=1_000_000)]
        assert await gov.reports.record_edge_counts(honest, key="a" * 16) == 1
        assert await gov.reports.record_edge_counts(honest, key="a" * 16) is None
        assert await gov.reports.record_edge_counts(forged, key="a" * 16) is None
        assert (await gov.reports.stats(dep)).faces_seen == 2
        # a key is kept for the horizon, then forgotten by a later message's transaction
        clock.advance(COUNTS_KEY_HORIZON - timedelta(minutes=1))
        assert await gov.reports.record_edge_counts(honest, key="b" * 16) == 1
        assert await gov.reports.record_edge_counts(honest, key="a" * 16) is None  # kept
        clock.advance(timedelta(minutes=2))
        assert await gov.reports.record_edge_counts(honest, key="c" * 16) == 1  # forgets "a"
        assert await gov.reports.record_edge_counts(honest, key="a" * 16) == 1
        assert (await gov.reports.stats(dep)).faces_seen == 8
