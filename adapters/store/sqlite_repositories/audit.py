"""``tx.audit`` on SQLite: table ``audit`` (subjects and details as sorted-key JSON)."""

from __future__ import annotations

import json

from adapters.store import rows
from adapters.store.sqlite_repositories.base import SqliteRepository, ts
from kernel.domain.records import AuditRecord


class SqliteAudit(SqliteRepository):
    """:class:`kernel.protocols.store.AuditRepository` on SQLite."""

    async def last(self) -> AuditRecord | None:
        r = await self._one("SELECT * FROM audit ORDER BY seq DESC LIMIT 1")
        return None if r is None else rows.audit(r)

    async def insert(self, rec: AuditRecord) -> None:
        await self._run("INSERT INTO audit (seq, at, actor, action, subjects, details,"
                        " prev_hash, hash) VALUES (?,?,?,?,?,?,?,?)",
                        (rec.seq, ts(rec.at), rec.actor, rec.action,
                         json.dumps(rec.subjects, sort_keys=True),
                         json.dumps(rec.details, sort_keys=True), rec.prev_hash, rec.hash))

    async def page(self, after_seq: int, limit: int) -> list[AuditRecord]:
        found = await self._all("SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
                                (after_seq, limit))
        return [rows.audit(r) for r in found]
