"""Web Push subscriptions of officers' devices (R6)."""

from __future__ import annotations

from typing import Protocol

from kernel.domain.records import PushSubscriptionRecord


class PushSubscriptionRepository(Protocol):
    """``tx.push``: one row per push endpoint, owned by a user (and gone with them)."""

    async def put(self, rec: PushSubscriptionRecord) -> None:
        """Insert, or replace by ``endpoint`` (a device re-subscribing, perhaps as another
        user)."""
        ...

    async def delete(self, endpoint: str, name: str | None = None) -> int:
        """Delete by endpoint (only the user's own when ``name`` is given)."""
        ...

    async def delete_for_device(self, device_id: str) -> int:
        """Delete every subscription of an enrolled device (the device was revoked)."""
        ...

    async def all(self, name: str | None = None) -> list[PushSubscriptionRecord]:
        """Every subscription (of one user when ``name`` is given), oldest first."""
        ...
