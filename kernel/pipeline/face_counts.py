"""Per-camera, per-minute counts: the only record of faces that did not match (R3, R20)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import msgspec


class MinuteCount(msgspec.Struct, frozen=True):
    camera_id: str
    minute: datetime
    """The minute (UTC, seconds zero)."""
    seen: int
    matched: int


class FaceCounter:
    """Counts tracks (people), not frames. ``drain`` hands over finished minutes."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, datetime], list[int]] = defaultdict(lambda: [0, 0])

    @staticmethod
    def minute_of(when: datetime) -> datetime:
        return when.replace(second=0, microsecond=0)

    def seen(self, camera_id: str, when: datetime, n: int = 1) -> None:
        self._counts[(camera_id, self.minute_of(when))][0] += n

    def matched(self, camera_id: str, when: datetime, n: int = 1) -> None:
        self._counts[(camera_id, self.minute_of(when))][1] += n

    def restore(self, counts: list[MinuteCount]) -> None:
        """Put back drained counts that could not be written (a storage fault): the next
        flush writes them with what has been counted since."""
        for c in counts:
            bucket = self._counts[(c.camera_id, c.minute)]
            bucket[0] += c.seen
            bucket[1] += c.matched

    def drain(self, now: datetime | None = None) -> list[MinuteCount]:
        """Counts of minutes before ``now``'s minute (all of them when ``now`` is None)."""
        current = self.minute_of(now) if now is not None else None
        done = [k for k in self._counts if current is None or k[1] < current]
        out = [MinuteCount(cam, minute, *self._counts.pop((cam, minute))) for cam, minute in done]
        return sorted(out, key=lambda c: (c.minute, c.camera_id))
