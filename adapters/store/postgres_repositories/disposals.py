"""``tx.disposals`` on PostgreSQL: table ``disposals`` (append-only by trigger, R17)."""

from __future__ import annotations

from adapters.store import rows
from adapters.store.postgres_repositories.base import PostgresRepository
from kernel.domain.records import DisposalRecord


class PostgresDisposals(PostgresRepository):
    """:class:`kernel.protocols.store.DisposalRepository` on PostgreSQL."""

    async def insert(self, rec: DisposalRecord) -> None:
        await self._run("INSERT INTO disposals (at, deployment_id, kind, count, rule, actor)"
                        " VALUES ($1,$2,$3,$4,$5,$6)", (rec.at, rec.deployment_id, rec.kind,
                                                        rec.count, rec.rule, rec.actor))

    async def all(self, deployment_id: str | None = None) -> list[DisposalRecord]:
        if deployment_id is None:
            found = await self._all("SELECT * FROM disposals ORDER BY id")
        else:
            found = await self._all("SELECT * FROM disposals WHERE deployment_id=$1"
                                    " ORDER BY id", (deployment_id,))
        return [rows.disposal(r) for r in found]
