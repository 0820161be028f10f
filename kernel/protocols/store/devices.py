"""Officers' enrolled devices and their one-time enrolment codes (issue 14, R23)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from kernel.domain.records import DeviceRecord, EnrolmentCodeRecord, ReceiptRecord


class DeviceRepository(Protocol):
    """``tx.devices``: one row per enrolled device (kept, marked revoked, after a revocation)
    and the enrolment codes not yet used, keyed by their hash. Both go with their user.
    Devices' receipts for confirmed alerts go with their alert (a wipe or the retention
    rules deleting the alert delete them)."""

    async def insert(self, rec: DeviceRecord) -> None: ...

    async def get(self, device_id: str) -> DeviceRecord | None: ...

    async def by_token(self, token_hash: str) -> DeviceRecord | None:
        """The device whose cookie hashes to ``token_hash``."""
        ...

    async def update(self, rec: DeviceRecord) -> None:
        """Write every field of the device ``rec.id``."""
        ...

    async def all(self) -> list[DeviceRecord]:
        """Every device, oldest enrolment first."""
        ...

    async def put_code(self, rec: EnrolmentCodeRecord) -> None: ...

    async def take_code(self, code_hash: str) -> EnrolmentCodeRecord | None:
        """Delete the code and return it (a code is used once, whatever comes of it)."""
        ...

    async def delete_codes_before(self, expired_at: datetime) -> int:
        """Delete codes that expired strictly before ``expired_at``."""
        ...

    async def put_receipt(self, rec: ReceiptRecord) -> bool:
        """Store a receipt unless this device already has one of this kind for this alert:
        ``False`` then (the first stays as it was)."""
        ...

    async def receipts(self, deployment_id: str, alert_id: str | None = None
                       ) -> list[ReceiptRecord]:
        """The receipts for the deployment's alerts (or one of them), oldest first."""
        ...
