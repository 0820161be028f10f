"""Test hook: named points on the candidate → confirm → outbox → sink path where the
fault-injection suite (``tests/faults/``) kills the process as ``kill -9`` would.

Inert unless the environment variable :data:`ENV` names a point when the process *starts*
(it is read once, at import): no config key, API route or CLI option can set it, and it
changes no safeguard, only where the process may die. When the variable names a point,
:func:`reached` sends SIGKILL to its own process at that point: no ``finally`` runs, no
transaction is rolled back or committed by Python, nothing is flushed, exactly as a power cut
or an OOM kill. A test names the point (``outbox.after_publish``) or the point of one sink
(``outbox.after_publish:mqtt``).

Why a point in the code rather than watching from outside and sending SIGKILL: the windows
(a publish acknowledged but not yet recorded) last microseconds, so an outside observer
would hit them by luck; here the kill happens at the step every time, and a test cannot
be flaky about which step it killed.
"""

from __future__ import annotations

import os
import signal

ENV = "PINCHPOINT_CRASH_AT"

POINTS = frozenset({
    "candidate.accepted",      # the matcher accepted a match; nothing persisted yet
    "candidate.committed",     # the candidate's transaction committed; nobody told yet
    "candidate.announced",     # the operator feed has been handed the candidate
    "confirm.in_transaction",  # alert confirmed and outbox row written, not committed
    "confirm.committed",       # alert + outbox row committed; no sink woken yet
    "outbox.taken",            # a sink loop read the row; not handed to the sink
    "outbox.after_publish",    # the sink returned (broker ack / push 201); not acknowledged
    "outbox.acked",            # the sink's outbox position moved past the row
})
"""Every point the code marks; the suite kills at each."""

_ARMED: str | None = os.environ.get(ENV) or None


def armed() -> str | None:
    """The point this process will die at, if any (for a test's sanity check)."""
    return _ARMED


def reached(point: str, detail: str | None = None) -> None:
    """Mark ``point`` (``detail``: the sink's name, when one applies). Does nothing unless
    the process was started with :data:`ENV` naming ``point`` or ``point:detail``."""
    if _ARMED is None:
        return
    if point == _ARMED or (detail is not None and f"{point}:{detail}" == _ARMED):
        os.kill(os.getpid(), signal.SIGKILL)
