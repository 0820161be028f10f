"""What every domain service is built from: the store, the key ring, the clock and the
post-commit event path."""

from __future__ import annotations

from dataclasses import dataclass, field

from kernel.clock import Clock
from kernel.domain.crypto import KeyRing
from kernel.domain.events import DomainEvents
from kernel.protocols.store import Store


@dataclass(frozen=True)
class DomainContext:
    """Shared by the services of :class:`kernel.domain.governance.Governance`."""

    store: Store
    keys: KeyRing
    clock: Clock
    events: DomainEvents = field(default_factory=DomainEvents)
    """Where services publish what they committed, after the commit (:mod:`.events`)."""
