"""What every domain service is built from: the store, the key ring and the clock."""

from __future__ import annotations

from dataclasses import dataclass

from kernel.clock import Clock
from kernel.domain.crypto import KeyRing
from kernel.protocols.store import Store


@dataclass(frozen=True)
class DomainContext:
    """Shared by the services of :class:`kernel.domain.governance.Governance`."""

    store: Store
    keys: KeyRing
    clock: Clock
