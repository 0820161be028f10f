"""Storage seam: the governed records (deployments, watch lists, alerts, outbox, audit,
disposals, accounts) behind a small transactional interface, so that SQLite today and
PostgreSQL later hold the same data under the same rules.

The kernel's domain (:mod:`kernel.domain`) holds every rule; a store only keeps rows. All work
happens inside ``async with store.transaction() as tx``: the calls on ``tx`` commit together
or not at all, which is how "persist before announce" and "alert and outbox row in one
transaction" are kept. A store serialises transactions (one writer at a time).

A transaction reaches one small repository per aggregate, each a Protocol in its own module
here: ``tx.deployments``, ``tx.blobs``, ``tx.watchlists``, ``tx.alerts``, ``tx.outbox``,
``tx.audit``, ``tx.disposals``, ``tx.statistics``, ``tx.accounts``, ``tx.sessions``,
``tx.push`` and ``tx.devices``. The records they hold are in :mod:`kernel.domain.records`.
In every repository ``get*`` returns ``None`` when absent and ``delete*`` returns how many
rows went.

Personal data never reaches a store in clear: images, templates and watch-list details arrive
as :class:`~kernel.domain.records.BlobRecord` ciphertext sealed by the domain with the
deployment's key (R24). Timestamps are timezone-aware UTC ``datetime`` values.

An adapter proves it keeps these rules by passing :class:`kernel.testing.store_contract.
StoreContract`, which calls every method of every repository.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable

from kernel.protocols.store.accounts import AccountRepository
from kernel.protocols.store.alerts import AlertRepository
from kernel.protocols.store.audit import AuditRepository
from kernel.protocols.store.blobs import BlobRepository
from kernel.protocols.store.deployments import DeploymentRepository
from kernel.protocols.store.devices import DeviceRepository
from kernel.protocols.store.disposals import DisposalRepository
from kernel.protocols.store.outbox import OutboxRepository
from kernel.protocols.store.push import PushSubscriptionRepository
from kernel.protocols.store.sessions import SessionRepository
from kernel.protocols.store.statistics import StatisticsRepository
from kernel.protocols.store.watchlists import WatchlistRepository

__all__ = [
    "AccountRepository",
    "AlertRepository",
    "AuditRepository",
    "BlobRepository",
    "DeploymentRepository",
    "DeviceRepository",
    "DisposalRepository",
    "OutboxRepository",
    "PushSubscriptionRepository",
    "SessionRepository",
    "StatisticsRepository",
    "Store",
    "StoreTx",
    "WatchlistRepository",
]


class StoreTx(Protocol):
    """One open transaction: the repositories, all sharing it."""

    @property
    def deployments(self) -> DeploymentRepository:
        """Deployments and their transitions (R16, R18)."""
        ...

    @property
    def blobs(self) -> BlobRepository:
        """Encrypted images, templates and details (R24)."""
        ...

    @property
    def watchlists(self) -> WatchlistRepository:
        """Entries, photos, reviews and blue walks (R8-R12, R21)."""
        ...

    @property
    def alerts(self) -> AlertRepository:
        """Candidates and their decisions and outcomes (R3-R7, R13-R15)."""
        ...

    @property
    def outbox(self) -> OutboxRepository:
        """Notices of confirmed alerts and the sinks' positions (R5, R6)."""
        ...

    @property
    def audit(self) -> AuditRepository:
        """The hash-chained audit log (R19)."""
        ...

    @property
    def disposals(self) -> DisposalRepository:
        """What was destroyed and why (R17)."""
        ...

    @property
    def statistics(self) -> StatisticsRepository:
        """Faces seen and matched per camera and minute (R3, R20)."""
        ...

    @property
    def accounts(self) -> AccountRepository:
        """Users and their failed logins (R23)."""
        ...

    @property
    def sessions(self) -> SessionRepository:
        """Server-side login sessions (R23)."""
        ...

    @property
    def push(self) -> PushSubscriptionRepository:
        """Devices' Web Push subscriptions (R6)."""
        ...

    @property
    def devices(self) -> DeviceRepository:
        """Officers' enrolled devices and enrolment codes (issue 14, R23)."""
        ...


@runtime_checkable
class Store(Protocol):
    """A database holding Pinchpoint's governed records.

    ``open()`` checks that the database is Pinchpoint's (never altering a damaged or foreign
    file: it raises :class:`kernel.errors.StoreError`), then applies pending schema migrations.
    Registered as ``store.<name>``, constructed as ``Cls(config, context)``.
    """

    async def open(self) -> None: ...

    def transaction(self) -> AbstractAsyncContextManager[StoreTx]:
        """One atomic unit of work; rolled back if the block raises."""
        ...

    async def compact(self) -> None:
        """Make deleted data physically go (checkpoint the journal, overwrite free pages)."""
        ...

    async def close(self) -> None: ...
