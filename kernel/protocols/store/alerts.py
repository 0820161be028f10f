"""Alerts (R4-R7, R13-R15): candidate matches and what became of them."""

from __future__ import annotations

from typing import Protocol

from kernel.domain.records import AlertRecord, ListKind


class AlertRepository(Protocol):
    """``tx.alerts``: one row per candidate match, updated as it is decided, given an outcome,
    held or released."""

    async def insert(self, rec: AlertRecord) -> None:
        """Insert a candidate. The store refuses (raises :class:`kernel.errors.StoreError`) an
        ``entry_id`` that is not an entry of ``deployment_id``: there is no way to store a face
        without a watch-list match (R3)."""
        ...

    async def update(self, rec: AlertRecord) -> None:
        """Overwrite every field of the alert ``rec.id``."""
        ...

    async def get(self, alert_id: str) -> AlertRecord | None: ...

    async def in_deployment(self, deployment_id: str) -> list[AlertRecord]:
        """Every alert of the deployment, whatever its state and list, oldest first."""
        ...

    async def of_entry(self, deployment_id: str, entry_id: str) -> list[AlertRecord]:
        """Every alert of one entry of the deployment (its sightings, in episodes), in the
        order they were captured."""
        ...

    async def delete(self, alert_ids: list[str]) -> int:
        """Delete by id (with their outbox rows); returns how many alerts went."""
        ...

    async def in_states(self, deployment_id: str | None, states: list[str],
                        list_kind: ListKind = "watch") -> list[AlertRecord]:
        """Alerts of one deployment (or all, ``None``) of list ``list_kind`` whose state is
        one of ``states``, oldest first; none for an empty ``states``. R5 lives in the query:
        an officer's list asks for ``["confirmed"]``."""
        ...
