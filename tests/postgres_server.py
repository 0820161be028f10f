"""The real PostgreSQL server of the tests (127.0.0.1:5432, role and database
``pinchpoint_test``, made by ``scripts/setup.sh test``) and an isolated schema per test.

Each test gets a schema of its own, created empty and dropped with everything in it
afterwards, so that tests never see each other's rows. Without a reachable server a test
that needs it is skipped, saying why and how to get one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import AsyncIterator, Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest

from adapters.store.postgres import PostgresStore
from kernel.clock import Clock, ManualClock
from kernel.executor import BoundedExecutor
from kernel.protocols.adapter import AdapterContext

HOST = os.environ.get("PINCHPOINT_TEST_PG_HOST", "127.0.0.1")
PORT = int(os.environ.get("PINCHPOINT_TEST_PG_PORT", "5432"))
NAME = "pinchpoint_test"  # role and database
PASSWORD_ENV = "PINCHPOINT_TEST_PG_PASSWORD"
ENVIRON: Mapping[str, str] = {PASSWORD_ENV: os.environ.get(PASSWORD_ENV, "pinchpoint_test")}

T = TypeVar("T")

# data directory -> the schema of its store, for helpers that are handed a data directory only
# (kept here, not in a conftest: pytest may import a conftest twice under two names)
SCHEMAS: dict[Path, str] = {}

_reachable: str | None = None  # "" when reachable, else why not


async def _check() -> str:
    try:
        con = await asyncpg.connect(host=HOST, port=PORT, user=NAME, database=NAME,
                                    password=ENVIRON[PASSWORD_ENV], timeout=5)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
        return (f"PostgreSQL {NAME}@{HOST}:{PORT}/{NAME} unreachable ({type(exc).__name__}: "
                f"{exc}); run scripts/setup.sh test (it installs and starts the server)")
    await con.close()
    return ""


async def require_server() -> None:
    """Skip the calling test when the test server cannot be reached (checked once)."""
    global _reachable
    if _reachable is None:
        _reachable = await _check()
    if _reachable:
        pytest.skip(_reachable)


async def admin() -> asyncpg.Connection:
    """A connection as the test role to the test database (outside any Pinchpoint schema)."""
    return await asyncpg.connect(host=HOST, port=PORT, user=NAME, database=NAME,
                                 password=ENVIRON[PASSWORD_ENV], timeout=10)


def config(schema: str, **overrides: object) -> PostgresStore.Config:
    fields: dict[str, object] = {"host": HOST, "port": PORT, "database": NAME, "user": NAME,
                                 "password_env": PASSWORD_ENV, "schema": schema,
                                 "pool_max": 2, "connect_timeout_s": 5.0}
    fields.update(overrides)
    return PostgresStore.Config(**fields)  # type: ignore[arg-type]


def store(cfg: PostgresStore.Config, data_dir: Path, clock: Clock | None = None,
          environ: Mapping[str, str] | None = None) -> PostgresStore:
    context = AdapterContext(name="postgres", data_dir=data_dir,
                             executor=BoundedExecutor(1, 1), clock=clock or ManualClock(),
                             log=logging.getLogger("test.postgres"))
    return PostgresStore(cfg, context, environ=ENVIRON if environ is None else environ)


@asynccontextmanager
async def fresh_schema() -> AsyncIterator[str]:
    """The name of a new schema no other test uses, dropped with its contents afterwards
    (skips the test when the server is unreachable)."""
    await require_server()
    name = f"t_{uuid.uuid4().hex[:16]}"
    try:
        yield name
    finally:
        con = await admin()
        try:
            await con.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        finally:
            await con.close()


def _in_thread(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` on an event loop of its own in a worker thread: callable from sync helpers
    that an async test calls, without re-entering the test's loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result(timeout=60)


def dump_bytes(schema: str) -> bytes:
    """Every value of every table of ``schema``: ``bytea`` as stored, the rest as UTF-8 text
    (what a copy of the database would show of it)."""
    async def dump() -> bytes:
        con = await admin()
        try:
            tables = await con.fetch("SELECT table_name FROM information_schema.tables"
                                     " WHERE table_schema=$1", schema)
            out = bytearray()
            for t in tables:
                for row in await con.fetch(f"SELECT * FROM {schema}.{t['table_name']}"):
                    for value in row.values():
                        out += value if isinstance(value, bytes) else str(value).encode()
                        out += b"\0"
            return bytes(out)
        finally:
            await con.close()

    return _in_thread(dump())


def count_rows(schema: str, tables: tuple[str, ...]) -> dict[str, int]:
    """Row counts per table of ``schema``, through a connection of its own (callable from sync
    code: it runs its own event loop on a worker thread)."""
    async def counts() -> dict[str, int]:
        con = await admin()
        try:
            return {t: int(await con.fetchval(f"SELECT count(*) FROM {schema}.{t}"))
                    for t in tables}
        finally:
            await con.close()

    return _in_thread(counts())
