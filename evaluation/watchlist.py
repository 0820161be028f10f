"""Open-set identification against a watch list, and the threshold calibration of R22.

Three folders: the gallery (``<identity>/<images>``, enrolled through each pipeline's real
enrolment path), mated probes (``<identity>/<images>``, people on the list) and impostors
(non-watch-list faces, ``<identity>/<images>`` or flat). Every probe is searched exhaustively
(exact cosine or Euclidean) against the whole gallery:

- TPIR(t): mated probes whose rank-1 candidate is the right identity *and* scores ≥ t;
- FPIR(t): impostor probes whose best score is ≥ t;

a probe whose largest face is missing or fails the live quality gate is never matched (it is
a miss when mated, and no alarm when an impostor), as in the live pipeline. TPIR is counted
over **every** mated probe: a probe of a person whose enrolment photo was refused is a miss
(that person can never be found), and the report says how many were lost there and why. The
threshold reported is the lowest one that keeps FPIR at or below the target on these impostors.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec
import numpy as np

from evaluation import metrics
from evaluation.baseline import DLIB_DISTANCE
from evaluation.pipeline import Pipeline, Vector, read_rgb

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})
FPIR_TARGETS = (0.1, 0.01, 0.001, 0.0001)

UTK_GENDER = {"0": "male", "1": "female"}
UTK_RACE = {"0": "White", "1": "Black", "2": "Asian", "3": "Indian", "4": "Others"}
_UTK_NAME = re.compile(r"^(\d{1,3})_([01])_([0-4])_")


class Item(msgspec.Struct, frozen=True):
    """One image file and the identity it shows (``None`` in a flat folder)."""

    identity: str | None
    path: Path


def list_folder(root: Path) -> list[Item]:
    """Images of ``root``: each sub-folder is an identity; images directly inside have none."""
    if not root.is_dir():
        raise FileNotFoundError(f"not a folder: {root}")
    items: list[Item] = []
    for entry in sorted(root.iterdir()):
        if entry.is_dir():
            items.extend(
                Item(entry.name, f)
                for f in sorted(entry.iterdir())
                if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
            )
        elif entry.is_file() and entry.suffix.lower() in IMAGE_SUFFIXES:
            items.append(Item(None, entry))
    return items


def utk_groups(name: str) -> tuple[str, str] | None:
    """(gender, ethnicity) from a UTKFace file name ``age_gender_race_timestamp…``, else None."""
    m = _UTK_NAME.match(name)
    if m is None:
        return None
    return UTK_GENDER[m.group(2)], UTK_RACE[m.group(3)]


class OperatingRow(msgspec.Struct, frozen=True):
    """A threshold with its TPIR and FPIR; ``target`` is the FPIR it was chosen for (or None)."""

    target: float | None
    threshold: float
    tpir: float
    fpir: float


class GroupRate(msgspec.Struct, frozen=True):
    """FPIR of one demographic group at the chosen threshold, with a Wilson 95 % interval."""

    dimension: str
    group: str
    impostors: int
    false_positives: int
    fpir: float
    low: float
    high: float


class SourceCalibration(msgspec.Struct, frozen=True):
    """The target-FPIR threshold fitted on one source of impostors alone (UTKFace-named files
    or the others): a source that secretly holds watch-list people shows up here."""

    source: str
    impostors: int
    chosen_rounded: OperatingRow


class WatchlistResult(msgspec.Struct, frozen=True):
    """A pipeline's open-set figures (aggregates only; nothing per face, R3)."""

    pipeline: str
    metric: str
    gallery_images: int
    enrolled_images: int
    enrolled_identities: int
    gallery_identities: int
    enrol_rejections: dict[str, int]
    mated_probes: int
    """Every probe of a gallery identity: TPIR's denominator."""
    mated_not_enrolled: int
    """Of those, probes of people whose enrolment was refused: misses at any threshold."""
    mated_unusable: dict[str, int]
    impostors: int
    impostors_unusable: dict[str, int]
    rank1: float
    target_fpir: float
    calibrated_on: str
    calibration_impostors: int
    chosen: OperatingRow
    chosen_all_impostors: OperatingRow
    chosen_rounded: OperatingRow
    at_configured: OperatingRow | None
    """TPIR and FPIR at the configured ``[matching] threshold`` (the one that runs)."""
    operating_points: list[OperatingRow]
    reference_points: list[OperatingRow]
    groups: list[GroupRate]
    sources: list[SourceCalibration]
    seconds: float
    det_fpir: list[float]
    det_fnir: list[float]
    det_fpir_all: list[float]
    det_fnir_all: list[float]


