"""The offline threshold sweep of a walk-past run: replay each track's recorded decision
evidence at every threshold, exactly as the live matcher decides, and score the alerts against
the clip's truth.

Decision rule (the live pipeline's, :mod:`kernel.pipeline.live`): at threshold *t* a decision
step of a track raises its best entry if that scores ≥ *t* and the track has not raised it yet
(so a track raises at its first step whose top score is ≥ *t*, each entry at most once, and a
runner-up only once it has become the best); and a camera does not raise the same entry again
within ``repeat_s`` seconds (a track that broke must not raise a second candidate for the same
pass). An entry counted as raised by a track stays raised even when the repeat rule held its
candidate back, as live.

Scoring: an alert belongs to the pass whose face box at that frame overlaps the step's box best
(IoU ≥ :data:`MIN_IOU`), else to the pass its track overlapped most often, else to none. A
listed pass is *found* by an alert of its own identity. Every other alert is false: a listed
walker raised as somebody else (wrong identity), a non-listed walker raised at all, or an alert
on a track that overlaps no pass (unattributed).

Scores are "higher is more alike" in every pipeline (the ``face_recognition`` baseline's are
negated distances), so one sweep serves both.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from itertools import pairwise

import msgspec
import numpy as np

from evaluation.walkpast_truth import Box, Truth

MIN_IOU = 0.2
"""Overlap of a detected face box with a truth box for the detection to be that pass's."""


class Step(msgspec.Struct, frozen=True):
    """One decision step of one track: its evidence, held in memory only (R3).

    ``scores`` are (identity, score), best first, with no threshold applied; ``latency_s`` is
    the measured processing latency of the step's frame (capture to analysed).
    """

    camera_id: str
    track: int
    frame: int
    box: Box
    scores: tuple[tuple[str, float], ...]
    latency_s: float = 0.0


class Alert(msgspec.Struct, frozen=True):
    """A candidate the matcher would raise at some threshold."""

    step: Step
    identity: str
    score: float


class Row(msgspec.Struct, frozen=True):
    """The outcome at one threshold (aggregate counts only)."""

    threshold: float
    listed_found: int
    listed_passes: int
    non_listed_alerting: int
    non_listed_passes: int
    wrong_identity: int
    unattributed: int
    false_alerts: int
    alerts: int
    latency_p50_s: float | None = None
    latency_p95_s: float | None = None
    latency_max_s: float | None = None


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def attribute(step: Step, truth: Truth) -> int | None:
    """The index of the pass whose face the step's box is (best IoU ≥ :data:`MIN_IOU`)."""
    best, best_iou = None, MIN_IOU
    for i, p in enumerate(truth.passes):
        box = p.box_at(step.frame)
        if box is None:
            continue
        overlap = box_iou(step.box, box)
        if overlap >= best_iou:
            best, best_iou = i, overlap
    return best


def decide(steps: Iterable[Step], threshold: float, repeat_s: float, fps: float) -> list[Alert]:
    """The alerts raised at ``threshold``, in time order (the live matcher's rule)."""
    alerts: list[Alert] = []
    raised: dict[tuple[str, int], set[str]] = defaultdict(set)
    last: dict[tuple[str, str], float] = {}
    for step in sorted(steps, key=lambda s: (s.frame, s.camera_id, s.track)):
        done = raised[(step.camera_id, step.track)]
        # The step's best entry, if it clears the threshold and this track has not raised it.
        pick = step.scores[0] if step.scores else None
        if pick is None or pick[1] < threshold or pick[0] in done:
            continue
        identity, score = pick
        done.add(identity)
        now = step.frame / fps
        previous = last.get((step.camera_id, identity))
        if previous is not None and now - previous < repeat_s:
            continue
        last[(step.camera_id, identity)] = now
        alerts.append(Alert(step, identity, score))
    return alerts


