"""Deployments and their state transitions (R18), and a deployment's deletion (R16)."""

from __future__ import annotations

from typing import Protocol

from kernel.domain.records import DeploymentRecord, TransitionRecord


class DeploymentRepository(Protocol):
    """``tx.deployments``: one row per deployment, with the log of who moved it between
    states. ``get`` returns ``None`` when absent."""

    async def insert(self, rec: DeploymentRecord) -> None: ...

    async def update(self, rec: DeploymentRecord) -> None:
        """Overwrite every field of the deployment ``rec.id``."""
        ...

    async def get(self, deployment_id: str) -> DeploymentRecord | None: ...

    async def all(self) -> list[DeploymentRecord]:
        """Every deployment, oldest first (``created_at``, then ``id``)."""
        ...

    async def insert_transition(self, rec: TransitionRecord) -> None: ...

    async def transitions(self, deployment_id: str) -> list[TransitionRecord]:
        """The deployment's transitions in the order they were inserted."""
        ...

    async def delete(self, deployment_id: str) -> dict[str, int]:
        """Delete the deployment and every row that belongs to it (R16): outbox rows, alerts,
        blue walks, photos, entries, reviews, face counts, blobs and transitions. Returns the
        count per kind (``"outbox"``, ``"alert"``, ``"blue_walk"``, ``"photo"``, ``"entry"``,
        ``"review"``, ``"face_count"``, ``"blob"``, ``"transition"``, ``"deployment"``).
        Disposal records and the audit log are kept."""
        ...
