"""Disposal records (R17): what was destroyed, when and under which rule."""

from __future__ import annotations

from typing import Protocol

from kernel.domain.records import DisposalRecord


class DisposalRepository(Protocol):
    """``tx.disposals``: append-only; kept when the deployment they name is deleted."""

    async def insert(self, rec: DisposalRecord) -> None: ...

    async def all(self, deployment_id: str | None = None) -> list[DisposalRecord]:
        """Every disposal (of one deployment when given), in the order inserted."""
        ...
