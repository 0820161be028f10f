"""``tx.sessions`` on SQLite: table ``sessions``."""

from __future__ import annotations

from datetime import datetime

from adapters.store import rows
from adapters.store.sqlite_repositories.base import SqliteRepository, ts
from kernel.domain.records import SessionRecord


class SqliteSessions(SqliteRepository):
    """:class:`kernel.protocols.store.SessionRepository` on SQLite."""

    async def insert(self, rec: SessionRecord) -> None:
        await self._run("INSERT INTO sessions (id, user_name, csrf, created_at, last_seen_at,"
                        " device_id) VALUES (?,?,?,?,?,?)",
                        (rec.id, rec.user, rec.csrf, ts(rec.created_at), ts(rec.last_seen_at),
                         rec.device_id))

    async def get(self, session_id: str) -> SessionRecord | None:
        row = await self._one("SELECT * FROM sessions WHERE id=?", (session_id,))
        return None if row is None else rows.session(row)

    async def touch(self, session_id: str, at: datetime) -> None:
        await self._run("UPDATE sessions SET last_seen_at=? WHERE id=?", (ts(at), session_id))

    async def delete(self, session_id: str) -> int:
        return await self._run("DELETE FROM sessions WHERE id=?", (session_id,))

    async def of_user(self, name: str) -> list[SessionRecord]:
        found = await self._all("SELECT * FROM sessions WHERE user_name=? "
                                "ORDER BY created_at, id", (name,))
        return [rows.session(r) for r in found]

    async def delete_for_user(self, name: str) -> int:
        return await self._run("DELETE FROM sessions WHERE user_name=?", (name,))

    async def delete_for_device(self, device_id: str) -> int:
        return await self._run("DELETE FROM sessions WHERE device_id=?", (device_id,))

    async def delete_before(self, created_before: datetime, seen_before: datetime) -> int:
        # ISO-8601 UTC strings of one format compare in time order
        return await self._run("DELETE FROM sessions WHERE created_at < ? OR last_seen_at < ?",
                               (ts(created_before), ts(seen_before)))
