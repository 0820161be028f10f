"""``tx.alerts`` on SQLite: table ``alerts``. The composite foreign key (entry, deployment)
refuses an alert whose entry is not in its deployment (R3)."""

from __future__ import annotations

import sqlite3
from typing import Any

from adapters.store import rows
from adapters.store.sqlite_repositories.base import SqliteRepository, ts
from kernel.domain.records import AlertRecord, ListKind
from kernel.errors import StoreError

_ALERT_COLS = ("deployment_id, entry_id, list, category, camera_id, score, captured_at,"
               " created_at, state, face_blob, torso_blob, decided_by, decided_at, outcome,"
               " outcome_by, outcome_at, hold, hold_by, hold_at, released_by, released_at,"
               " episode_id, seen_again, id")


def _alert_row(rec: AlertRecord) -> tuple[Any, ...]:
    return (rec.deployment_id, rec.entry_id, rec.list, rec.category, rec.camera_id,
            rec.score, ts(rec.captured_at), ts(rec.created_at), rec.state, rec.face_blob,
            rec.torso_blob, rec.decided_by, ts(rec.decided_at), rec.outcome,
            rec.outcome_by, ts(rec.outcome_at), int(rec.hold), rec.hold_by,
            ts(rec.hold_at), rec.released_by, ts(rec.released_at), rec.episode_id,
            int(rec.seen_again), rec.id)


class SqliteAlerts(SqliteRepository):
    """:class:`kernel.protocols.store.AlertRepository` on SQLite."""

    async def insert(self, rec: AlertRecord) -> None:
        try:
            await self._run(f"INSERT INTO alerts ({_ALERT_COLS}) VALUES"
                            f" ({','.join('?' * 24)})", _alert_row(rec))
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"alert refused: entry {rec.entry_id} is not an entry of "
                             f"deployment {rec.deployment_id} ({exc})") from None

    async def update(self, rec: AlertRecord) -> None:
        sets = ", ".join(f"{c.strip()}=?" for c in _ALERT_COLS.split(",")[:-1])
        await self._run(f"UPDATE alerts SET {sets} WHERE id=?", _alert_row(rec))

    async def get(self, alert_id: str) -> AlertRecord | None:
        r = await self._one("SELECT * FROM alerts WHERE id=?", (alert_id,))
        return None if r is None else rows.alert(r)

    async def in_deployment(self, deployment_id: str) -> list[AlertRecord]:
        found = await self._all("SELECT * FROM alerts WHERE deployment_id=?"
                                " ORDER BY created_at, id", (deployment_id,))
        return [rows.alert(r) for r in found]

    async def of_entry(self, deployment_id: str, entry_id: str) -> list[AlertRecord]:
        found = await self._all("SELECT * FROM alerts WHERE deployment_id=? AND entry_id=?"
                                " ORDER BY captured_at, created_at, id",
                                (deployment_id, entry_id))
        return [rows.alert(r) for r in found]

    async def delete(self, alert_ids: list[str]) -> int:
        return await self._delete_in("alerts", "id", alert_ids)

    async def in_states(self, deployment_id: str | None, states: list[str],
                        list_kind: ListKind = "watch") -> list[AlertRecord]:
        # officers' list: R5 enforced in the query
        if not states:
            return []
        marks = ",".join("?" * len(states))
        sql = f"SELECT * FROM alerts WHERE list=? AND state IN ({marks})"
        params: list[Any] = [list_kind, *states]
        if deployment_id is not None:
            sql += " AND deployment_id=?"
            params.append(deployment_id)
        found = await self._all(sql + " ORDER BY created_at, id", params)
        return [rows.alert(r) for r in found]
