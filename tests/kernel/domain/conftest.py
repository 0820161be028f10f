"""Fixtures of the governed core's tests: a real store in a temp data dir (SQLite; a module
overriding ``store_kind`` with ``params=["sqlite", "postgres"]`` runs on both, issue 13), a
manual clock, and helpers that look at the stored data and the key files directly.

On PostgreSQL the data directory still holds the keys; the rows live in a schema of the test
server of their own (:mod:`tests.postgres_server`), dropped after the test. :func:`rows` and
:func:`stored_bytes` take the path the SQLite file would have and read whichever store the
test's data directory uses."""

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
from kernel.protocols.store import Store
from tests import postgres_server as pg

TABLES = ("deployments", "transitions", "blobs", "entries", "photos", "reviews", "blue_walks",
          "alerts", "outbox", "sink_positions", "audit", "disposals", "face_counts")


def rows(db: Path) -> dict[str, int]:
    """Row counts per table, read through a separate read-only connection."""
    schema = pg.SCHEMAS.get(db.parent)
    if schema is not None:
        return pg.count_rows(schema, TABLES)
    con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        con.close()


def stored_bytes(db: Path) -> bytes:
    """Everything the store holds, as bytes: the SQLite file and its write-ahead log, or every
    value of every table of the PostgreSQL schema (``bytea`` as stored, text as UTF-8)."""
    schema = pg.SCHEMAS.get(db.parent)
    if schema is not None:
        return pg.dump_bytes(schema)
    wal = db.with_name(db.name + "-wal")
    return db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


@pytest.fixture
def store_kind() -> str:
    """The store the governed core runs on; a module overrides it to run on both."""
    return "sqlite"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))


async def open_governance_at(data_dir: Path, clock: ManualClock) -> Governance:
    """The services over a real store for ``data_dir`` (master key made there): SQLite, or
    the PostgreSQL schema registered for it in :data:`tests.postgres_server.SCHEMAS`."""
    store: Store
    schema = pg.SCHEMAS.get(data_dir)
    if schema is not None:
        store = pg.store(pg.config(schema), data_dir, clock)
    else:
        context = AdapterContext(name="sqlite", data_dir=data_dir,
                                 executor=BoundedExecutor(1, 1), clock=clock,
                                 log=logging.getLogger("test.store"))
        store = SqliteStore(SqliteStore.Config(), context)
    await store.open()
    keys = KeyRing(data_dir, environ={})
    await keys.open()
    return Governance(store, keys, clock)


@pytest.fixture
async def gov(tmp_path: Path, clock: ManualClock, store_kind: str
              ) -> AsyncIterator[Governance]:
    if store_kind == "sqlite":
        g = await open_governance_at(tmp_path, clock)
        yield g
        await g.close()
        return
    async with pg.fresh_schema() as schema:
        pg.SCHEMAS[tmp_path] = schema
        try:
            g = await open_governance_at(tmp_path, clock)
            yield g
            await g.close()
        finally:
            del pg.SCHEMAS[tmp_path]
