"""A real SQLite-backed outbox (store.sqlite) holding confirmed alerts, shared by the delivery
and sink tests (their conftests import the fixture)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.store.sqlite import SqliteStore
from kernel.clock import SystemClock
from kernel.delivery.store_outbox import StoreOutbox
from kernel.domain.records import AlertRecord, BlobRecord, DeploymentRecord, EntryRecord
from kernel.executor import BoundedExecutor
from kernel.protocols.adapter import AdapterContext


class SeededOutbox(StoreOutbox):
    """A :class:`StoreOutbox` on a fresh SQLite file, able to confirm alerts into it."""

    def __init__(self, store: SqliteStore, deployment_id: str) -> None:
        super().__init__(store)
        self.store = store
        self.deployment_id = deployment_id
        self._n = 0

    async def setup(self) -> None:
        now = datetime.now(UTC)
        d = self.deployment_id
        async with self.store.transaction() as tx:
            await tx.deployments.insert(DeploymentRecord(
                id=d, name="test", authorising_officer="Supt A", location="gate",
                starts_at=now, ends_at=now, objectives="test", case_reference="T/1",
                command_team=[], state="live", created_at=now, created_by="admin"))
            await tx.blobs.insert(BlobRecord(id=f"{d}-b", deployment_id=d, kind="details",
                                            nonce=b"\0" * 12, ciphertext=b"sealed"))
            await tx.watchlists.insert_entry(EntryRecord(
                id=f"{d}-e", deployment_id=d, list="watch", category="wanted",
                marking="OFFICIAL-SENSITIVE", details_blob=f"{d}-b", created_at=now,
                created_by="admin"))

    async def wait_position(self, sink: str, seq: int, timeout: float = 10.0) -> int:
        """The sink's acknowledged position once it has reached ``seq`` (bounded wait).

        A dispatcher acknowledges *after* the sink delivered: a device can hold a message
        before its position is written, so a test reads the position only through this."""
        async with asyncio.timeout(timeout):
            while (position := await self.position(sink)) < seq:
                await asyncio.sleep(0.01)
        return position

    async def confirm(self, count: int = 1) -> list[int]:
        """Confirm ``count`` new alerts: alert and outbox row in one transaction each."""
        seqs = []
        for _ in range(count):
            self._n += 1
            now = datetime.now(UTC)
            d = self.deployment_id
            async with self.store.transaction() as tx:
                await tx.alerts.insert(AlertRecord(
                    id=f"alert-{self._n:04d}", deployment_id=d, entry_id=f"{d}-e",
                    list="watch", category="wanted", camera_id="gate-1", score=0.9,
                    captured_at=now, created_at=now, state="confirmed",
                    face_blob=f"{d}-b", torso_blob=f"{d}-b"))
                seqs.append(await tx.outbox.insert(f"alert-{self._n:04d}", now))
        return seqs


@pytest.fixture
async def sqlite_outbox(tmp_path: Path) -> AsyncIterator[SeededOutbox]:
    executor = BoundedExecutor(1, 1)
    context = AdapterContext(name="store", data_dir=tmp_path, executor=executor,
                             clock=SystemClock(), log=logging.getLogger("test.store"))
    store = SqliteStore(SqliteStore.Config(), context)
    await store.open()
    outbox = SeededOutbox(store, "dep-1")
    await outbox.setup()
    try:
        yield outbox
    finally:
        await store.close()
        executor.shutdown()
