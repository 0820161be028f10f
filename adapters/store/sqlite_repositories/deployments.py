"""``tx.deployments`` on SQLite: tables ``deployments`` and ``transitions``."""

from __future__ import annotations

import json
from typing import Any

from adapters.store import rows
from adapters.store.sqlite_repositories.base import SqliteRepository, ts
from kernel.domain.records import DeploymentRecord, TransitionRecord


def _dep_row(rec: DeploymentRecord) -> tuple[Any, ...]:
    return (rec.name, rec.authorising_officer, rec.location, ts(rec.starts_at),
            ts(rec.ends_at), rec.objectives, rec.case_reference,
            json.dumps(rec.command_team), rec.state, ts(rec.created_at), rec.created_by,
            rec.watchlist_version, rec.match_threshold, ts(rec.live_at),
            ts(rec.ended_at), rec.console, rec.id)


class SqliteDeployments(SqliteRepository):
    """:class:`kernel.protocols.store.DeploymentRepository` on SQLite."""

    async def insert(self, rec: DeploymentRecord) -> None:
        await self._run(
            "INSERT INTO deployments (name, authorising_officer, location, starts_at, ends_at,"
            " objectives, case_reference, command_team, state, created_at, created_by,"
            " watchlist_version, match_threshold, live_at, ended_at, console, id)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", _dep_row(rec))

    async def update(self, rec: DeploymentRecord) -> None:
        await self._run(
            "UPDATE deployments SET name=?, authorising_officer=?, location=?, starts_at=?,"
            " ends_at=?, objectives=?, case_reference=?, command_team=?, state=?,"
            " created_at=?, created_by=?, watchlist_version=?, match_threshold=?, live_at=?,"
            " ended_at=?, console=? WHERE id=?", _dep_row(rec))

    async def get(self, deployment_id: str) -> DeploymentRecord | None:
        row = await self._one("SELECT * FROM deployments WHERE id=?", (deployment_id,))
        return None if row is None else rows.deployment(row)

    async def all(self) -> list[DeploymentRecord]:
        found = await self._all("SELECT * FROM deployments ORDER BY created_at, id")
        return [rows.deployment(r) for r in found]

    async def insert_transition(self, rec: TransitionRecord) -> None:
        await self._run("INSERT INTO transitions (deployment_id, from_state, to_state, actor, at)"
                        " VALUES (?,?,?,?,?)", (rec.deployment_id, rec.from_state, rec.to_state,
                                                rec.actor, ts(rec.at)))

    async def transitions(self, deployment_id: str) -> list[TransitionRecord]:
        found = await self._all("SELECT * FROM transitions WHERE deployment_id=? ORDER BY id",
                                (deployment_id,))
        return [rows.transition(r) for r in found]

    async def delete(self, deployment_id: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        params = (deployment_id,)
        # children first, so that the counts are exact and RESTRICT keys never fire
        counts["outbox"] = await self._run("DELETE FROM outbox WHERE deployment_id=?", params)
        counts["alert"] = await self._run("DELETE FROM alerts WHERE deployment_id=?", params)
        counts["blue_walk"] = await self._run("DELETE FROM blue_walks WHERE deployment_id=?",
                                              params)
        counts["photo"] = await self._run("DELETE FROM photos WHERE deployment_id=?", params)
        counts["entry"] = await self._run("DELETE FROM entries WHERE deployment_id=?", params)
        counts["review"] = await self._run("DELETE FROM reviews WHERE deployment_id=?", params)
        counts["face_count"] = await self._run("DELETE FROM face_counts WHERE deployment_id=?",
                                               params)
        counts["blob"] = await self._run("DELETE FROM blobs WHERE deployment_id=?", params)
        counts["transition"] = await self._run("DELETE FROM transitions WHERE deployment_id=?",
                                               params)
        counts["deployment"] = await self._run("DELETE FROM deployments WHERE id=?", params)
        return counts
