"""The passes nearest a false alert: which walkers alert, or come close, and as whom.

A clip's aggregate counts say *that* a stranger alerted; deciding what to do about it (refit the
threshold, or find that the "stranger" is the listed person under another name: UTKFace holds
many of LFW's celebrities) needs the photo. This lists, per pipeline, every pass that raises a
false alert at the threshold, then the non-listed passes with the highest evidence, each with
its truth photo (a path into the public evaluation set, never a face crop) and the identity its
best step put first. Evaluation data only: the live pipeline has no such listing (R3).
"""

from __future__ import annotations

import msgspec

from evaluation.walkpast_sweep import Sweep

NEAREST = 8
"""How many passes the listing holds, false alerts first."""


class NearPass(msgspec.Struct, frozen=True):
    """One pass and its best evidence: ``peak`` is the best top score of any of its steps,
    ``top_identity`` the entry that step put first (for a listed pass, its best step that put
    somebody else first); ``false_alert`` whether the threshold raises a false alert on it."""

    index: int
    identity: str
    listed: bool
    kind: str
    photo: str
    top_identity: str
    peak: float
    false_alert: bool


def nearest_passes(sweep: Sweep, threshold: float | None, count: int = NEAREST) -> list[NearPass]:
    """The passes raising a false alert at ``threshold``, then the highest non-listed (and
    wrong-identity listed) evidence below it, best first, at most ``count`` (every false alert
    is listed even past ``count``). Empty when there is no threshold."""
    if threshold is None:
        return []
    truth = sweep.truth
    best: dict[int, tuple[float, str]] = {}
    for s in sweep.steps:
        p = sweep.pass_index(s)
        if p is None or not s.scores:
            continue
        ident, score = s.scores[0]
        if truth.passes[p].listed and ident == truth.passes[p].identity:
            continue  # a listed pass's own identity is a find, not a near miss
        if p not in best or score > best[p][0]:
            best[p] = (float(score), ident)
    alerting = sweep.alerting_passes(threshold) | sweep.wrong_identity_passes(threshold)
    rows = [NearPass(index=p, identity=truth.passes[p].identity, listed=truth.passes[p].listed,
                     kind=truth.passes[p].kind, photo=truth.passes[p].photo,
                     top_identity=ident, peak=peak, false_alert=p in alerting)
            for p, (peak, ident) in best.items()]
    rows.sort(key=lambda r: (not r.false_alert, -r.peak))
    keep = max(count, sum(1 for r in rows if r.false_alert))
    return rows[:keep]

