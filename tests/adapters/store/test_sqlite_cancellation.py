"""A cancelled caller must never leave the store inside a half-open transaction."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from adapters.store.sqlite import SqliteStore
from kernel.clock import SystemClock
from kernel.executor import BoundedExecutor
from kernel.protocols.adapter import AdapterContext


def make_store(tmp_path: Path) -> SqliteStore:
    ctx = AdapterContext("sqlite", tmp_path, BoundedExecutor(1, 1), SystemClock(),
                         logging.getLogger("t"))
    return SqliteStore(SqliteStore.Config(), ctx)


async def test_cancel_during_begin_leaves_store_usable(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    await store.open()
    for _ in range(20):
        async def one() -> None:
            async with store.transaction() as tx:
                await tx.deployments.all()

        task = asyncio.create_task(one())
        await asyncio.sleep(0)  # let it queue BEGIN, then cancel it mid-await
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    # A jammed connection would fail here ("transaction within a transaction") or hang.
    async with asyncio.timeout(10):
        async with store.transaction() as tx:
            assert await tx.deployments.all() == []
        await store.close()


async def _deferred_violation(store: SqliteStore) -> aiosqlite.Connection:
    """A temp table whose deferred foreign key fails only at COMMIT: SQLite then keeps the
    transaction open (a COMMIT that fails for a lock or a constraint does not roll back)."""
    con = store._con
    assert con is not None
    await con.execute("CREATE TEMP TABLE p (id INTEGER PRIMARY KEY)")
    await con.execute("CREATE TEMP TABLE c (p INTEGER REFERENCES p(id) "
                      "DEFERRABLE INITIALLY DEFERRED)")
    return con


async def test_issue12_finding7_failed_commit_leaves_no_transaction(tmp_path: Path) -> None:
    """A COMMIT that fails (here a deferred constraint) propagates its error, and the shared
    connection is rolled back: the next BEGIN IMMEDIATE works."""
    store = make_store(tmp_path)
    await store.open()
    con = await _deferred_violation(store)
    with pytest.raises(sqlite3.IntegrityError):
        async with store.transaction():
            await con.execute("INSERT INTO c VALUES (1)")
    assert not con.in_transaction
    async with asyncio.timeout(10):
        async with store.transaction() as tx:
            assert await tx.deployments.all() == []
        await store.close()


async def test_issue12_finding7_cancel_while_commit_is_awaited_leaves_no_transaction(
        tmp_path: Path) -> None:
    """A cancellation that lands while COMMIT is awaited: the COMMIT still runs on
    aiosqlite's thread; if it fails, the transaction must not stay open behind the caller."""
    store = make_store(tmp_path)
    await store.open()
    con = await _deferred_violation(store)
    loop = asyncio.get_running_loop()

    async def one() -> None:
        async with store.transaction():
            await con.execute("INSERT INTO c VALUES (1)")
            # fires once the body is over and COMMIT is queued and awaited
            loop.call_soon(task.cancel)

    task = asyncio.create_task(one())
    result = await asyncio.gather(task, return_exceptions=True)
    assert isinstance(result[0], asyncio.CancelledError | sqlite3.IntegrityError), result
    assert not con.in_transaction
    async with asyncio.timeout(10):
        async with store.transaction() as tx:
            assert await tx.deployments.all() == []
        await store.close()


async def test_issue12_finding7_cancel_in_body_and_during_rollback_leaves_no_transaction(
        tmp_path: Path) -> None:
    """Cancelled in the body, then again while the ROLLBACK is awaited: once the caller has
    gone, the connection is out of the transaction (not merely about to be)."""
    store = make_store(tmp_path)
    await store.open()
    con = store._con
    assert con is not None
    entered = asyncio.Event()

    async def one() -> None:
        async with store.transaction() as tx:
            entered.set()
            await tx.deployments.all()
            await asyncio.Event().wait()

    for _ in range(10):
        entered.clear()
        task = asyncio.create_task(one())
        await entered.wait()
        task.cancel()
        await asyncio.sleep(0)
        task.cancel()  # a second cancellation lands on the ROLLBACK's await
        await asyncio.gather(task, return_exceptions=True)
        assert not con.in_transaction
    await store.close()


async def test_issue12_finding7_rollback_after_sqlite_rolled_back_keeps_the_original_error(
        tmp_path: Path) -> None:
    """SQLite rolls back by itself on some errors (SQLITE_FULL, an interrupt); the ROLLBACK
    that follows must not be sent and must not replace the original error."""
    store = make_store(tmp_path)
    await store.open()
    con = store._con
    assert con is not None

    class Original(Exception):
        pass

    with pytest.raises(Original):
        async with store.transaction():
            await con.execute("ROLLBACK")  # what SQLite does on SQLITE_FULL
            raise Original
    assert not con.in_transaction
    async with store.transaction() as tx:
        assert await tx.deployments.all() == []
    await store.close()
