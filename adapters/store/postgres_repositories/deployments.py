"""``tx.deployments`` on PostgreSQL: tables ``deployments`` and ``transitions``."""

from __future__ import annotations

import json
from typing import Any

from adapters.store import rows
from adapters.store.postgres_repositories.base import PostgresRepository
from kernel.domain.records import DeploymentRecord, TransitionRecord

_COLS = ("name", "authorising_officer", "location", "starts_at", "ends_at", "objectives",
         "case_reference", "command_team", "state", "created_at", "created_by",
         "watchlist_version", "match_threshold", "live_at", "ended_at", "console", "id")
_INSERT = (f"INSERT INTO deployments ({', '.join(_COLS)}) VALUES"
           f" ({', '.join(f'${i}' for i in range(1, len(_COLS) + 1))})")
_UPDATE = (f"UPDATE deployments SET"
           f" {', '.join(f'{c}=${i}' for i, c in enumerate(_COLS[:-1], 1))}"
           f" WHERE id=${len(_COLS)}")

# children first, so that the counts are exact and RESTRICT keys never fire (R16)
_OWNED = (("outbox", "outbox", "deployment_id"), ("alert", "alerts", "deployment_id"),
          ("blue_walk", "blue_walks", "deployment_id"), ("photo", "photos", "deployment_id"),
          ("entry", "entries", "deployment_id"), ("review", "reviews", "deployment_id"),
          ("face_count", "face_counts", "deployment_id"), ("blob", "blobs", "deployment_id"),
          ("transition", "transitions", "deployment_id"), ("deployment", "deployments", "id"))


def _params(rec: DeploymentRecord) -> tuple[Any, ...]:
    return (rec.name, rec.authorising_officer, rec.location, rec.starts_at, rec.ends_at,
            rec.objectives, rec.case_reference, json.dumps(rec.command_team), rec.state,
            rec.created_at, rec.created_by, rec.watchlist_version, rec.match_threshold,
            rec.live_at, rec.ended_at, rec.console, rec.id)


class PostgresDeployments(PostgresRepository):
    """:class:`kernel.protocols.store.DeploymentRepository` on PostgreSQL."""

    async def insert(self, rec: DeploymentRecord) -> None:
        await self._run(_INSERT, _params(rec))

    async def update(self, rec: DeploymentRecord) -> None:
        await self._run(_UPDATE, _params(rec))

    async def get(self, deployment_id: str) -> DeploymentRecord | None:
        r = await self._one("SELECT * FROM deployments WHERE id=$1", (deployment_id,))
        return None if r is None else rows.deployment(r)

    async def all(self) -> list[DeploymentRecord]:
        found = await self._all('SELECT * FROM deployments ORDER BY created_at, id COLLATE "C"')
        return [rows.deployment(r) for r in found]

    async def insert_transition(self, rec: TransitionRecord) -> None:
        await self._run("INSERT INTO transitions (deployment_id, from_state, to_state, actor,"
                        " at) VALUES ($1,$2,$3,$4,$5)",
                        (rec.deployment_id, rec.from_state, rec.to_state, rec.actor, rec.at))

    async def transitions(self, deployment_id: str) -> list[TransitionRecord]:
        found = await self._all("SELECT * FROM transitions WHERE deployment_id=$1 ORDER BY id",
                                (deployment_id,))
        return [rows.transition(r) for r in found]

    async def delete(self, deployment_id: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for kind, table, column in _OWNED:
            counts[kind] = await self._run(f"DELETE FROM {table} WHERE {column}=$1",
                                           (deployment_id,))
        return counts