class Sweep:
    """Steps attributed to passes once, then evaluated at any threshold."""

    def __init__(self, steps: Sequence[Step], truth: Truth, repeat_s: float) -> None:
        self.steps = list(steps)
        self.truth = truth
        self.repeat_s = repeat_s
        self.pass_of: dict[tuple[str, int, int], int | None] = {}
        votes: dict[tuple[str, int], Counter[int]] = defaultdict(Counter)
        for s in self.steps:
            p = attribute(s, truth)
            self.pass_of[(s.camera_id, s.track, s.frame)] = p
            if p is not None:
                votes[(s.camera_id, s.track)][p] += 1
        self.track_pass = {k: c.most_common(1)[0][0] for k, c in votes.items()}
        self._rows: dict[float, Row] = {}
        self._alerting: dict[float, frozenset[int]] = {}
        self._found: dict[float, frozenset[int]] = {}
        self._wrong: dict[float, frozenset[int]] = {}

    def alerting_passes(self, threshold: float) -> frozenset[int]:
        """Indices of the non-listed passes that raise an alert at ``threshold``."""
        self.at(threshold)
        return self._alerting[threshold]

    def found_passes(self, threshold: float) -> frozenset[int]:
        """Indices of the listed passes found (raised as themselves) at ``threshold``."""
        self.at(threshold)
        return self._found[threshold]

    def wrong_identity_passes(self, threshold: float) -> frozenset[int]:
        """Indices of the listed passes raised as somebody else at ``threshold``."""
        self.at(threshold)
        return self._wrong[threshold]

    def pass_index(self, step: Step) -> int | None:
        """The pass a step belongs to (its face box's, else its track's), or None."""
        return self._pass(step)

    def _pass(self, step: Step) -> int | None:
        p = self.pass_of.get((step.camera_id, step.track, step.frame))
        return p if p is not None else self.track_pass.get((step.camera_id, step.track))

    def at(self, threshold: float) -> Row:
        """Counts at one threshold; latency over the passes found (first right alert)."""
        row = self._rows.get(threshold)
        if row is None:
            row = self._rows[threshold] = self._evaluate(threshold)
        return row

    def _evaluate(self, threshold: float) -> Row:
        truth = self.truth
        found: dict[int, float] = {}
        non_listed: set[int] = set()
        wrong_passes: set[int] = set()
        wrong = unattributed = false = 0
        alerts = decide(self.steps, threshold, self.repeat_s, truth.fps)
        for alert in alerts:
            p = self._pass(alert.step)
            if p is None:
                unattributed += 1
                false += 1
                continue
            walk = truth.passes[p]
            if walk.listed and alert.identity == walk.identity:
                if p not in found:
                    delay = (alert.step.frame - walk.first_frame) / truth.fps
                    found[p] = delay + alert.step.latency_s
                continue
            false += 1
            if walk.listed:
                wrong += 1
                wrong_passes.add(p)
            else:
                non_listed.add(p)
        self._alerting[threshold] = frozenset(non_listed)
        self._found[threshold] = frozenset(found)
        self._wrong[threshold] = frozenset(wrong_passes)
        latencies = np.asarray(list(found.values()), np.float64)
        listed = sum(1 for p in truth.passes if p.listed)
        return Row(
            threshold=threshold, listed_found=len(found), listed_passes=listed,
            non_listed_alerting=len(non_listed), non_listed_passes=len(truth.passes) - listed,
            wrong_identity=wrong, unattributed=unattributed, false_alerts=false,
            alerts=len(alerts),
            latency_p50_s=_q(latencies, 50), latency_p95_s=_q(latencies, 95),
            latency_max_s=float(latencies.max()) if latencies.size else None,
        )

    def candidates(self) -> list[float]:
        """Every threshold at which the outcome can change: each score a step carries."""
        return sorted({v for s in self.steps for _, v in s.scores})

    def best_at_zero_false(self) -> Row | None:
        """The threshold with no false alert that finds the most listed passes (the lowest
        such threshold: the one that alerts soonest); None when every threshold that raises
        anything raises a false alert."""
        best: Row | None = None
        for t in self.candidates():
            row = self.at(t)
            if row.false_alerts == 0 and (best is None or row.listed_found > best.listed_found):
                best = row
        return best

    def zero_false_range(self, row: Row) -> tuple[float, float]:
        """[lowest, highest] candidate thresholds giving ``row``'s finds with no false alert."""
        ok = [t for t in self.candidates()
              if (r := self.at(t)).false_alerts == 0 and r.listed_found == row.listed_found]
        return (min(ok), max(ok)) if ok else (row.threshold, row.threshold)

    def table(self, extra: Iterable[float] = (), rows: int = 12) -> list[Row]:
        """Rows over the interesting range (from where most listed passes are found to where
        none is), the highest threshold that still raises a false alert, and ``extra``
        thresholds (exact, not rounded), in increasing order."""
        cands = self.candidates()
        if not cands:
            return [self.at(t) for t in sorted(set(extra))]
        if not any(p.listed for p in self.truth.passes):
            # Nobody listed (a crowd): the rows worth showing are where one more false alert
            # appears, from the highest evidence down.
            steps = [lower for lower, t in pairwise(cands)
                     if self.at(lower).false_alerts != self.at(t).false_alerts]
            return [self.at(t) for t in sorted(set(steps[-rows:]) | {cands[-1]} | set(extra))]
        # The range worth showing: from the highest threshold at which the most passes are
        # found (any lower only adds false alerts) up to the highest score that finds one.
        rows_at = [(t, self.at(t)) for t in cands]
        most = max(r.listed_found for _, r in rows_at)
        lo = max(t for t, r in rows_at if r.listed_found == most)
        hits = [t for t, r in rows_at if r.listed_found > 0]
        hi = max(hits) if hits else max(cands)
        lo = min(lo, min((t for t, r in rows_at if r.false_alerts == 0), default=lo))
        grid = np.linspace(lo, hi, rows) if hi > lo else np.asarray([lo])
        first_false = [t for t, r in rows_at if r.false_alerts > 0]
        wanted = ({round(float(t), 4) for t in grid} | set(extra)
                  | ({max(first_false)} if first_false else set()))
        return [self.at(t) for t in sorted(wanted)]


