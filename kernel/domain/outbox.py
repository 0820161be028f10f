"""The outbox of confirmed alerts (R5, R6): sinks read from here, each at its own position.

Rows are written by :meth:`kernel.domain.alerts.Alerts.confirm` in the same transaction as the
confirmation, and only for confirmed watch-list alerts (the store enforces it again), so a
crash or a dead broker delays delivery but loses nothing and nothing unconfirmed leaks.
"""

from __future__ import annotations

from kernel.domain.context import DomainContext
from kernel.protocols.sink import AlertNotice


class Outbox:
    """Pending notices and per-sink acknowledgements. A dispatcher hears of new rows from the
    post-commit :class:`~kernel.domain.events.AlertDecided` (``state == "confirmed"``)."""

    def __init__(self, ctx: DomainContext) -> None:
        self.ctx = ctx

    async def pending(self, after_seq: int, limit: int = 100) -> list[AlertNotice]:
        """Notices with ``seq > after_seq``, oldest first."""
        async with self.ctx.store.transaction() as tx:
            return await tx.outbox.pending(after_seq, limit)

    async def ack(self, sink_name: str, seq: int) -> None:
        """Record that ``sink_name`` delivered everything up to ``seq``."""
        async with self.ctx.store.transaction() as tx:
            await tx.outbox.ack(sink_name, seq)

    async def position(self, sink_name: str) -> int:
        """The last seq ``sink_name`` acknowledged (0 if none)."""
        async with self.ctx.store.transaction() as tx:
            return await tx.outbox.position(sink_name)
