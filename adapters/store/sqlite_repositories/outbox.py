"""``tx.outbox`` on SQLite: tables ``outbox`` and ``sink_positions``. The trigger
``outbox_confirmed_only`` refuses a row for an alert that is not a confirmed watch-list
alert (R5)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from adapters.store import rows
from adapters.store.sqlite_repositories.base import SqliteRepository, ts
from kernel.errors import StoreError
from kernel.protocols.sink import AlertNotice


class SqliteOutbox(SqliteRepository):
    """:class:`kernel.protocols.store.OutboxRepository` on SQLite."""

    async def insert(self, alert_id: str, confirmed_at: datetime) -> int:
        try:
            async with self._con.execute(
                "INSERT INTO outbox (alert_id, deployment_id, category, camera_id, confirmed_at)"
                " SELECT id, deployment_id, category, camera_id, ? FROM alerts WHERE id=?",
                (ts(confirmed_at), alert_id)) as cur:
                if cur.rowcount != 1:
                    raise StoreError(f"outbox: no alert {alert_id}")
                return int(cur.lastrowid or 0)
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"outbox refused alert {alert_id}: {exc}") from None

    async def pending(self, after_seq: int, limit: int) -> list[AlertNotice]:
        found = await self._all("SELECT * FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                                (after_seq, limit))
        return [rows.notice(r) for r in found]

    async def ack(self, sink_name: str, seq: int) -> None:
        await self._run("INSERT INTO sink_positions (sink_name, seq) VALUES (?, ?)"
                        " ON CONFLICT(sink_name) DO UPDATE SET seq=max(seq, excluded.seq)",
                        (sink_name, seq))

    async def position(self, sink_name: str) -> int:
        r = await self._one("SELECT seq FROM sink_positions WHERE sink_name=?", (sink_name,))
        return 0 if r is None else int(r["seq"])
