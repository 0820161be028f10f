"""Scoring blue-list walk-pasts (R21): was the volunteer detected and matched while they said
they were walking past, how long until the test event, and the rate per period.

A volunteer (an entry of the deployment's blue list) taps "walking past camera N now": a
:class:`~kernel.domain.records.BlueWalk` with the window ``[at, until]`` and the camera. The
walk is **detected** when a blue-list test event of that entry (an alert in state ``test``)
was captured within the window, on that camera; a walk without a camera accepts any camera,
and one without a window (the CLI's ``--at``, walks declared before windows existed) is
scored over ``at`` ± :data:`LEGACY_WINDOW_S`. The first such event is the walk's detection;
its **time to candidate** is the seconds from ``at`` (the tap) until that event was committed
(``created_at``), which is what the technical lead checks: how long the system took to find a
known face at the pinch point. A miss is a false-negative indication (R21).

Periods, by the walk's start ``at`` against the deployment's live run (``live_at`` set when
it went live, ``ended_at`` when it ended):

- ``before``: before the deployment went live (it never went live, or ``at < live_at``).
  While an authorised deployment has a walk-past window open, the pipeline matches its blue
  list alone (:mod:`kernel.pipeline.session`): the technical lead's check that cameras and
  matching work before the watch list is used. A walk declared while the deployment is
  still a draft is not matched (nothing is, before authorisation).
- ``during``: while it was live (``live_at <= at``, and ``at < ended_at`` if it has ended):
  the blue list is matched with the watch list.
- ``after``: once it had ended (``at >= ended_at``). Nothing is matched any more (the lists'
  templates are destroyed at the end, R12), so such a walk is expected to be missed: it is
  the check that the system stopped looking.

Pure functions: no I/O, no clock. The test events are kept 30 days after the deployment
(:data:`kernel.domain.retention.RULE_BLUE`); scores are computed from what is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final, Literal, get_args

import msgspec

from kernel.domain.records import AlertRecord, BlueWalk

Period = Literal["before", "during", "after"]
PERIODS: Final[tuple[Period, ...]] = get_args(Period)

LEGACY_WINDOW_S: Final = 120.0
"""A walk declared without a window counts as detected if a test event of that volunteer was
captured within this many seconds of the declared time, on any camera."""

WALK_WINDOW_S: Final = 60.0
"""How long "walking past camera N now" stays open when the declaration names no duration:
a walk from the end of a pinch point's approach to the camera takes well under a minute."""

MAX_WALK_WINDOW_S: Final = 600.0
"""The longest window a declaration may ask for: a longer one would score chance sightings."""


class WalkScore(msgspec.Struct, frozen=True, kw_only=True):
    """One declared walk-past and whether the volunteer was found in it (R21).
    No name or image: the entry id, the camera and times."""

    entry_id: str
    camera_id: str | None
    """The camera declared; ``None``: any camera."""
    window_from: datetime
    window_to: datetime
    period: Period
    detected: bool
    alert_id: str | None = None
    """The first test event inside the window."""
    detected_on: str | None = None
    """The camera that captured it."""
    captured_at: datetime | None = None
    time_to_candidate_s: float | None = None
    """Seconds from the tap (``at``) to the test event's commit."""


class PeriodRate(msgspec.Struct, frozen=True, kw_only=True):
    """Walks declared and detected in one period, and the rate (``None`` when none)."""

    period: Period
    declared: int
    detected: int
    rate: float | None


def window(walk: BlueWalk) -> tuple[datetime, datetime]:
    """The span a test event must be captured in to count for ``walk``."""
    if walk.until is not None:
        return walk.at, walk.until
    half = timedelta(seconds=LEGACY_WINDOW_S)
    return walk.at - half, walk.at + half


def period_of(at: datetime, live_at: datetime | None, ended_at: datetime | None) -> Period:
    """Which period a walk starting at ``at`` falls in (see the module docstring)."""
    if live_at is None or at < live_at:
        return "before"
    if ended_at is not None and at >= ended_at:
        return "after"
    return "during"


def score(walks: Sequence[BlueWalk], alerts: Sequence[AlertRecord], live_at: datetime | None,
          ended_at: datetime | None) -> list[WalkScore]:
    """Each walk's score, in the order given. ``alerts`` may hold any of the deployment's
    alerts: only blue-list test events count."""
    tests = sorted((a for a in alerts if a.list == "blue" and a.state == "test"),
                   key=lambda a: a.captured_at)
    out = []
    for w in walks:
        start, end = window(w)
        hit = next((t for t in tests if t.entry_id == w.entry_id
                    and (w.camera_id is None or t.camera_id == w.camera_id)
                    and start <= t.captured_at <= end), None)
        out.append(WalkScore(
            entry_id=w.entry_id, camera_id=w.camera_id, window_from=start, window_to=end,
            period=period_of(w.at, live_at, ended_at), detected=hit is not None,
            alert_id=hit.id if hit else None, detected_on=hit.camera_id if hit else None,
            captured_at=hit.captured_at if hit else None,
            time_to_candidate_s=round((hit.created_at - w.at).total_seconds(), 3)
            if hit else None))
    return out


def rates(scores: Sequence[WalkScore]) -> list[PeriodRate]:
    """Declared, detected and the rate for each period, always all three, in order."""
    out = []
    for p in PERIODS:
        mine = [s for s in scores if s.period == p]
        found = sum(s.detected for s in mine)
        out.append(PeriodRate(period=p, declared=len(mine), detected=found,
                              rate=found / len(mine) if mine else None))
    return out
