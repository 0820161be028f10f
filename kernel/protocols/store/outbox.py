"""The outbox (R5, R6): notices of confirmed alerts, and how far each sink has read."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from kernel.protocols.sink import AlertNotice


class OutboxRepository(Protocol):
    """``tx.outbox``: one shared, ``seq``-ordered queue of :class:`AlertNotice` and one read
    position per sink. Notices carry ids only (R6)."""

    async def insert(self, alert_id: str, confirmed_at: datetime) -> int:
        """Queue a notice of a confirmed alert; returns its seq. The store itself refuses
        (raises :class:`kernel.errors.StoreError`) an alert that is absent, not ``confirmed``
        or a blue-list event (R5), as a second line behind the domain."""
        ...

    async def pending(self, after_seq: int, limit: int) -> list[AlertNotice]:
        """Up to ``limit`` notices whose seq is greater than ``after_seq``, in seq order."""
        ...

    async def ack(self, sink_name: str, seq: int) -> None:
        """Record that ``sink_name`` has delivered up to ``seq``; a position never goes
        backwards."""
        ...

    async def position(self, sink_name: str) -> int:
        """The last seq acknowledged by ``sink_name`` (0: none)."""
        ...
