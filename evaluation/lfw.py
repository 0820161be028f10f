"""LFW View-2 verification: 10 folds × (300 same + 300 different) pairs.

Accuracy is cross-validated (threshold fitted on 9 folds, tested on the 10th; mean ± std over
folds); TAR at FAR = 1 % and 0.1 % and the ROC use all pairs. An image in which a pipeline finds
no face makes every pair that uses it a wrong answer for accuracy, and a rejection for TAR/FAR
(a missed face never raises an alarm), and is counted.
Templates are cached in memory for the run only.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec
import numpy as np

from evaluation import metrics
from evaluation.pipeline import Pipeline, Vector, read_rgb

FOLDS = 10


class Pair(msgspec.Struct, frozen=True):
    """One View-2 pair: image paths relative to the data folder, same person or not, fold."""

    left: str
    right: str
    same: bool
    fold: int


def _lfw_name(name: str, number: str) -> str:
    return f"by_identity/{name}/{name}_{int(number):04d}.jpg"


def read_pairs(path: Path) -> list[Pair]:
    """Read the official ``pairs.txt`` (header ``folds per_fold``, then ``name i j`` or
    ``name1 i name2 j`` lines) or a ``pairs_available.tsv`` (``img1 img2 same`` with paths
    relative to ``by_identity/``, in the official order: fold k holds rows 600k…600k+599)."""
    lines = [ln.rstrip("\n") for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    pairs: list[Pair] = []
    head = lines[0].split()
    if len(head) == 2 and all(h.isdigit() for h in head):
        per_fold = 2 * int(head[1])
        for i, line in enumerate(lines[1:]):
            f = line.split()
            if len(f) == 3:
                left, right = _lfw_name(f[0], f[1]), _lfw_name(f[0], f[2])
                pairs.append(Pair(left, right, True, i // per_fold))
            elif len(f) == 4:
                pairs.append(Pair(_lfw_name(f[0], f[1]), _lfw_name(f[2], f[3]), False,
                                  i // per_fold))
            else:
                raise ValueError(f"{path}:{i + 2}: not a pairs.txt line: {line!r}")
        return pairs
    rows = [ln.split("\t") for ln in lines[1:]] if not head[-1].isdigit() else \
        [ln.split("\t") for ln in lines]
    per_fold = max(1, len(rows) // FOLDS)
    for i, row in enumerate(rows):
        if len(row) != 3:
            raise ValueError(f"{path}: not an img1<TAB>img2<TAB>same line: {row!r}")
        pairs.append(Pair(f"by_identity/{row[0]}", f"by_identity/{row[1]}", row[2].strip() == "1",
                          min(i // per_fold, FOLDS - 1)))
    return pairs


def limit_pairs(pairs: Sequence[Pair], folds: int | None, per_fold: int | None) -> list[Pair]:
    """The first ``folds`` folds, and in each at most ``per_fold`` pairs (half same, half
    different) — for quick runs and tests."""
    out: list[Pair] = []
    keep_folds = sorted({p.fold for p in pairs})[: folds or None]
    for fold in keep_folds:
        inside = [p for p in pairs if p.fold == fold]
        if per_fold is not None:
            same = [p for p in inside if p.same][: (per_fold + 1) // 2]
            diff = [p for p in inside if not p.same][: per_fold // 2]
            inside = same + diff
        out.extend(inside)
    return out


class LfwResult(msgspec.Struct, frozen=True):
    """A pipeline's View-2 figures (aggregates only)."""

    pipeline: str
    metric: str
    pairs: int
    folds: int
    images: int
    failed_images: int
    failed_pairs: int
    found_by: dict[str, int]
    accuracy: metrics.KFoldAccuracy
    tar_far_1: metrics.OperatingPoint
    tar_far_01: metrics.OperatingPoint
    seconds: float
    ms_per_image: float
    roc_far: list[float]
    roc_tar: list[float]


def _pair_scores(
    pipeline: Pipeline, pairs: Sequence[Pair], templates: dict[str, Vector | None]
) -> tuple[np.ndarray, np.ndarray]:
    scores = np.empty(len(pairs), np.float64)
    failed = np.zeros(len(pairs), bool)
    for i, p in enumerate(pairs):
        a, b = templates[p.left], templates[p.right]
        if a is None or b is None:
            failed[i] = True
            # No comparison means no acceptance: a miss on a same pair, a (right) rejection on
            # a different pair for TAR/FAR. 10-fold accuracy counts it wrong either way.
            scores[i] = -np.inf
        else:
            scores[i] = float(pipeline.similarity(a, b[np.newaxis])[0])
    return scores, failed


def evaluate(
    pairs: Sequence[Pair],
    data_dir: Path,
    pipelines: Sequence[Pipeline],
    advance: Callable[[int], None] | None = None,
) -> list[LfwResult]:
    """Run every pipeline on every image of ``pairs`` (each image decoded once) and score."""
    images = sorted({p.left for p in pairs} | {p.right for p in pairs})
    templates: list[dict[str, Vector | None]] = [{} for _ in pipelines]
    found: list[Counter[str]] = [Counter() for _ in pipelines]
    seconds = [0.0 for _ in pipelines]
    for rel in images:
        image = read_rgb(data_dir / rel)
        for k, pipeline in enumerate(pipelines):
            started = time.perf_counter()
            result = pipeline.verification_template(image)
            seconds[k] += time.perf_counter() - started
            templates[k][rel] = result.vector
            found[k][result.how] += 1
        if advance is not None:
            advance(1)
    same = np.array([p.same for p in pairs])
    folds = np.array([p.fold for p in pairs])
    out = []
    for k, pipeline in enumerate(pipelines):
        scores, failed = _pair_scores(pipeline, pairs, templates[k])
        roc = metrics.roc_curve(scores[same], scores[~same])
        far, tar = metrics.downsample_curve(roc.far, roc.tar, 600)
        out.append(
            LfwResult(
                pipeline=pipeline.name,
                metric=pipeline.metric,
                pairs=len(pairs),
                folds=len(set(folds.tolist())),
                images=len(images),
                failed_images=found[k]["failed"],
                failed_pairs=int(failed.sum()),
                found_by=dict(found[k]),
                accuracy=metrics.kfold_accuracy(scores, same, folds, failed),
                tar_far_1=metrics.tar_at_far(scores[same], scores[~same], 0.01),
                tar_far_01=metrics.tar_at_far(scores[same], scores[~same], 0.001),
                seconds=seconds[k],
                ms_per_image=1000 * seconds[k] / max(1, len(images)),
                roc_far=far,
                roc_tar=tar,
            )
        )
    templates.clear()  # nothing of a face outlives the run
    return out