def _q(values: np.ndarray, q: float) -> float | None:
    return float(np.percentile(values, q)) if values.size else None


def own_identity_peaks(sweep: Sweep) -> dict[int, float]:
    """Listed pass index → the best score any of its steps gave its own identity (passes whose
    identity never reached a step's top entries are absent)."""
    own: dict[int, float] = {}
    for s in sweep.steps:
        p = sweep.pass_index(s)
        if p is None or not sweep.truth.passes[p].listed:
            continue
        identity = sweep.truth.passes[p].identity
        mine = [v for ident, v in s.scores if ident == identity]
        if mine:
            own[p] = max(own.get(p, -np.inf), mine[0])
    return own


def peak_summary(steps: Sequence[Step], truth: Truth) -> dict[str, float | int | None]:
    """Aggregate peak scores: listed passes' best score for their own identity, non-listed
    passes' best top score (median, highest), how many of each were scored at all, and the
    highest top score of any step (``any_track_peak_highest``).
    "Worst" and "best" are in score order (higher = more alike, whatever the metric)."""
    sweep = Sweep(steps, truth, 0.0)
    own = own_identity_peaks(sweep)
    other: dict[int, float] = {}
    for s in steps:
        p = sweep._pass(s)
        if p is None or not s.scores or truth.passes[p].listed:
            continue
        other[p] = max(other.get(p, -np.inf), s.scores[0][1])
    a = np.asarray(list(own.values()))
    b = np.asarray(list(other.values()))
    tops = [s.scores[0][1] for s in steps if s.scores]
    listed = sum(1 for p in truth.passes if p.listed)
    return {
        "listed_scored": len(own), "listed_passes": listed,
        "listed_peak_worst": float(a.min()) if a.size else None,
        "listed_peak_median": _q(a, 50),
        "listed_peak_best": float(a.max()) if a.size else None,
        "non_listed_scored": len(other),
        "non_listed_peak_median": _q(b, 50),
        "non_listed_peak_highest": float(b.max()) if b.size else None,
        # Any track's best entry, attributed to a pass or not: above it nothing is raised
        # (what a crowd clip, whose truth has no passes, is judged by).
        "any_track_peak_highest": float(max(tops)) if tops else None,
    }
