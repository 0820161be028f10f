"""User accounts of the HTTP API and the CLI, and their failed logins (R23)."""

from __future__ import annotations

from typing import Protocol

from kernel.domain.records import LoginFailures, UserRecord


class AccountRepository(Protocol):
    """``tx.accounts``: users by name (the rules live in :mod:`kernel.auth.accounts`) and the
    lockout counter of each name (:mod:`kernel.auth.lockout`), which may exist for a name no
    user has."""

    async def insert(self, rec: UserRecord) -> None: ...

    async def update(self, rec: UserRecord) -> None:
        """Overwrite role, password hash, enabled and ``password_changed_at`` of user
        ``rec.name`` (name and creation fields never change)."""
        ...

    async def get(self, name: str) -> UserRecord | None: ...

    async def all(self) -> list[UserRecord]:
        """Every user, by name."""
        ...

    async def get_login_failures(self, name: str) -> LoginFailures | None: ...

    async def put_login_failures(self, rec: LoginFailures) -> None:
        """Insert, or replace the counter of ``rec.name``."""
        ...

    async def clear_login_failures(self, name: str) -> None: ...
