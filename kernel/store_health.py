"""The store's fault state while it lasts: set by the store when a write hits a storage fault,
cleared when a write succeeds again; read by health (:mod:`kernel.health`) and logged once
per change of state, never once per request."""

from __future__ import annotations

import logging
from datetime import datetime

import msgspec

from kernel.clock import Clock
from kernel.errors import StorageFault

log = logging.getLogger("pinchpoint.store.health")


class StoreFaultState(msgspec.Struct, frozen=True, kw_only=True):
    """One storage fault, from its first refused write until the next write that succeeds."""

    kind: str
    path: str
    detail: str
    since: datetime
    refused: int = 1
    """Operations refused since the fault began (every caller that met it)."""

    def describe(self) -> str:
        """What an operator's console shows: ``disk full: /path (writes refused since
        12:00:03)``."""
        return f"{self.kind}: {self.path} (writes refused since {self.since:%H:%M:%S})"


class StoreFaults:
    """The fault monitor one store reports into (:meth:`failed`, :meth:`succeeded`)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.current: StoreFaultState | None = None
        self.changes = 0
        """State changes so far (each one logged)."""

    def failed(self, fault: StorageFault) -> None:
        """A write (or the start of one) met ``fault``: logged if it is new or another kind."""
        now = self.current
        if now is not None and now.kind == fault.kind and now.path == fault.path:
            self.current = msgspec.structs.replace(now, refused=now.refused + 1)
            return
        self.current = StoreFaultState(kind=fault.kind, path=fault.path, detail=fault.detail,
                                       since=self.clock.now())
        self.changes += 1
        log.error("storage fault: %s; writes are refused until it clears "
                  "(accepted candidates are held in memory)", fault)

    def succeeded(self) -> None:
        """A write was committed: a fault that lasted is over."""
        was = self.current
        if was is None:
            return
        self.current = None
        self.changes += 1
        log.warning("storage recovered: %s cleared after %d refused operation(s)",
                    was.kind, was.refused)
