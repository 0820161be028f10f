"""What the operator's health strip shows: each camera (the runtime fills it in), the store's
fault while it lasts and the candidates it holds back (issue 12, finding 7)."""

from __future__ import annotations

from typing import Literal

import msgspec

from kernel.protocols.camera import CameraStats
from kernel.store_health import StoreFaultState
from kernel.supervisor import TaskStatus


class CameraHealth(msgspec.Struct):
    """One camera as the operator's health strip shows it."""

    camera_id: str
    task: TaskStatus
    stats: CameraStats
    dropped: int
    processed: int


class HeldCandidates(msgspec.Struct):
    """Accepted candidates a storage fault holds in memory (:mod:`kernel.pipeline.candidates`)."""

    held: int
    capacity: int
    refused: int
    """Refused since start because the buffer was full."""
    stored_late: int
    """Stored after being held (the fault had cleared)."""
    discarded: int
    """Held ones the domain no longer accepted (their deployment ended meanwhile)."""
    refusing: bool
    """The buffer is full: new candidates are refused now."""


HealthStatus = Literal["ok", "degraded", "failed"]


class SystemHealth(msgspec.Struct):
    """What an operator console shows of the process beside its cameras.

    ``status``: ``ok``; ``degraded`` while a storage fault lasts or candidates are held
    (nothing lost yet); ``failed`` while new candidates are refused (the buffer is full).
    ``store``: ``"ok"`` or the fault, e.g. ``"disk full: /var/pinchpoint.db (writes refused
    since 12:00:03)"``."""

    status: HealthStatus
    store: str
    store_fault: StoreFaultState | None
    candidates: HeldCandidates | None


def system_health(fault: StoreFaultState | None, held: HeldCandidates | None) -> SystemHealth:
    """The process's health from the store's fault state and the held-candidate buffer."""
    status: HealthStatus = "ok"
    if fault is not None or (held is not None and held.held):
        status = "degraded"
    if held is not None and held.refusing:
        status = "failed"
    return SystemHealth(status=status, store="ok" if fault is None else fault.describe(),
                        store_fault=fault, candidates=held)
