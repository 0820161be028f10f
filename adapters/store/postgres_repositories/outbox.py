"""``tx.outbox`` on PostgreSQL: tables ``outbox`` and ``sink_positions``. The trigger
``outbox_confirmed_only`` refuses a row for an alert that is not a confirmed watch-list
alert (R5)."""

from __future__ import annotations

from datetime import datetime

from adapters.store import rows
from adapters.store.postgres_repositories.base import PostgresRepository
from kernel.errors import StoreError
from kernel.protocols.sink import AlertNotice


class PostgresOutbox(PostgresRepository):
    """:class:`kernel.protocols.store.OutboxRepository` on PostgreSQL."""

    async def insert(self, alert_id: str, confirmed_at: datetime) -> int:
        try:
            seq = await self._value(
                "INSERT INTO outbox (alert_id, deployment_id, category, camera_id, confirmed_at)"
                " SELECT id, deployment_id, category, camera_id, $1 FROM alerts WHERE id=$2"
                " RETURNING seq", (confirmed_at, alert_id))
        except StoreError as exc:
            raise StoreError(f"outbox refused alert {alert_id}: {exc}") from None
        if seq is None:
            raise StoreError(f"outbox: no alert {alert_id}")
        return int(seq)

    async def pending(self, after_seq: int, limit: int) -> list[AlertNotice]:
        found = await self._all("SELECT * FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2",
                                (after_seq, limit))
        return [rows.notice(r) for r in found]

    async def ack(self, sink_name: str, seq: int) -> None:
        await self._run("INSERT INTO sink_positions (sink_name, seq) VALUES ($1, $2)"
                        " ON CONFLICT (sink_name) DO UPDATE"
                        " SET seq=greatest(sink_positions.seq, excluded.seq)", (sink_name, seq))

    async def position(self, sink_name: str) -> int:
        seq = await self._value("SELECT seq FROM sink_positions WHERE sink_name=$1",
                                (sink_name,))
        return 0 if seq is None else int(seq)
