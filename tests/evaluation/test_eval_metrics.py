"""Metrics of the evaluation tools on hand-computed toy cases (R22 calibration maths)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evaluation import metrics


def test_roc_curve_lists_every_distinct_threshold_from_strictest() -> None:
    roc = metrics.roc_curve([0.9, 0.8, 0.4], [0.7, 0.3, 0.2, 0.1])
    assert roc.thresholds == [0.9, 0.8, 0.7, 0.4, 0.3, 0.2, 0.1]
    assert roc.tar == pytest.approx([1 / 3, 2 / 3, 2 / 3, 1, 1, 1, 1])
    assert roc.far == pytest.approx([0, 0, 0.25, 0.25, 0.5, 0.75, 1])


def test_threshold_at_rate_allows_floor_of_rate_times_n_negatives() -> None:
    negatives = np.arange(1, 11) / 10  # 0.1 … 1.0
    # 10 % of 10 = 1 negative may pass: the threshold sits just above the second highest.
    t = metrics.threshold_at_rate(negatives, 0.1)
    assert 0.9 < t < 0.9 + 1e-9
    assert metrics.acceptance_rate(negatives, [t])[0] == pytest.approx(0.1)
    # 5 % of 10 rounds down to none: just above the highest.
    assert 1.0 < metrics.threshold_at_rate(negatives, 0.05) < 1.0 + 1e-9
    assert metrics.threshold_at_rate(negatives, 1.0) == -math.inf


def test_threshold_at_rate_cannot_beat_failed_comparisons() -> None:
    # Two impostor pairs that could not be compared are always wrong (+inf).
    assert metrics.threshold_at_rate([math.inf, math.inf, 0.1, 0.2], 0.25) == math.inf


def test_tar_at_far_toy() -> None:
    genuine = [0.95, 0.9, 0.85, 0.6, 0.3]
    impostor = [0.1, 0.2, 0.3, 0.4, 0.5, 0.55, 0.61, 0.7, 0.2, 0.1]
    point = metrics.tar_at_far(genuine, impostor, 0.1)  # one impostor (0.7) may pass
    assert point.negative_rate == pytest.approx(0.1)
    assert point.positive_rate == pytest.approx(3 / 5)  # 0.6 < 0.61 < threshold
    strict = metrics.tar_at_far(genuine, impostor, 0.0)
    assert strict.negative_rate == 0.0
    assert strict.positive_rate == pytest.approx(3 / 5)


def test_best_threshold_separates_perfectly_separable_scores() -> None:
    t, acc = metrics.best_threshold([0.1, 0.2, 0.8, 0.9], [False, False, True, True])
    assert t == pytest.approx(0.5)
    assert acc == 1.0


def test_best_threshold_never_splits_tied_scores() -> None:
    t, acc = metrics.best_threshold([0.5, 0.5, 0.9], [False, True, True])
    assert acc == pytest.approx(2 / 3)
    assert t == pytest.approx(0.7) or t < 0.5  # either side of the tie, never inside it


def test_kfold_fits_on_other_folds_and_counts_failures_wrong() -> None:
    # Folds 1 and 2 put fold 0's threshold at 0.55 (fold 0 alone would choose 0.35); for folds
    # 1 and 2 the other folds together choose 0.35 (7 of 8 right), which lets 0.5 through.
    scores = [0.3, 0.4, 0.45, 0.2, 0.5, 0.6, 0.9, 0.1, 0.5, 0.6, 0.9, 0.1]
    same = [False, True, True, False, False, True, True, False, False, True, True, False]
    folds = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    result = metrics.kfold_accuracy(scores, same, folds)
    assert result.accuracies == pytest.approx([0.5, 0.75, 0.75])
    assert result.thresholds == pytest.approx([0.55, 0.35, 0.35])
    assert result.mean == pytest.approx(2 / 3)
    assert result.std == pytest.approx(float(np.std([0.5, 0.75, 0.75])))
    failed = [False] * 12
    failed[6] = True  # a pair whose image had no face: wrong whatever the threshold
    with_fail = metrics.kfold_accuracy(scores, same, folds, failed)
    assert with_fail.accuracies == pytest.approx([0.5, 0.5, 0.75])


def test_open_set_tpir_needs_right_identity_and_threshold() -> None:
    mated = [0.9, 0.8, 0.7, -math.inf]  # the last probe had no usable face
    correct = [True, False, True, False]  # the second's rank-1 was somebody else
    nonmated = [0.75, 0.3, 0.2, 0.1]
    assert metrics.tpir_at(mated, correct, [0.6])[0] == pytest.approx(0.5)
    curve = metrics.open_set_curve(mated, correct, nonmated)
    i = curve.thresholds.index(0.75)
    assert curve.tpir[i] == pytest.approx(0.25)
    assert curve.fpir[i] == pytest.approx(0.25)
    t = metrics.threshold_at_rate(nonmated, 0.0)  # no impostor may pass
    assert metrics.tpir_at(mated, correct, [t])[0] == pytest.approx(0.25)


def test_wilson_interval_known_values() -> None:
    low, high = metrics.wilson_interval(0, 100)
    assert low == 0.0
    assert high == pytest.approx(0.0370, abs=1e-4)
    low, high = metrics.wilson_interval(5, 10)
    assert (low, high) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert metrics.wilson_interval(0, 0) == (0.0, 1.0)


def test_a_search_that_found_nothing_is_never_accepted() -> None:
    """-inf (no usable face, or nobody enrolled) is a miss even at a -inf threshold: before,
    an empty gallery reported TPIR 100 % at threshold "any"."""
    rates = metrics.acceptance_rate([-math.inf, -math.inf, 0.5], [-math.inf, 0.0, 0.6])
    assert rates.tolist() == [1 / 3, 1 / 3, 0.0]
    assert metrics.tpir_at([-math.inf, 0.9], [False, True], [-math.inf]).tolist() == [0.5]
