"""``tx.accounts`` on PostgreSQL: tables ``users`` and ``login_failures``."""

from __future__ import annotations

from adapters.store import rows
from adapters.store.postgres_repositories.base import PostgresRepository
from kernel.domain.records import LoginFailures, UserRecord


class PostgresAccounts(PostgresRepository):
    """:class:`kernel.protocols.store.AccountRepository` on PostgreSQL."""

    async def insert(self, rec: UserRecord) -> None:
        await self._run("INSERT INTO users (name, role, password_hash, enabled, created_at,"
                        " created_by, password_changed_at) VALUES ($1,$2,$3,$4,$5,$6,$7)",
                        (rec.name, rec.role, rec.password_hash, rec.enabled, rec.created_at,
                         rec.created_by, rec.password_changed_at))

    async def update(self, rec: UserRecord) -> None:
        await self._run("UPDATE users SET role=$1, password_hash=$2, enabled=$3,"
                        " password_changed_at=$4 WHERE name=$5",
                        (rec.role, rec.password_hash, rec.enabled, rec.password_changed_at,
                         rec.name))

    async def get(self, name: str) -> UserRecord | None:
        r = await self._one("SELECT * FROM users WHERE name=$1", (name,))
        return None if r is None else rows.user(r)

    async def all(self) -> list[UserRecord]:
        found = await self._all('SELECT * FROM users ORDER BY name COLLATE "C"')
        return [rows.user(r) for r in found]

    async def get_login_failures(self, name: str) -> LoginFailures | None:
        r = await self._one("SELECT * FROM login_failures WHERE name=$1", (name,))
        return None if r is None else rows.login_failures(r)

    async def put_login_failures(self, rec: LoginFailures) -> None:
        await self._run("INSERT INTO login_failures (name, failures, last_failure_at,"
                        " locked_until) VALUES ($1,$2,$3,$4) ON CONFLICT (name) DO UPDATE SET"
                        " failures=excluded.failures, last_failure_at=excluded.last_failure_at,"
                        " locked_until=excluded.locked_until",
                        (rec.name, rec.failures, rec.last_failure_at, rec.locked_until))

    async def clear_login_failures(self, name: str) -> None:
        await self._run("DELETE FROM login_failures WHERE name=$1", (name,))
