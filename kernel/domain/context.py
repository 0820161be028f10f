"""What every domain service is built from: the store, the key ring, the clock, the
post-commit event path and the pool its image work runs in."""

from __future__ import annotations

from dataclasses import dataclass, field

from kernel.clock import Clock
from kernel.domain.crypto import KeyRing
from kernel.domain.events import DomainEvents
from kernel.executor import BoundedExecutor
from kernel.protocols.store import Store


@dataclass(frozen=True)
class DomainContext:
    """Shared by the services of :class:`kernel.domain.governance.Governance`."""

    store: Store
    keys: KeyRing
    clock: Clock
    events: DomainEvents = field(default_factory=DomainEvents)
    """Where services publish what they committed, after the commit (:mod:`.events`)."""
    executor: BoundedExecutor = field(
        default_factory=lambda: BoundedExecutor(1, 1, name="pinchpoint-images"))
    """Where CPU work of the domain runs (re-encoding an enrolled photo), never the event
    loop: the runtime's bounded image-work pool when :func:`open_governance` is given it."""
    console: str | None = None
    """The ``[node] id`` of this process when it runs as ``[node] role = "console"`` (else
    ``None``): what a deployment created here is stamped with (issue 13)."""
