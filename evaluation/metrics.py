"""Verification and open-set identification metrics on similarity scores.

Convention: a *higher* score means *more alike*, and a comparison is accepted when
``score >= threshold``. Distances (dlib's Euclidean) are passed negated. A comparison that could
not be made (no face found) is scored ``-inf``: never accepted. :func:`kfold_accuracy` takes a
``failed`` mask to count such pairs wrong whatever their label.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import msgspec
import numpy as np
import numpy.typing as npt

Scores = npt.NDArray[np.float64]


def _as_scores(values: npt.ArrayLike) -> Scores:
    return np.asarray(values, dtype=np.float64).reshape(-1)


def acceptance_rate(scores: npt.ArrayLike, thresholds: npt.ArrayLike) -> Scores:
    """Share of ``scores`` at or above each threshold (vectorised over ``thresholds``).

    A ``-inf`` score (no usable face, no gallery) is never accepted, even at a ``-inf``
    threshold: a search that found nothing cannot be a match."""
    s = np.sort(_as_scores(scores))
    t = _as_scores(thresholds)
    if s.size == 0:
        return np.zeros_like(t)
    below = np.maximum(
        np.searchsorted(s, t, side="left"), np.searchsorted(s, -np.inf, side="right")
    )
    return np.asarray((s.size - below) / s.size, dtype=np.float64)


class RocCurve(msgspec.Struct, frozen=True):
    """Operating points, one per distinct finite score, from strictest to loosest."""

    thresholds: list[float]
    far: list[float]
    tar: list[float]


def roc_curve(genuine: npt.ArrayLike, impostor: npt.ArrayLike) -> RocCurve:
    """TAR and FAR at every distinct score used as the threshold (highest first)."""
    g = _as_scores(genuine)
    i = _as_scores(impostor)
    both = np.concatenate([g, i])
    thresholds = np.unique(both[np.isfinite(both)])[::-1]
    return RocCurve(
        thresholds=thresholds.tolist(),
        far=acceptance_rate(i, thresholds).tolist(),
        tar=acceptance_rate(g, thresholds).tolist(),
    )


def threshold_at_rate(negatives: npt.ArrayLike, rate: float) -> float:
    """The lowest threshold at which at most ``rate`` of ``negatives`` are accepted.

    With ``n`` negatives, at most ``k = floor(rate·n)`` may score ``>= threshold``: the
    threshold is the next float above the (k+1)-th highest score. ``+inf`` when no finite
    threshold can do it (more than ``k`` negatives are ``+inf``), ``-inf`` when every negative
    may pass.
    """
    s = np.sort(_as_scores(negatives))[::-1]
    if s.size == 0:
        return -math.inf
    k = math.floor(rate * s.size + 1e-9)
    if k >= s.size:
        return -math.inf
    pivot = float(s[k])
    if math.isinf(pivot):
        return pivot if pivot > 0 else -math.inf
    return float(np.nextafter(pivot, math.inf))


class OperatingPoint(msgspec.Struct, frozen=True):
    """One threshold and what it does: ``positive_rate`` among genuine/mated comparisons,
    ``negative_rate`` (FAR or FPIR) among impostor/non-mated ones."""

    threshold: float
    positive_rate: float
    negative_rate: float


def tar_at_far(genuine: npt.ArrayLike, impostor: npt.ArrayLike, far: float) -> OperatingPoint:
    """TAR at the lowest threshold whose FAR is at most ``far``."""
    t = threshold_at_rate(impostor, far)
    return OperatingPoint(
        threshold=t,
        positive_rate=float(acceptance_rate(genuine, [t])[0]),
        negative_rate=float(acceptance_rate(impostor, [t])[0]),
    )


def best_threshold(scores: npt.ArrayLike, same: npt.ArrayLike) -> tuple[float, float]:
    """The threshold that classifies (``same`` = accept) most pairs right, and that accuracy.

    Candidates sit half-way between consecutive distinct scores (and below/above all of them).
    """
    s = _as_scores(scores)
    y = np.asarray(same, dtype=bool).reshape(-1)
    finite = np.isfinite(s)
    s, y = s[finite], y[finite]
    if s.size == 0:
        return 0.0, 0.0
    order = np.argsort(s, kind="stable")
    s, y = s[order], y[order]
    # Threshold just below position i: pairs [0, i) rejected, [i, n) accepted.
    diff_below = np.concatenate([[0], np.cumsum(~y)])
    same_above = np.concatenate([np.cumsum(y[::-1])[::-1], [0]])
    correct = diff_below + same_above
    boundary = np.concatenate([[True], s[1:] != s[:-1], [True]])  # only between distinct scores
    correct = np.where(boundary, correct, -1)
    i = int(np.argmax(correct))
    if i == 0:
        t = float(s[0]) - 1.0
    elif i == s.size:
        t = float(s[-1]) + 1.0
    else:
        t = float((s[i - 1] + s[i]) / 2)
    return t, float(correct[i]) / s.size


class KFoldAccuracy(msgspec.Struct, frozen=True):
    """Cross-validated verification accuracy: per fold, the threshold is fitted on the others."""

    mean: float
    std: float
    accuracies: list[float]
    thresholds: list[float]


def kfold_accuracy(
    scores: npt.ArrayLike,
    same: npt.ArrayLike,
    folds: npt.ArrayLike,
    failed: npt.ArrayLike | None = None,
) -> KFoldAccuracy:
    """LFW-style accuracy: for each fold, choose the threshold that maximises accuracy on the
    other folds, then test on this one. ``failed`` pairs are wrong whatever the threshold.
    ``std`` is the population standard deviation over folds (as the LFW results page reports).
    """
    s = _as_scores(scores)
    y = np.asarray(same, dtype=bool).reshape(-1)
    f = np.asarray(folds).reshape(-1)
    bad = np.zeros(s.size, bool) if failed is None else np.asarray(failed, bool).reshape(-1)
    if not (s.size == y.size == f.size == bad.size):
        raise ValueError("scores, same, folds and failed must have the same length")
    accuracies: list[float] = []
    thresholds: list[float] = []
    fold_ids = np.unique(f)
    for fold in fold_ids:
        test = f == fold
        train = ~test if fold_ids.size > 1 else test
        fit = train & ~bad
        t, _ = best_threshold(s[fit], y[fit])
        ok = ((s[test] >= t) == y[test]) & ~bad[test]
        accuracies.append(float(ok.mean()) if ok.size else 0.0)
        thresholds.append(t)
    arr = np.asarray(accuracies)
    return KFoldAccuracy(
        mean=float(arr.mean()), std=float(arr.std()), accuracies=accuracies, thresholds=thresholds
    )


class OpenSetCurve(msgspec.Struct, frozen=True):
    """TPIR and FPIR at each threshold (highest first)."""

    thresholds: list[float]
    tpir: list[float]
    fpir: list[float]


def tpir_at(
    mated_scores: npt.ArrayLike, mated_correct: npt.ArrayLike, thresholds: npt.ArrayLike
) -> Scores:
    """True-positive identification rate: mated searches whose rank-1 candidate is the right
    identity *and* scores at or above the threshold. A search with no usable face is scored
    ``-inf`` (a miss)."""
    s = _as_scores(mated_scores)
    ok = np.asarray(mated_correct, bool).reshape(-1)
    return acceptance_rate(np.where(ok, s, -np.inf), thresholds)


def open_set_curve(
    mated_scores: npt.ArrayLike, mated_correct: npt.ArrayLike, nonmated_scores: npt.ArrayLike
) -> OpenSetCurve:
    """The DET/ROC data of an open-set search: FPIR is the share of non-mated searches whose
    best score reaches the threshold."""
    m = _as_scores(mated_scores)
    n = _as_scores(nonmated_scores)
    both = np.concatenate([m, n])
    thresholds = np.unique(both[np.isfinite(both)])[::-1]
    return OpenSetCurve(
        thresholds=thresholds.tolist(),
        tpir=tpir_at(m, mated_correct, thresholds).tolist(),
        fpir=acceptance_rate(n, thresholds).tolist(),
    )


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion (95 % by default); (0, 1) when ``trials`` is 0."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def downsample_curve(
    xs: Sequence[float], ys: Sequence[float], points: int = 400
) -> tuple[list[float], list[float]]:
    """At most ``points`` points of a curve, evenly spaced in index, ends kept (for plots)."""
    if len(xs) <= points:
        return list(xs), list(ys)
    idx = np.unique(np.linspace(0, len(xs) - 1, points).round().astype(int))
    return [xs[i] for i in idx], [ys[i] for i in idx]
