"""Face statistics (R3, R20): per camera and minute, the only trace of faces that matched
nothing."""

from __future__ import annotations

from typing import Protocol

from kernel.domain.records import FaceCount


class StatisticsRepository(Protocol):
    """``tx.statistics``: counters of faces seen and matched."""

    async def add_face_counts(self, rec: FaceCount) -> None:
        """Add ``seen``/``matched`` to the row of (deployment, camera, minute)."""
        ...

    async def face_counts(self, deployment_id: str) -> list[FaceCount]:
        """The deployment's rows ordered by camera, then minute."""
        ...
