"""A cancelled caller must never leave the store inside a half-open transaction."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

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
