"""``tx.accounts`` on SQLite: tables ``users`` and ``login_failures``."""

from __future__ import annotations

from adapters.store import rows
from adapters.store.sqlite_repositories.base import SqliteRepository, ts
from kernel.domain.records import LoginFailures, UserRecord


class SqliteAccounts(SqliteRepository):
    """:class:`kernel.protocols.store.AccountRepository` on SQLite."""

    async def insert(self, rec: UserRecord) -> None:
        await self._run("INSERT INTO users (name, role, password_hash, enabled, created_at,"
                        " created_by, password_changed_at) VALUES (?,?,?,?,?,?,?)",
                        (rec.name, rec.role, rec.password_hash, int(rec.enabled),
                         ts(rec.created_at), rec.created_by, ts(rec.password_changed_at)))

    async def update(self, rec: UserRecord) -> None:
        await self._run("UPDATE users SET role=?, password_hash=?, enabled=?,"
                        " password_changed_at=? WHERE name=?",
                        (rec.role, rec.password_hash, int(rec.enabled),
                         ts(rec.password_changed_at), rec.name))

    async def get(self, name: str) -> UserRecord | None:
        row = await self._one("SELECT * FROM users WHERE name=?", (name,))
        return None if row is None else rows.user(row)

    async def all(self) -> list[UserRecord]:
        return [rows.user(r) for r in await self._all("SELECT * FROM users ORDER BY name")]

    async def get_login_failures(self, name: str) -> LoginFailures | None:
        r = await self._one("SELECT * FROM login_failures WHERE name=?", (name,))
        return None if r is None else rows.login_failures(r)

    async def put_login_failures(self, rec: LoginFailures) -> None:
        await self._run("INSERT INTO login_failures (name, failures, last_failure_at,"
                        " locked_until) VALUES (?,?,?,?) ON CONFLICT(name) DO UPDATE SET"
                        " failures=excluded.failures, last_failure_at=excluded.last_failure_at,"
                        " locked_until=excluded.locked_until",
                        (rec.name, rec.failures, ts(rec.last_failure_at),
                         ts(rec.locked_until)))

    async def clear_login_failures(self, name: str) -> None:
        await self._run("DELETE FROM login_failures WHERE name=?", (name,))
