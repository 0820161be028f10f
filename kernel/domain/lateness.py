"""When a candidate counts as late: it reached the console's store more than ``[node]
late_after_s`` after its frame was captured (an edge's candidate queued while its link was
down, or held while the store refused writes). Late is a mark for the operator, never a reason
to drop a candidate: the person may still be near, and the record must be complete (R4)."""

from __future__ import annotations

from datetime import datetime


def arrived_late(captured_at: datetime, stored_at: datetime, late_after_s: float) -> bool:
    """Whether a candidate stored at ``stored_at`` was captured more than ``late_after_s``
    seconds before."""
    return (stored_at - captured_at).total_seconds() > late_after_s