def _round_up(threshold: float, places: int = 3) -> float:
    """A threshold for a config file: rounded *up* so FPIR can only fall."""
    if not math.isfinite(threshold):
        return threshold
    factor = 10**places
    return float(math.ceil(threshold * factor - 1e-9) / factor)


def _row(
    target: float | None, t: float, mated: np.ndarray, correct: np.ndarray, nonmated: np.ndarray
) -> OperatingRow:
    return OperatingRow(
        target=target,
        threshold=t,
        tpir=float(metrics.tpir_at(mated, correct, [t])[0]),
        fpir=float(metrics.acceptance_rate(nonmated, [t])[0]),
    )


def _group_rates(
    names: Sequence[str], nonmated: np.ndarray, threshold: float
) -> list[GroupRate]:
    hits = nonmated >= threshold
    buckets: dict[tuple[str, str], list[int]] = {}
    for i, name in enumerate(names):
        groups = utk_groups(name)
        keys = (
            [("gender", groups[0]), ("ethnicity", groups[1])]
            if groups is not None
            else [("source", "unlabelled (no UTKFace name)")]
        )
        for key in keys:
            buckets.setdefault(key, []).append(i)
    out = []
    for (dimension, group), idx in sorted(buckets.items()):
        n = len(idx)
        k = int(hits[idx].sum())
        low, high = metrics.wilson_interval(k, n)
        out.append(GroupRate(dimension, group, n, k, k / n if n else 0.0, low, high))
    return out


