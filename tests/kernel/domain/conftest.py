"""Fixtures of the governed core's tests: a real SQLite store in a temp data dir, a manual
clock, and helpers that look at the database file and the key files directly."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.store.sqlite import SqliteStore
from kernel.clock import ManualClock
from kernel.domain.crypto import KeyRing
from kernel.domain.governance import Governance
from kernel.executor import BoundedExecutor
from kernel.protocols.adapter import AdapterContext

TABLES = ("deployments", "transitions", "blobs", "entries", "photos", "reviews", "blue_walks",
          "alerts", "outbox", "sink_positions", "audit", "disposals", "face_counts")


def rows(db: Path) -> dict[str, int]:
    """Row counts per table, read through a separate read-only connection."""
    con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        con.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))


async def open_governance_at(data_dir: Path, clock: ManualClock) -> Governance:
    """The services over a real SQLite file in ``data_dir`` (master key made there)."""
    context = AdapterContext(name="sqlite", data_dir=data_dir, executor=BoundedExecutor(1, 1),
                             clock=clock, log=logging.getLogger("test.store"))
    store = SqliteStore(SqliteStore.Config(), context)
    await store.open()
    keys = KeyRing(data_dir, environ={})
    await keys.open()
    return Governance(store, keys, clock)


@pytest.fixture
async def gov(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Governance]:
    g = await open_governance_at(tmp_path, clock)
    yield g
    await g.close()
