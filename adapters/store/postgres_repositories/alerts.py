"""``tx.alerts`` on PostgreSQL: table ``alerts``. The composite foreign key (entry,
deployment) refuses an alert whose entry is not in its deployment (R3)."""

from __future__ import annotations

from typing import Any

from adapters.store import rows
from adapters.store.postgres_repositories.base import PostgresRepository
from kernel.domain.records import AlertRecord, ListKind
from kernel.errors import StoreError

_COLS = ("deployment_id", "entry_id", "list", "category", "camera_id", "score", "captured_at",
         "created_at", "state", "face_blob", "torso_blob", "decided_by", "decided_at",
         "outcome", "outcome_by", "outcome_at", "hold", "hold_by", "hold_at", "released_by",
         "released_at", "episode_id", "seen_again", "id")
_INSERT = (f"INSERT INTO alerts ({', '.join(_COLS)}) VALUES"
           f" ({', '.join(f'${i}' for i in range(1, len(_COLS) + 1))})")
_UPDATE = (f"UPDATE alerts SET {', '.join(f'{c}=${i}' for i, c in enumerate(_COLS[:-1], 1))}"
           f" WHERE id=${len(_COLS)}")


def _params(rec: AlertRecord) -> tuple[Any, ...]:
    return (rec.deployment_id, rec.entry_id, rec.list, rec.category, rec.camera_id, rec.score,
            rec.captured_at, rec.created_at, rec.state, rec.face_blob, rec.torso_blob,
            rec.decided_by, rec.decided_at, rec.outcome, rec.outcome_by, rec.outcome_at,
            rec.hold, rec.hold_by, rec.hold_at, rec.released_by, rec.released_at, rec.episode_id,
            rec.seen_again, rec.id)


class PostgresAlerts(PostgresRepository):
    """:class:`kernel.protocols.store.AlertRepository` on PostgreSQL."""

    async def insert(self, rec: AlertRecord) -> None:
        try:
            await self._run(_INSERT, _params(rec))
        except StoreError as exc:
            raise StoreError(f"alert refused: entry {rec.entry_id} is not an entry of "
                             f"deployment {rec.deployment_id} ({exc})") from None

    async def update(self, rec: AlertRecord) -> None:
        await self._run(_UPDATE, _params(rec))

    async def get(self, alert_id: str) -> AlertRecord | None:
        r = await self._one("SELECT * FROM alerts WHERE id=$1", (alert_id,))
        return None if r is None else rows.alert(r)

    async def in_deployment(self, deployment_id: str) -> list[AlertRecord]:
        found = await self._all("SELECT * FROM alerts WHERE deployment_id=$1"
                                ' ORDER BY created_at, id COLLATE "C"', (deployment_id,))
        return [rows.alert(r) for r in found]

    async def of_entry(self, deployment_id: str, entry_id: str) -> list[AlertRecord]:
        found = await self._all("SELECT * FROM alerts WHERE deployment_id=$1 AND entry_id=$2"
                                ' ORDER BY captured_at, created_at, id COLLATE "C"',
                                (deployment_id, entry_id))
        return [rows.alert(r) for r in found]

    async def delete(self, alert_ids: list[str]) -> int:
        return await self._delete_in("alerts", "id", alert_ids)

    async def in_states(self, deployment_id: str | None, states: list[str],
                        list_kind: ListKind = "watch") -> list[AlertRecord]:
        # officers' list: R5 enforced in the query
        if not states:
            return []
        sql = "SELECT * FROM alerts WHERE list=$1 AND state = ANY($2::text[])"
        params: list[Any] = [list_kind, states]
        if deployment_id is not None:
            sql += " AND deployment_id=$3"
            params.append(deployment_id)
        found = await self._all(sql + ' ORDER BY created_at, id COLLATE "C"', params)
        return [rows.alert(r) for r in found]
