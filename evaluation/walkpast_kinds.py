"""Listed passes per kind of walker photo (frontal or profile): which ones a threshold finds.

A CFP walk-past (``make-walkpast --source cfp``) walks each listed person in with a frontal or
a profile photo against a frontal enrolment photo; a profile walker is the harder case, and the
clip-wide count hides how the misses split. Aggregates only, like the rest of the report.
"""

from __future__ import annotations

import msgspec
import numpy as np

from evaluation.walkpast_sweep import Sweep, own_identity_peaks


class KindGroup(msgspec.Struct, frozen=True):
    """The listed passes whose walker photo is of one ``kind``, and what a threshold finds.

    ``scored``: passes with a score for their own identity at all (a face that was never
    embedded, or whose identity never reached the top entries, has none); ``peak_worst`` and
    ``peak_median``: over the scored passes, each pass's best score for its own identity."""

    kind: str
    passes: int
    found: int
    scored: int
    peak_worst: float | None
    peak_median: float | None


def kind_groups(sweep: Sweep, threshold: float | None) -> list[KindGroup]:
    """Per walker photo kind, listed passes found at ``threshold`` (empty when there is no
    threshold, or when every listed walker's kind is unknown: nothing to split)."""
    truth = sweep.truth
    listed = {i: p.kind for i, p in enumerate(truth.passes) if p.listed}
    if threshold is None or set(listed.values()) <= {"unknown"}:
        return []
    found = sweep.found_passes(threshold)
    own = own_identity_peaks(sweep)
    out = []
    for kind in sorted(set(listed.values())):
        idx = [i for i, k in listed.items() if k == kind]
        peaks = np.asarray([own[i] for i in idx if i in own], np.float64)
        out.append(KindGroup(
            kind=kind, passes=len(idx), found=sum(1 for i in idx if i in found),
            scored=int(peaks.size),
            peak_worst=float(peaks.min()) if peaks.size else None,
            peak_median=float(np.median(peaks)) if peaks.size else None))
    return out
