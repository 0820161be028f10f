"""``tx.statistics`` on SQLite: tables ``face_counts``, ``face_count_keys`` and ``edges``;
the force-wide view's tallies (:mod:`adapters.store.tallies`)."""

from __future__ import annotations

import json
from datetime import datetime

from adapters.store import rows, tallies
from adapters.store.sqlite_repositories.base import SqliteRepository, ts
from kernel.domain.records import DeploymentTally, EdgeRecord, FaceCount


class SqliteStatistics(SqliteRepository):
    """:class:`kernel.protocols.store.StatisticsRepository` on SQLite."""

    async def add_face_counts(self, rec: FaceCount) -> None:
        await self._run("INSERT INTO face_counts (deployment_id, camera_id, minute, seen,"
                        " matched) VALUES (?,?,?,?,?) ON CONFLICT(deployment_id, camera_id,"
                        " minute) DO UPDATE SET seen=seen+excluded.seen,"
                        " matched=matched+excluded.matched",
                        (rec.deployment_id, rec.camera_id, ts(rec.minute), rec.seen,
                         rec.matched))

    async def face_counts(self, deployment_id: str) -> list[FaceCount]:
        found = await self._all("SELECT * FROM face_counts WHERE deployment_id=?"
                                " ORDER BY camera_id, minute", (deployment_id,))
        return [rows.face_count(r) for r in found]

    async def tallies(self) -> list[DeploymentTally]:
        deployments = await self._all(tallies.DEPLOYMENTS_SQLITE)
        found = [await self._all(sql) for sql in tallies.STATEMENTS]
        return tallies.merge(deployments, *found)

    async def claim_counts_key(self, key: str, at: datetime) -> bool:
        return await self._run("INSERT INTO face_count_keys (key, at) VALUES (?,?)"
                               " ON CONFLICT(key) DO NOTHING", (key, ts(at))) == 1

    async def forget_counts_keys(self, before: datetime) -> int:
        return await self._run("DELETE FROM face_count_keys WHERE at < ?", (ts(before),))

    async def put_edge(self, rec: EdgeRecord) -> None:
        await self._run("INSERT INTO edges (node_id, console, cameras, deployments, reported_at)"
                        " VALUES (?,?,?,?,?) ON CONFLICT(node_id) DO UPDATE SET"
                        " console=excluded.console, cameras=excluded.cameras,"
                        " deployments=excluded.deployments, reported_at=excluded.reported_at",
                        (rec.node_id, rec.console, json.dumps(list(rec.cameras)),
                         json.dumps(list(rec.deployments)), ts(rec.reported_at)))

    async def edges(self) -> list[EdgeRecord]:
        return [rows.edge(r) for r in await self._all("SELECT * FROM edges ORDER BY node_id")]
