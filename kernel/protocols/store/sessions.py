"""Server-side login sessions (R23)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from kernel.domain.records import SessionRecord


class SessionRepository(Protocol):
    """``tx.sessions``: one row per live login, keyed by the SHA-256 of its cookie token.
    A session belongs to a user and goes with it. Expiry is decided by
    :mod:`kernel.auth.accounts`; the store only deletes what it is told."""

    async def insert(self, rec: SessionRecord) -> None: ...

    async def get(self, session_id: str) -> SessionRecord | None: ...

    async def touch(self, session_id: str, at: datetime) -> None:
        """Set ``last_seen_at``."""
        ...

    async def delete(self, session_id: str) -> int: ...

    async def of_user(self, name: str) -> list[SessionRecord]:
        """Every session of the user, oldest first (disabling the user ends their broker
        logins too: one per session, or per enrolled device)."""
        ...

    async def delete_for_user(self, name: str) -> int:
        """Delete every session of the user (a password change, a disabled account)."""
        ...

    async def delete_for_device(self, device_id: str) -> int:
        """Delete every session of an enrolled device (the device was revoked)."""
        ...

    async def delete_before(self, created_before: datetime, seen_before: datetime) -> int:
        """Delete sessions created strictly before ``created_before`` or last seen strictly
        before ``seen_before``; a session at either bound exactly is kept."""
        ...
