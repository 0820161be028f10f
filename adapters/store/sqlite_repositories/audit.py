"""``tx.audit`` on SQLite: table ``audit`` (subjects and details as sorted-key JSON)."""

from __future__ import annotations

import json
import sqlite3

from adapters.store.sqlite_repositories.base import SqliteRepository, req_dt, ts
from kernel.domain.records import AuditRecord


def _audit(r: sqlite3.Row) -> AuditRecord:
    return AuditRecord(seq=r["seq"], at=req_dt(r["at"]), actor=r["actor"],
                       action=r["action"], subjects=json.loads(r["subjects"]),
                       details=json.loads(r["details"]), prev_hash=r["prev_hash"],
                       hash=r["hash"])


class SqliteAudit(SqliteRepository):
    """:class:`kernel.protocols.store.AuditRepository` on SQLite."""

    async def last(self) -> AuditRecord | None:
        r = await self._one("SELECT * FROM audit ORDER BY seq DESC LIMIT 1")
        return None if r is None else _audit(r)

    async def insert(self, rec: AuditRecord) -> None:
        await self._run("INSERT INTO audit (seq, at, actor, action, subjects, details,"
                        " prev_hash, hash) VALUES (?,?,?,?,?,?,?,?)",
                        (rec.seq, ts(rec.at), rec.actor, rec.action,
                         json.dumps(rec.subjects, sort_keys=True),
                         json.dumps(rec.details, sort_keys=True), rec.prev_hash, rec.hash))

    async def page(self, after_seq: int, limit: int) -> list[AuditRecord]:
        rows = await self._all("SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
                               (after_seq, limit))
        return [_audit(r) for r in rows]
