"""The hash-chained audit log (R19)."""

from __future__ import annotations

from typing import Protocol

from kernel.domain.records import AuditRecord


class AuditRepository(Protocol):
    """``tx.audit``: append-only rows; the domain computes ``seq`` and the hashes
    (:mod:`kernel.domain.audit`), the store keeps them exactly."""

    async def insert(self, rec: AuditRecord) -> None: ...

    async def last(self) -> AuditRecord | None:
        """The row with the highest seq."""
        ...

    async def page(self, after_seq: int, limit: int) -> list[AuditRecord]:
        """Up to ``limit`` rows whose seq is greater than ``after_seq``, in seq order."""
        ...
