"""The published deployment record (R20): the non-personal statistics a force publishes after
each deployment, as one typed record that the printable page, the CSV and the CLI all render.

Built on :meth:`kernel.domain.reports.Reports.stats` (the same counts as ``pinchpoint report
stats``) plus the deployment's where and when, the watch list's size by category, and the
threshold it matched at with the calibration figure that judges it (R22). It names no person:
no watch-list reference, no user or officer name, no case reference, no image.

Definitions (stated on the page, so a reader knows what each figure counts):

- *candidates*: watch-list matches (sightings) raised to the operator (blue-list test events
  apart, R21);
- *people matched*, *people alerted*, *people rejected*: the same counted by person: the
  sightings of one watch-list entry within the episode window, on any camera, are one
  episode (:mod:`kernel.domain.episodes`), decided once;
- *alerts confirmed*: alerts officers were sent (R5), one per person alerted; later
  sightings of that person reach officers as updates of it, counted with the sightings in
  *sightings confirmed*;
- *candidates rejected*: sightings turned down before anyone was told;
- *false alerts*: confirmed alerts where officers stopped the person and it was not them
  (``stopped_not_the_person``, R15);
- *engagements*: confirmed alerts where officers stopped the person, whatever came of it;
- *arrests* and the other outcomes as officers recorded them (R7); alerts without a recorded
  outcome are counted as such;
- *blue-list walk-pasts* declared and detected, overall and before, during and after the live
  run (the periods and what "detected" means: :mod:`kernel.domain.bluelist_scores`).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Final, Literal, get_args

import msgspec

from kernel.domain.bluelist_scores import PERIODS, PeriodRate
from kernel.domain.records import Category, Outcome
from kernel.domain.thresholds import admissible

WATCH_CATEGORIES: Final[tuple[Category, ...]] = tuple(
    c for c in get_args(Category) if c != "blue")
OUTCOMES: Final[tuple[Outcome, ...]] = get_args(Outcome)
STOPPED: Final[frozenset[str]] = frozenset(
    {"stopped_identity_confirmed", "stopped_not_the_person", "arrested", "other_action"})


class CalibrationFigure(msgspec.Struct, frozen=True, kw_only=True):
    """The false-positive identification rate ``fpir`` measured at ``threshold`` on ``faces``
    non-watch-list faces (the ``[services.calibration]`` section, R22)."""

    threshold: float
    fpir: float
    faces: int
    source: str = ""


class PublishedRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One deployment's published statistics (R20). Times are ISO 8601 UTC."""

    deployment_id: str
    state: str
    """``ended``/``closed``: final; otherwise the figures so far (the page says so)."""
    date: str
    location: str
    planned_from: str
    planned_to: str
    live_from: str | None
    live_to: str | None
    watchlist_size: int
    watchlist_by_category: dict[str, int]
    """Entries per category while the watch list exists; once it was destroyed under R12
    (wholly or but for entries tied to kept alerts), empty, and ``watchlist_size`` is the
    count its last review recorded."""
    watchlist_destroyed: bool
    faces_seen: int
    candidates: int
    people_matched: int
    people_alerted: int
    people_rejected: int
    alerts_confirmed: int
    sightings_confirmed: int
    candidates_rejected: int
    false_alerts: int
    engagements: int
    arrests: int
    outcomes: dict[str, int]
    """Every outcome of R7 (zero when none), plus ``no_outcome_recorded``."""
    blue_walks_declared: int
    blue_walks_detected: int
    blue_detection_rate: float | None
    blue_by_period: dict[str, PeriodRate]
    """``before``, ``during``, ``after`` (always all three): declared, detected, rate."""
    threshold: float
    threshold_set_by: Literal["deployment", "default"]
    calibration_threshold: float | None
    calibrated_fpir: float | None
    calibration_faces: int | None
    calibration_source: str
    audit_head: str
    generated_at: str


