"""``tx.disposals`` on SQLite: table ``disposals``."""

from __future__ import annotations

from adapters.store import rows
from adapters.store.sqlite_repositories.base import SqliteRepository, ts
from kernel.domain.records import DisposalRecord


class SqliteDisposals(SqliteRepository):
    """:class:`kernel.protocols.store.DisposalRepository` on SQLite."""

    async def insert(self, rec: DisposalRecord) -> None:
        await self._run("INSERT INTO disposals (at, deployment_id, kind, count, rule, actor)"
                        " VALUES (?,?,?,?,?,?)", (ts(rec.at), rec.deployment_id, rec.kind,
                                                  rec.count, rec.rule, rec.actor))

    async def all(self, deployment_id: str | None = None) -> list[DisposalRecord]:
        if deployment_id is None:
            found = await self._all("SELECT * FROM disposals ORDER BY id")
        else:
            found = await self._all("SELECT * FROM disposals WHERE deployment_id=?"
                                    " ORDER BY id", (deployment_id,))
        return [rows.disposal(r) for r in found]