def evaluate(
    gallery: Sequence[Item],
    probes: Sequence[Item],
    impostors: Sequence[Item],
    pipelines: Sequence[Pipeline],
    *,
    target_fpir: float = 0.001,
    by_group: bool = False,
    calibrate_on: str = "all",
    configured_threshold: float | None = None,
    advance: Callable[[int], None] | None = None,
) -> list[WatchlistResult]:
    """Enrol, search and score every pipeline on the same images (each decoded once).

    ``calibrate_on`` picks the impostors the threshold is fitted on: ``"all"``, ``"UTKFace"``
    (UTKFace-named files) or ``"other"`` (the rest). The chosen row's FPIR is on that set;
    the group table always covers every impostor at the chosen threshold.
    """
    enrolled: list[list[tuple[str, Vector]]] = [[] for _ in pipelines]
    rejections: list[Counter[str]] = [Counter() for _ in pipelines]
    seconds = [0.0 for _ in pipelines]
    for item in gallery:
        data = item.path.read_bytes()
        for k, pipeline in enumerate(pipelines):
            started = time.perf_counter()
            template = pipeline.enrol(data)
            seconds[k] += time.perf_counter() - started
            if template.vector is None:
                rejections[k][template.reason] += 1
            else:
                enrolled[k].append((item.identity or item.path.stem, template.vector))
        if advance is not None:
            advance(1)

    searches = [*probes, *impostors]
    best: list[np.ndarray] = [np.full(len(searches), -np.inf) for _ in pipelines]
    rank1: list[list[str | None]] = [[None] * len(searches) for _ in pipelines]
    unusable: list[list[str]] = [[""] * len(searches) for _ in pipelines]
    galleries = []
    for k in range(len(pipelines)):
        labels = [identity for identity, _ in enrolled[k]]
        matrix = (
            np.stack([v for _, v in enrolled[k]]).astype(np.float32)
            if enrolled[k]
            else np.zeros((0, 1), np.float32)
        )
        galleries.append((labels, matrix))
    for i, item in enumerate(searches):
        image = read_rgb(item.path)
        for k, pipeline in enumerate(pipelines):
            started = time.perf_counter()
            template = pipeline.probe(image)
            if template.vector is None:
                unusable[k][i] = template.reason
            elif galleries[k][1].shape[0]:
                sims = pipeline.similarity(template.vector, galleries[k][1])
                j = int(np.argmax(sims))
                best[k][i] = float(sims[j])
                rank1[k][i] = galleries[k][0][j]
            seconds[k] += time.perf_counter() - started
        if advance is not None:
            advance(1)

    n_probes = len(probes)
    gallery_ids = {item.identity or item.path.stem for item in gallery}
    out = []
    for k, pipeline in enumerate(pipelines):
        enrolled_ids = set(galleries[k][0])
        # Every probe of a listed person counts; one whose enrolment was refused has no
        # gallery row, so its rank-1 can never be right: a miss, as in the field.
        mated_idx = [i for i in range(n_probes) if probes[i].identity in gallery_ids]
        mated = best[k][mated_idx]
        correct = np.array([rank1[k][i] == probes[i].identity for i in mated_idx], bool)
        nonmated = best[k][n_probes:]
        names = [item.path.name for item in impostors]
        origin = np.array(["UTKFace" if utk_groups(n) else "other" for n in names])
        fit = nonmated if calibrate_on == "all" else nonmated[origin == calibrate_on]
        t = metrics.threshold_at_rate(fit, target_fpir)
        chosen = _row(target_fpir, t, mated, correct, fit)
        chosen_rounded = _row(target_fpir, _round_up(t), mated, correct, fit)
        chosen_all = _row(target_fpir, _round_up(t), mated, correct, nonmated)
        points = [
            _row(f, metrics.threshold_at_rate(nonmated, f), mated, correct, nonmated)
            for f in FPIR_TARGETS
        ]
        reference = (
            [_row(None, -DLIB_DISTANCE, mated, correct, nonmated)]
            if pipeline.metric == "euclidean"
            else []
        )
        curve = metrics.open_set_curve(mated, correct, fit)
        fpir_pts, tpir_pts = metrics.downsample_curve(curve.fpir, curve.tpir, 600)
        curve_all = metrics.open_set_curve(mated, correct, nonmated)
        fpir_all, tpir_all = metrics.downsample_curve(curve_all.fpir, curve_all.tpir, 600)
        sources = [
            SourceCalibration(
                src,
                int((origin == src).sum()),
                _row(
                    target_fpir,
                    _round_up(metrics.threshold_at_rate(nonmated[origin == src], target_fpir)),
                    mated, correct, nonmated[origin == src],
                ),
            )
            for src in sorted(set(origin.tolist()))
        ] if len(set(origin.tolist())) > 1 else []
        out.append(
            WatchlistResult(
                pipeline=pipeline.name,
                metric=pipeline.metric,
                gallery_images=len(gallery),
                enrolled_images=len(enrolled[k]),
                enrolled_identities=len(enrolled_ids),
                gallery_identities=len(gallery_ids),
                enrol_rejections=dict(rejections[k]),
                mated_probes=len(mated_idx),
                mated_not_enrolled=sum(
                    1 for i in mated_idx if probes[i].identity not in enrolled_ids
                ),
                mated_unusable=dict(Counter(unusable[k][i] for i in mated_idx if unusable[k][i])),
                impostors=len(impostors),
                impostors_unusable=dict(
                    Counter(r for r in unusable[k][n_probes:] if r)
                ),
                rank1=float(correct.mean()) if correct.size else 0.0,
                target_fpir=target_fpir,
                calibrated_on=calibrate_on,
                calibration_impostors=int(fit.size),
                chosen=chosen,
                chosen_all_impostors=chosen_all,
                chosen_rounded=chosen_rounded,
                at_configured=(
                    None if configured_threshold is None or pipeline.metric != "cosine"
                    else _row(None, configured_threshold, mated, correct, nonmated)
                ),
                operating_points=points,
                reference_points=reference,
                groups=_group_rates(names, nonmated, chosen_rounded.threshold) if by_group else [],
                sources=sources,
                seconds=seconds[k],
                det_fpir=fpir_pts,
                det_fnir=[1.0 - x for x in tpir_pts],
                det_fpir_all=fpir_all,
                det_fnir_all=[1.0 - x for x in tpir_all],
            )
        )
    enrolled.clear()  # templates never outlive the run (R3)
    galleries.clear()
    return out


