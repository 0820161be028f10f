"""R21: a blue-list walk-past is detected by a test event of that volunteer inside its window,
on its camera; the time to candidate runs from the tap; periods split on the live run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kernel.domain.bluelist_scores import LEGACY_WINDOW_S, period_of, rates, score
from kernel.domain.records import AlertRecord, BlueWalk

LIVE = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
END = LIVE + timedelta(hours=2)
S = timedelta(seconds=1)


def walk(at: datetime, seconds: float | None = 30, camera: str | None = "gate-1",
         entry: str = "v1") -> BlueWalk:
    return BlueWalk(deployment_id="d1", entry_id=entry, at=at,
                    until=None if seconds is None else at + seconds * S, camera_id=camera)


def event(captured: datetime, camera: str = "gate-1", entry: str = "v1", list_: str = "blue",
          state: str = "test", id_: str = "t1", lag_s: float = 0.4) -> AlertRecord:
    return AlertRecord(id=id_, deployment_id="d1", entry_id=entry, list=list_,  # type: ignore[arg-type]
                       category="blue" if list_ == "blue" else "wanted", camera_id=camera,
                       score=0.95, captured_at=captured, created_at=captured + lag_s * S,
                       state=state, face_blob="f", torso_blob="t")  # type: ignore[arg-type]


def test_detected_inside_the_window_on_the_camera_with_time_to_candidate() -> None:
    tap = LIVE + 600 * S
    got = score([walk(tap)], [event(tap + 7 * S, id_="early"), event(tap + 9 * S, id_="later")],
                LIVE, None)
    assert len(got) == 1 and got[0].detected
    assert got[0].alert_id == "early" and got[0].detected_on == "gate-1"
    assert got[0].time_to_candidate_s == 7.4  # from the tap to the event's commit
    assert got[0].period == "during"


def test_missed_outside_the_window_on_another_camera_or_another_volunteer() -> None:
    tap = LIVE + 600 * S
    events = [event(tap - S, id_="before"), event(tap + 31 * S, id_="after"),
              event(tap + 5 * S, camera="gate-2", id_="elsewhere"),
              event(tap + 5 * S, entry="v2", id_="someone else"),
              event(tap + 5 * S, list_="watch", state="candidate", id_="a watch-list match")]
    got = score([walk(tap)], events, LIVE, None)
    assert not got[0].detected and got[0].alert_id is None
    assert got[0].time_to_candidate_s is None


def test_a_walk_without_camera_takes_any_and_one_without_window_is_at_plus_minus() -> None:
    tap = LIVE + 600 * S
    assert score([walk(tap, camera=None)], [event(tap + 5 * S, camera="gate-2")], LIVE,
                 None)[0].detected_on == "gate-2"
    legacy = walk(tap, seconds=None, camera=None)
    inside = event(tap - (LEGACY_WINDOW_S - 1) * S)
    outside = event(tap + (LEGACY_WINDOW_S + 1) * S)
    assert score([legacy], [inside], LIVE, None)[0].detected
    assert not score([legacy], [outside], LIVE, None)[0].detected


def test_periods_before_during_after_the_live_run_and_rates() -> None:
    assert period_of(LIVE - S, LIVE, END) == "before"
    assert period_of(LIVE, LIVE, END) == "during"
    assert period_of(END - S, LIVE, END) == "during"
    assert period_of(END, LIVE, END) == "after"
    assert period_of(LIVE, None, None) == "before"  # never went live
    assert period_of(END + S, LIVE, None) == "during"  # still live
    taps = [LIVE - 60 * S, LIVE + 60 * S, LIVE + 120 * S, END + 60 * S]
    walks = [walk(t) for t in taps]
    got = rates(score(walks, [event(taps[1] + 3 * S)], LIVE, END))
    assert [(r.period, r.declared, r.detected, r.rate) for r in got] == [
        ("before", 1, 0, 0.0), ("during", 2, 1, 0.5), ("after", 1, 0, 0.0)]
    assert [r.rate for r in rates([])] == [None, None, None]
