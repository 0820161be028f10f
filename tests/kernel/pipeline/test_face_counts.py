"""Per-minute counts are the only trace of non-matching faces (R3, R20)."""

from __future__ import annotations

from datetime import UTC, datetime

from kernel.pipeline.face_counts import FaceCounter, MinuteCount


def test_counts_by_camera_and_minute_and_drain_finished_minutes() -> None:
    c = FaceCounter()
    t1 = datetime(2026, 1, 1, 10, 0, 5, tzinfo=UTC)
    t2 = datetime(2026, 1, 1, 10, 1, 5, tzinfo=UTC)
    c.seen("a", t1, 3)
    c.matched("a", t1)
    c.seen("b", t1)
    c.seen("a", t2)
    m0, m1 = t1.replace(second=0), t2.replace(second=0)
    assert c.drain(t2) == [MinuteCount("a", m0, 3, 1), MinuteCount("b", m0, 1, 0)]
    assert c.drain() == [MinuteCount("a", m1, 1, 0)]
    assert c.drain() == []
