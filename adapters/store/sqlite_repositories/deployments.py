"""``tx.deployments`` on SQLite: tables ``deployments`` and ``transitions``."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from adapters.store.sqlite_repositories.base import SqliteRepository, dt, req_dt, ts
from kernel.domain.records import DeploymentRecord, TransitionRecord


def _dep_row(rec: DeploymentRecord) -> tuple[Any, ...]:
    return (rec.name, rec.authorising_officer, rec.location, ts(rec.starts_at),
            ts(rec.ends_at), rec.objectives, rec.case_reference,
            json.dumps(rec.command_team), rec.state, ts(rec.created_at), rec.created_by,
            rec.watchlist_version, rec.match_threshold, ts(rec.live_at),
            ts(rec.ended_at), rec.id)


def _dep(row: sqlite3.Row) -> DeploymentRecord:
    return DeploymentRecord(
        id=row["id"], name=row["name"], authorising_officer=row["authorising_officer"],
        location=row["location"], starts_at=req_dt(row["starts_at"]),
        ends_at=req_dt(row["ends_at"]), objectives=row["objectives"],
        case_reference=row["case_reference"], command_team=json.loads(row["command_team"]),
        state=row["state"], created_at=req_dt(row["created_at"]),
        created_by=row["created_by"], watchlist_version=row["watchlist_version"],
        match_threshold=row["match_threshold"], live_at=dt(row["live_at"]),
        ended_at=dt(row["ended_at"]))


class SqliteDeployments(SqliteRepository):
    """:class:`kernel.protocols.store.DeploymentRepository` on SQLite."""

    async def insert(self, rec: DeploymentRecord) -> None:
        await self._run(
            "INSERT INTO deployments (name, authorising_officer, location, starts_at, ends_at,"
            " objectives, case_reference, command_team, state, created_at, created_by,"
            " watchlist_version, match_threshold, live_at, ended_at, id)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", _dep_row(rec))

    async def update(self, rec: DeploymentRecord) -> None:
        await self._run(
            "UPDATE deployments SET name=?, authorising_officer=?, location=?, starts_at=?,"
            " ends_at=?, objectives=?, case_reference=?, command_team=?, state=?,"
            " created_at=?, created_by=?, watchlist_version=?, match_threshold=?, live_at=?,"
            " ended_at=? WHERE id=?", _dep_row(rec))

    async def get(self, deployment_id: str) -> DeploymentRecord | None:
        row = await self._one("SELECT * FROM deployments WHERE id=?", (deployment_id,))
        return None if row is None else _dep(row)

    async def all(self) -> list[DeploymentRecord]:
        rows = await self._all("SELECT * FROM deployments ORDER BY created_at, id")
        return [_dep(r) for r in rows]

    async def insert_transition(self, rec: TransitionRecord) -> None:
        await self._run("INSERT INTO transitions (deployment_id, from_state, to_state, actor, at)"
                        " VALUES (?,?,?,?,?)", (rec.deployment_id, rec.from_state, rec.to_state,
                                                rec.actor, ts(rec.at)))

    async def transitions(self, deployment_id: str) -> list[TransitionRecord]:
        rows = await self._all("SELECT * FROM transitions WHERE deployment_id=? ORDER BY id",
                               (deployment_id,))
        return [TransitionRecord(deployment_id=r["deployment_id"], from_state=r["from_state"],
                                 to_state=r["to_state"], actor=r["actor"], at=req_dt(r["at"]))
                for r in rows]

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