def build(*, deployment_id: str, state: str, location: str, starts_at: datetime,
          ends_at: datetime, live_at: datetime | None, ended_at: datetime | None,
          categories: list[str], reviewed_entries: int, faces_seen: int, candidates: int,
          confirmed: int, rejected: int, outcomes: dict[str, int], blue_declared: int,
          blue_detected: int, blue_rate: float | None, match_threshold: float | None,
          default_threshold: float, calibration: CalibrationFigure | None, audit_head: str,
          now: datetime, blue_periods: list[PeriodRate] | None = None, people: int = 0,
          people_confirmed: int = 0, people_rejected: int = 0,
          sightings_confirmed: int = 0) -> PublishedRecord:
    """The record from the counts (pure: no I/O, no clock)."""
    by_category: dict[str, int] = {c: sum(1 for x in categories if x == c)
                                   for c in WATCH_CATEGORIES}
    # After the end, retention destroys the list except entries tied to kept alerts (R12):
    # fewer entries than the last review counted means the list is gone, and the review
    # (the list cannot change while live, and going live needs a current review, R9) says
    # how large it was.
    destroyed = ended_at is not None and len(categories) < reviewed_entries
    recorded = sum(outcomes.values())
    all_outcomes: dict[str, int] = {o: outcomes.get(o, 0) for o in OUTCOMES}
    all_outcomes["no_outcome_recorded"] = confirmed - recorded
    own = match_threshold is not None and admissible(match_threshold)
    return PublishedRecord(
        deployment_id=deployment_id, state=state, date=starts_at.date().isoformat(),
        location=location, planned_from=starts_at.isoformat(), planned_to=ends_at.isoformat(),
        live_from=live_at.isoformat() if live_at else None,
        live_to=ended_at.isoformat() if ended_at else None,
        watchlist_size=reviewed_entries if destroyed else len(categories),
        watchlist_by_category={} if destroyed else by_category,
        watchlist_destroyed=destroyed, faces_seen=faces_seen, candidates=candidates,
        people_matched=people, people_alerted=people_confirmed,
        people_rejected=people_rejected, alerts_confirmed=confirmed,
        sightings_confirmed=sightings_confirmed, candidates_rejected=rejected,
        false_alerts=outcomes.get("stopped_not_the_person", 0),
        engagements=sum(n for o, n in outcomes.items() if o in STOPPED),
        arrests=outcomes.get("arrested", 0), outcomes=all_outcomes,
        blue_walks_declared=blue_declared, blue_walks_detected=blue_detected,
        blue_detection_rate=blue_rate,
        blue_by_period=_periods(blue_periods or []),
        threshold=float(match_threshold) if own and match_threshold is not None
        else default_threshold,
        threshold_set_by="deployment" if own else "default",
        calibration_threshold=calibration.threshold if calibration else None,
        calibrated_fpir=calibration.fpir if calibration else None,
        calibration_faces=calibration.faces if calibration else None,
        calibration_source=calibration.source if calibration else "",
        audit_head=audit_head, generated_at=now.isoformat())


def _periods(given: list[PeriodRate]) -> dict[str, PeriodRate]:
    by = {p.period: p for p in given}
    return {p: by.get(p, PeriodRate(period=p, declared=0, detected=0, rate=None))
            for p in PERIODS}


CSV_COLUMNS: Final[tuple[str, ...]] = (
    "deployment_id", "state", "date", "location", "planned_from", "planned_to", "live_from",
    "live_to", "watchlist_size", *(f"watchlist_{c}" for c in WATCH_CATEGORIES),
    "watchlist_destroyed", "faces_seen", "candidates", "people_matched", "people_alerted",
    "people_rejected", "alerts_confirmed", "sightings_confirmed", "candidates_rejected",
    "false_alerts", "engagements", "arrests",
    *(f"outcome_{o}" for o in (*OUTCOMES, "no_outcome_recorded")), "blue_walks_declared",
    "blue_walks_detected", "blue_detection_rate",
    *(f"blue_{p}_{f}" for p in PERIODS for f in ("declared", "detected", "rate")),
    "threshold", "threshold_set_by",
    "calibration_threshold", "calibrated_fpir", "calibration_faces", "calibration_source",
    "audit_head", "generated_at")
"""One header row and one row per deployment, the same columns every time, so records of
many deployments concatenate into one table."""


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """A CSV cell; text a spreadsheet would run as a formula (``=HYPERLINK(...)`` typed as
    a location) gets a leading apostrophe (OWASP CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA):
        return "'" + text
    return text


def csv_row(record: PublishedRecord) -> list[str]:
    """The record's values in :data:`CSV_COLUMNS` order (empty for none)."""
    plain = msgspec.structs.asdict(record)
    values: dict[str, object] = {k: v for k, v in plain.items()
                                 if k not in ("watchlist_by_category", "outcomes",
                                              "blue_by_period")}
    for p, r in record.blue_by_period.items():
        values.update({f"blue_{p}_declared": r.declared, f"blue_{p}_detected": r.detected,
                       f"blue_{p}_rate": r.rate})
    for c in WATCH_CATEGORIES:
        values[f"watchlist_{c}"] = ("" if record.watchlist_destroyed
                                    else record.watchlist_by_category.get(c, 0))
    for o, n in record.outcomes.items():
        values[f"outcome_{o}"] = n
    return [_cell(values[c]) for c in CSV_COLUMNS]


def to_csv(record: PublishedRecord) -> str:
    """The record as CSV: the header and one row."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerow(csv_row(record))
    return out.getvalue()
