"""``tx.sessions`` on PostgreSQL: table ``sessions``."""

from __future__ import annotations

from datetime import datetime

from adapters.store import rows
from adapters.store.postgres_repositories.base import PostgresRepository
from kernel.domain.records import SessionRecord


class PostgresSessions(PostgresRepository):
    """:class:`kernel.protocols.store.SessionRepository` on PostgreSQL."""

    async def insert(self, rec: SessionRecord) -> None:
        await self._run("INSERT INTO sessions (id, user_name, csrf, created_at, last_seen_at,"
                        " device_id) VALUES ($1,$2,$3,$4,$5,$6)",
                        (rec.id, rec.user, rec.csrf, rec.created_at, rec.last_seen_at,
                         rec.device_id))

    async def get(self, session_id: str) -> SessionRecord | None:
        r = await self._one("SELECT * FROM sessions WHERE id=$1", (session_id,))
        return None if r is None else rows.session(r)

    async def touch(self, session_id: str, at: datetime) -> None:
        await self._run("UPDATE sessions SET last_seen_at=$1 WHERE id=$2", (at, session_id))

    async def delete(self, session_id: str) -> int:
        return await self._run("DELETE FROM sessions WHERE id=$1", (session_id,))

    async def of_user(self, name: str) -> list[SessionRecord]:
        found = await self._all("SELECT * FROM sessions WHERE user_name=$1 "
                                "ORDER BY created_at, id", (name,))
        return [rows.session(r) for r in found]

    async def delete_for_user(self, name: str) -> int:
        return await self._run("DELETE FROM sessions WHERE user_name=$1", (name,))

    async def delete_for_device(self, device_id: str) -> int:
        return await self._run("DELETE FROM sessions WHERE device_id=$1", (device_id,))

    async def delete_before(self, created_before: datetime, seen_before: datetime) -> int:
        return await self._run("DELETE FROM sessions WHERE created_at < $1 OR last_seen_at < $2",
                               (created_before, seen_before))
