"""Face statistics (R3, R20): per camera and minute, the only trace of faces that matched
nothing; and for the force-wide view (issue 13), every deployment's counts and every edge's
last report (its cameras and the lists it held)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from kernel.domain.records import DeploymentTally, EdgeRecord, FaceCount


class StatisticsRepository(Protocol):
    """``tx.statistics``: counters of faces seen and matched."""

    async def add_face_counts(self, rec: FaceCount) -> None:
        """Add ``seen``/``matched`` to the row of (deployment, camera, minute)."""
        ...

    async def face_counts(self, deployment_id: str) -> list[FaceCount]:
        """The deployment's rows ordered by camera, then minute."""
        ...

    async def tallies(self) -> list[DeploymentTally]:
        """Every deployment of the store, oldest first (``created_at``, then ``id``), with
        its counts added up in the database (one pass per table, not a row per alert): a
        deployment with no alert or face count has zeros and no cameras."""
        ...

    async def claim_counts_key(self, key: str, at: datetime) -> bool:
        """Record the key an edge gave a face-counts message (issue 13); False when it was
        recorded before (a redelivery, whose counts were added then)."""
        ...

    async def forget_counts_keys(self, before: datetime) -> int:
        """Delete the keys recorded before ``before``; how many."""
        ...

    async def put_edge(self, rec: EdgeRecord) -> None:
        """Write the edge ``rec.node_id``'s row (replacing the one before, whichever console
        wrote it)."""
        ...

    async def edges(self) -> list[EdgeRecord]:
        """Every edge's row, by node id."""
        ...
