"""Non-listed passes that alert, per demographic group (R22's differential, for walk-pasts).

A walker cut from a UTKFace photo (``make-walkpast --source utkface``) carries its file stem as
identity, and UTKFace file names carry gender and ethnicity; this counts, per group, how many of
those passes raise an alert at one threshold, with a Wilson 95 % interval. Aggregates only.
"""

from __future__ import annotations

import msgspec

from evaluation import metrics
from evaluation.walkpast_sweep import Sweep
from evaluation.watchlist import utk_groups


class PassGroup(msgspec.Struct, frozen=True):
    """One group's non-listed passes and how many alerted at the threshold."""

    dimension: str
    group: str
    passes: int
    alerting: int
    rate: float
    low: float
    high: float
    peak_highest: float | None
    """The group's highest pass evidence (its best entry's score); higher = more alike."""


def pass_groups(sweep: Sweep, threshold: float | None) -> list[PassGroup]:
    """Per gender and ethnicity: non-listed UTKFace passes alerting at ``threshold`` (empty
    when no pass is a UTKFace walker or there is no threshold)."""
    truth = sweep.truth
    labelled = {i: g for i, p in enumerate(truth.passes)
                if not p.listed and (g := utk_groups(p.identity)) is not None}
    if threshold is None or not labelled:
        return []
    alerting = sweep.alerting_passes(threshold)
    peaks: dict[int, float] = {}
    for step in sweep.steps:
        p = sweep.pass_index(step)
        if p in labelled and step.scores:
            peaks[p] = max(peaks.get(p, step.scores[0][1]), step.scores[0][1])
    buckets: dict[tuple[str, str], list[int]] = {}
    for i, (gender, ethnicity) in labelled.items():
        buckets.setdefault(("gender", gender), []).append(i)
        buckets.setdefault(("ethnicity", ethnicity), []).append(i)
    out = []
    for (dimension, group), idx in sorted(buckets.items()):
        k = sum(1 for i in idx if i in alerting)
        low, high = metrics.wilson_interval(k, len(idx))
        scored = [peaks[i] for i in idx if i in peaks]
        out.append(PassGroup(dimension, group, len(idx), k, k / len(idx), low, high,
                             max(scored) if scored else None))
    return out
