"""The dispatcher's :class:`~kernel.delivery.dispatcher.Outbox` on top of a
:class:`~kernel.protocols.store.Store`: one shared, ``seq``-ordered outbox table and one
acknowledged position per sink (``tx.outbox.position`` / ``tx.outbox.ack``)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar

from kernel.protocols.sink import AlertNotice
from kernel.protocols.store import StoreTx

T = TypeVar("T")


def _consume(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not report it as lost


async def _whole(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to its end even if the caller is cancelled meanwhile.

    A sink loop is cancelled at shutdown at any await; a store transaction cut between its
    BEGIN and its COMMIT/ROLLBACK could leave the connection inside a transaction. Shielded,
    the short transaction finishes (or rolls back) by itself and the caller still sees the
    cancellation at once.
    """
    task = asyncio.ensure_future(coro)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.add_done_callback(_consume)
        raise


class Transactional(Protocol):
    """The part of :class:`kernel.protocols.store.Store` this module needs."""

    def transaction(self) -> AbstractAsyncContextManager[StoreTx]: ...


class StoreOutbox:
    """Reads and acknowledges outbox notices through short store transactions."""

    def __init__(self, store: Transactional) -> None:
        self._store = store

    async def pending(self, sink: str, limit: int) -> list[AlertNotice]:
        """Up to ``limit`` notices after ``sink``'s acknowledged position, ascending."""
        return await _whole(self._pending(sink, limit))

    async def _pending(self, sink: str, limit: int) -> list[AlertNotice]:
        async with self._store.transaction() as tx:
            position = await tx.outbox.position(sink)
            return await tx.outbox.pending(position, limit)

    async def ack(self, sink: str, seq: int) -> None:
        """Move ``sink``'s position to ``seq`` (never backwards); committed on return."""
        await _whole(self._ack(sink, seq))

    async def _ack(self, sink: str, seq: int) -> None:
        async with self._store.transaction() as tx:
            await tx.outbox.ack(sink, seq)

    async def position(self, sink: str) -> int:
        """The last ``seq`` that ``sink`` acknowledged (0 when none)."""
        return await _whole(self._position(sink))

    async def _position(self, sink: str) -> int:
        async with self._store.transaction() as tx:
            return await tx.outbox.position(sink)
