"""The per-pass listing of false alerts and near misses (``evaluation.walkpast_nearest``)."""

from __future__ import annotations

from evaluation.walkpast_nearest import nearest_passes
from evaluation.walkpast_sweep import Step, Sweep
from evaluation.walkpast_truth import FORMAT, Pass, Truth


def _walker(identity: str, listed: bool, first: int, x: float, photo: str) -> Pass:
    return Pass(identity=identity, listed=listed, first_frame=first, last_frame=first + 9,
                photo=photo, boxes=tuple((x, 0.0, x + 10.0, 10.0) for _ in range(10)))


TRUTH = Truth(format=FORMAT, fps=10, width=640, height=360, frames=60, passes=(
    _walker("A", True, 0, 0, "a/2.jpg"), _walker("B", True, 10, 100, "b/2.jpg"),
    _walker("s1", False, 20, 200, "s1.jpg"), _walker("s2", False, 30, 300, "s2.jpg"),
    _walker("s3", False, 40, 400, "s3.jpg")))
REPEAT_S = 0.5
"""Short enough that B's track, 1.1 s after A's, may raise A again."""
STEPS = [
    # A is found as A (no near miss), B is raised as A at 0.951 (wrong identity) after an
    # earlier step put B itself first.
    Step("c", 1, 2, (0, 0, 10, 10), (("A", 0.97),)),
    Step("c", 2, 11, (100, 0, 110, 10), (("B", 0.93),)),
    Step("c", 2, 13, (100, 0, 110, 10), (("A", 0.951), ("B", 0.94))),
    # s1 alerts at 0.95 as B; s2 peaks just under; s3 is lower, over two steps.
    Step("c", 3, 22, (200, 0, 210, 10), (("B", 0.96),)),
    Step("c", 4, 32, (300, 0, 310, 10), (("A", 0.949),)),
    Step("c", 5, 42, (400, 0, 410, 10), (("B", 0.80),)),
    Step("c", 5, 44, (400, 0, 410, 10), (("A", 0.85),)),
]


def test_false_alerts_come_first_then_the_nearest_below_the_threshold() -> None:
    rows = nearest_passes(Sweep(STEPS, TRUTH, REPEAT_S), 0.95)
    assert [(r.identity, r.top_identity, r.false_alert) for r in rows] == [
        ("s1", "B", True), ("B", "A", True), ("s2", "A", False), ("s3", "A", False)]
    assert [r.peak for r in rows] == [0.96, 0.951, 0.949, 0.85]
    assert rows[0].photo == "s1.jpg" and rows[1].listed and not rows[0].listed
    # A listed walker scored only as themselves is a find, never a near miss.
    assert "A" not in {r.identity for r in rows}


def test_a_higher_threshold_turns_the_alerts_into_near_misses() -> None:
    rows = nearest_passes(Sweep(STEPS, TRUTH, REPEAT_S), 0.97)
    assert [(r.identity, r.false_alert) for r in rows] == [
        ("s1", False), ("B", False), ("s2", False), ("s3", False)]


def test_count_bounds_the_near_misses_but_never_hides_a_false_alert() -> None:
    sweep = Sweep(STEPS, TRUTH, REPEAT_S)
    assert [r.identity for r in nearest_passes(sweep, 0.95, count=1)] == ["s1", "B"]
    assert [r.identity for r in nearest_passes(sweep, 0.97, count=1)] == ["s1"]
    assert nearest_passes(sweep, None) == []