class SplitManifest(msgspec.Struct, frozen=True):
    """What ``build_lfw_split`` wrote (symlinks to the source images, never copies)."""

    lfw: str
    utkface: str | None
    gallery_identities: int
    gallery_images: int
    probe_images: int
    impostor_images: int


def build_lfw_split(
    lfw_dir: Path,
    out: Path,
    *,
    utk_dir: Path | None = None,
    min_identities: int = 500,
    max_identities: int | None = None,
    half: str | None = None,
    seed: int = 0,
    max_probes: int | None = None,
) -> SplitManifest:
    """The standard split as symlinks under ``out``: for each identity of
    ``identities_ge2.txt`` its first image (by file name) in ``gallery/<id>/``, the others in
    ``probes/<id>/``; one-image identities (``identities_single.txt``) and UTKFace adults flat
    in ``impostors/``. Raises ``ValueError`` if fewer than ``min_identities`` are available.

    ``half`` (``dev`` or ``test``) keeps one of two disjoint halves of the listed and of the
    one-image identities (shuffled with ``seed``), so settings chosen on ``dev`` are reported
    on people they were never tuned on; UTKFace, when given, goes to both (it is for the
    per-group FPIR, not for choosing). ``max_probes`` caps the probes per person (LFW's
    few heavily photographed people would otherwise dominate TPIR)."""
    ids = [
        line.split()[0]
        for line in (lfw_dir / "identities_ge2.txt").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    singles = [
        line.split()[0]
        for line in (lfw_dir / "identities_single.txt").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    if half is not None:
        if half not in CFP_HALVES:
            raise ValueError(f"half must be one of {', '.join(CFP_HALVES)}")
        ids, singles = (_half(names, half, seed) for names in (ids, singles))
    if max_identities is not None:
        ids = ids[:max_identities]
    if len(ids) < min_identities:
        raise ValueError(f"only {len(ids)} identities with ≥2 images; need {min_identities}")
    for sub in ("gallery", "probes", "impostors"):
        if (out / sub).exists():
            raise FileExistsError(f"{out / sub} exists; choose an empty --out")

    def link(src: Path, dst: Path) -> None:
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.symlink_to(src.resolve())

    n_gallery = n_probes = n_impostors = 0
    for identity in ids:
        files = sorted((lfw_dir / "by_identity" / identity).glob("*.jpg"))
        if len(files) < 2:
            continue
        link(files[0], out / "gallery" / identity / files[0].name)
        n_gallery += 1
        for f in files[1:] if max_probes is None else files[1 : 1 + max_probes]:
            link(f, out / "probes" / identity / f.name)
            n_probes += 1
    for identity in singles:
        for f in sorted((lfw_dir / "by_identity" / identity).glob("*.jpg")):
            link(f, out / "impostors" / f"lfw-{f.name}")
            n_impostors += 1
    if utk_dir is not None:
        for f in sorted(utk_dir.glob("*.jpg")):
            link(f, out / "impostors" / f.name)
            n_impostors += 1
    manifest = SplitManifest(
        lfw=str(lfw_dir.resolve()),
        utkface=str(utk_dir.resolve()) if utk_dir is not None else None,
        gallery_identities=n_gallery,
        gallery_images=n_gallery,
        probe_images=n_probes,
        impostor_images=n_impostors,
    )
    (out / "split.json").write_bytes(msgspec.json.format(msgspec.json.encode(manifest)))
    return manifest


def _half(names: Sequence[str], half: str, seed: int) -> list[str]:
    """One of two disjoint halves of ``names`` (shuffled with ``seed``), in sorted order."""
    order = np.random.default_rng(seed).permutation(len(names))
    cut = len(names) // 2
    return sorted(names[i] for i in (order[:cut] if half == "dev" else order[cut:]))


class CfpSplitManifest(msgspec.Struct, frozen=True):
    """What ``build_cfp_split`` wrote (symlinks to the CFP images, never copies)."""

    cfp: str
    half: str
    seed: int
    listed: list[str]
    others: list[str]
    gallery_images: int
    probe_images: int
    impostor_images: int


CFP_HALVES = ("dev", "test")


def build_cfp_split(
    cfp_dir: Path,
    out: Path,
    *,
    half: str = "test",
    seed: int = 0,
    listed: int = 100,
    frontal_probes: int = 3,
    profile_probes: int = 2,
    other_frontal: int = 5,
    other_profile: int = 2,
) -> CfpSplitManifest:
    """An open-set watch-list split of CFP as symlinks under ``out``.

    The 500 people are shuffled with ``seed`` and cut into two disjoint halves, ``dev`` (for
    choosing settings) and ``test`` (for reporting them): a figure measured on one half was
    never tuned on it. ``all`` keeps everyone (the threshold calibration of R22, which wants
    every non-listed face there is). Of the people kept, ``listed`` are on the watch list
    with their first frontal photo in ``gallery/<id>/``; their next ``frontal_probes``
    frontal and first ``profile_probes`` profile photos are mated probes in
    ``probes/<id>/``; every other person contributes ``other_frontal`` frontal and
    ``other_profile`` profile photos, flat in ``impostors/`` (people not on the list)."""
    if half not in (*CFP_HALVES, "all"):
        raise ValueError(f"half must be one of {', '.join(CFP_HALVES)} or all")
    images = cfp_dir / "Data" / "Images"
    people = sorted(p.name for p in images.iterdir() if p.is_dir())
    if len(people) < 4:
        raise ValueError(f"no CFP people under {images}")
    order = np.random.default_rng(seed).permutation(len(people))
    cut = len(people) // 2
    kept = {"dev": order[:cut], "test": order[cut:], "all": order}[half]
    chosen = [people[i] for i in kept]
    if listed >= len(chosen):
        raise ValueError(f"the {half} half has {len(chosen)} people; listed must be fewer")
    for sub in ("gallery", "probes", "impostors"):
        if (out / sub).exists():
            raise FileExistsError(f"{out / sub} exists; choose an empty --out")

    def photos(person: str, pose: str) -> list[Path]:
        return sorted((images / person / pose).glob("*.jpg"))

    def link(src: Path, dst: Path) -> None:
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.symlink_to(src.resolve())

    on_list, others = sorted(chosen[:listed]), sorted(chosen[listed:])
    n_gallery = n_probes = n_impostors = 0
    for person in on_list:
        frontal, profile = photos(person, "frontal"), photos(person, "profile")
        if not frontal:
            continue
        link(frontal[0], out / "gallery" / person / f"frontal-{frontal[0].name}")
        n_gallery += 1
        for f in frontal[1 : 1 + frontal_probes]:
            link(f, out / "probes" / person / f"frontal-{f.name}")
            n_probes += 1
        for f in profile[:profile_probes]:
            link(f, out / "probes" / person / f"profile-{f.name}")
            n_probes += 1
    for person in others:
        picked = photos(person, "frontal")[:other_frontal] + photos(person, "profile")[
            :other_profile
        ]
        for f in picked:
            link(f, out / "impostors" / f"cfp-{person}-{f.parent.name}-{f.name}")
            n_impostors += 1
    manifest = CfpSplitManifest(
        cfp=str(cfp_dir.resolve()), half=half, seed=seed, listed=on_list, others=others,
        gallery_images=n_gallery, probe_images=n_probes, impostor_images=n_impostors,
    )
    (out / "split.json").write_bytes(msgspec.json.format(msgspec.json.encode(manifest)))
    return manifest
