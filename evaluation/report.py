"""Markdown reports of the evaluations (aggregate figures only, R3)."""

from __future__ import annotations

import math
import platform
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from evaluation.configured import ConfiguredEngine
from evaluation.lfw import LfwResult
from evaluation.watchlist import WatchlistResult


def pct(x: float, places: int = 2) -> str:
    """A rate as a percentage string."""
    return f"{100 * x:.{places}f} %"


def threshold_text(threshold: float, metric: str) -> str:
    """A threshold in the pipeline's own units (cosine similarity, or Euclidean distance)."""
    if not math.isfinite(threshold):
        return "none reachable" if threshold > 0 else "any"
    if metric == "euclidean":
        return f"distance ≤ {-threshold:.4f}"
    return f"cosine ≥ {threshold:.4f}"


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"


def _header(title: str) -> list[str]:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return [f"# {title}", "", f"Generated {stamp} on {platform.node() or 'this machine'}.", ""]


def engine_lines(configured: ConfiguredEngine | None) -> list[str]:
    """Which engine a report measured: the config file and every override, by name."""
    if configured is None:
        return []
    overrides = ", ".join(f"`{o}`" for o in configured.overrides) or "none"
    return [f"- engine: `[engine]` of `{configured.config_path}` (models "
            f"`{configured.models_dir}`); overrides: {overrides}; configured "
            f"`[matching] threshold` {configured.threshold:.3f}"]


def lfw_markdown(results: Sequence[LfwResult], *, pairs_file: str, roc_png: str,
                 configured: ConfiguredEngine | None = None) -> str:
    """The LFW View-2 report: pipelines side by side."""
    lines = _header("LFW View 2 verification")
    lines += engine_lines(configured)
    lines += [
        f"Pairs: `{pairs_file}`; {results[0].pairs if results else 0} pairs in "
        f"{results[0].folds if results else 0} folds. Accuracy: threshold fitted on the other "
        "folds, tested on each fold (mean ± std over folds). TAR at FAR over all pairs. "
        "A pair with an image in which no face was found counts as wrong for accuracy and as "
        "a rejection for TAR/FAR. With several Pinchpoint settings, detection is shared and its "
        "time is charged to the first.",
        "",
        "| pipeline | accuracy | TAR @ FAR 1 % | TAR @ FAR 0.1 % | images without a face "
        "| pairs affected | ms / image |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.pipeline} | {pct(r.accuracy.mean)} ± {pct(r.accuracy.std)} "
            f"| {pct(r.tar_far_1.positive_rate)} | {pct(r.tar_far_01.positive_rate)} "
            f"| {r.failed_images} / {r.images} | {r.failed_pairs} | {r.ms_per_image:.1f} |"
        )
    lines += ["", "How faces were found (per image):", ""]
    for r in results:
        lines.append(f"- {r.pipeline}: {_counts(r.found_by)}")
    lines += ["", "Thresholds:", ""]
    for r in results:
        lines.append(
            f"- {r.pipeline}: FAR 1 % at {threshold_text(r.tar_far_1.threshold, r.metric)}, "
            f"FAR 0.1 % at {threshold_text(r.tar_far_01.threshold, r.metric)}; "
            "per-fold accuracy "
            + ", ".join(f"{100 * a:.2f}" for a in r.accuracy.accuracies)
        )
    lines += ["", f"![ROC]({roc_png})", ""]
    return "\n".join(lines)


def watchlist_markdown(
    results: Sequence[WatchlistResult], *, folders: Mapping[str, str], det_png: str,
    configured: ConfiguredEngine | None = None,
) -> str:
    """The watch-list (open-set) report with the calibrated threshold (R22)."""
    lines = _header("Watch-list open-set identification")
    lines += engine_lines(configured)
    for role, path in folders.items():
        lines.append(f"- {role}: `{path}`")
    target = results[0].target_fpir if results else 0.001
    lines += [
        "",
        "TPIR: mated probes whose rank-1 candidate is right and scores at or above the "
        "threshold, over **all** mated probes (a probe of a person refused at enrolment is a "
        "miss). FPIR: impostor probes whose best score reaches the threshold. A probe whose "
        "largest face is missing or fails the live quality gate is never matched.",
        "",
        f"## Threshold for FPIR ≤ {pct(target, 3)}",
        "",
        f"Fitted on impostors: {results[0].calibrated_on if results else 'all'} "
        f"({results[0].calibration_impostors if results else 0} images).",
        "",
        "| pipeline | threshold (config, rounded up) | TPIR | FPIR (fitted set) "
        "| FPIR (all impostors) | rank-1 (no threshold) |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        c = r.chosen_rounded
        a = r.chosen_all_impostors
        lines.append(
            f"| {r.pipeline} | {threshold_text(c.threshold, r.metric)} | {pct(c.tpir)} "
            f"| {pct(c.fpir, 3)} ({round(c.fpir * r.calibration_impostors)} / "
            f"{r.calibration_impostors}) | {pct(a.fpir, 3)} ({round(a.fpir * r.impostors)} / "
            f"{r.impostors}) | {pct(r.rank1)} |"
        )
    configured_rows = [r for r in results if r.at_configured is not None]
    if configured_rows:
        lines += ["", "## At the configured threshold", "",
                  "| pipeline | threshold | TPIR (all probes) | FPIR (all impostors) |",
                  "|---|---|---|---|"]
        for r in configured_rows:
            at = r.at_configured
            assert at is not None
            lines.append(f"| {r.pipeline} | {threshold_text(at.threshold, r.metric)} "
                         f"| {pct(at.tpir)} | {pct(at.fpir, 3)} "
                         f"({round(at.fpir * r.impostors)} / {r.impostors}) |")
    lines += ["", "## Operating points (threshold fitted on all impostors)", "",
              "| pipeline | target FPIR | threshold | TPIR | FPIR |",
              "|---|---|---|---|---|"]
    for r in results:
        for p in [*r.operating_points, *r.reference_points]:
            target_text = pct(p.target, 3) if p.target is not None else "dlib's customary 0.6"
            lines.append(
                f"| {r.pipeline} | {target_text} | {threshold_text(p.threshold, r.metric)} "
                f"| {pct(p.tpir)} | {pct(p.fpir, 3)} |"
            )
    calibrated = [r for r in results if r.sources]
    if calibrated:
        lines += ["", "## Threshold fitted on each impostor source alone", "",
                  "If one source holds people who are also in the gallery (web-scraped sets "
                  "often share celebrities), its threshold is much higher than the others'.", "",
                  "| pipeline | impostor source | impostors | threshold | TPIR | FPIR |",
                  "|---|---|---|---|---|---|"]
        for r in calibrated:
            for s in r.sources:
                c = s.chosen_rounded
                lines.append(f"| {r.pipeline} | {s.source} | {s.impostors} "
                             f"| {threshold_text(c.threshold, r.metric)} | {pct(c.tpir)} "
                             f"| {pct(c.fpir, 3)} |")
    lines += ["", "## Counts", ""]
    for r in results:
        lines += [
            f"### {r.pipeline}",
            "",
            f"- gallery: {r.gallery_images} images of {r.gallery_identities} identities; "
            f"enrolled {r.enrolled_images} images, {r.enrolled_identities} identities",
            f"- enrolment rejections: {_counts(r.enrol_rejections)}",
            f"- mated probes: {r.mated_probes}, all counted; lost at enrolment (the person "
            f"was refused, so every probe is a miss): {r.mated_not_enrolled}; without a "
            f"usable face: {_counts(r.mated_unusable)}",
            f"- impostor probes: {r.impostors}; without a usable face: "
            f"{_counts(r.impostors_unusable)}",
            f"- compute: {r.seconds:.0f} s",
            "",
        ]
    grouped = [r for r in results if r.groups]
    if grouped:
        lines += [
            "## FPIR by group at the chosen threshold",
            "",
            "Groups from UTKFace file names (gender 0 male / 1 female; ethnicity 0 White, "
            "1 Black, 2 Asian, 3 Indian, 4 Others); LFW one-image impostors have no labels. "
            "Intervals are Wilson 95 %: with a few hundred faces per group and an FPIR near "
            "0.1 %, an interval spans roughly 0–1 %, so small groups cannot show a difference "
            "of that size either way.",
            "",
        ]
        for r in grouped:
            lines += [f"### {r.pipeline}", "", "| dimension | group | impostors | false positives "
                      "| FPIR | 95 % interval |", "|---|---|---|---|---|---|"]
            for g in r.groups:
                lines.append(
                    f"| {g.dimension} | {g.group} | {g.impostors} | {g.false_positives} "
                    f"| {pct(g.fpir, 3)} | {pct(g.low, 3)} – {pct(g.high, 3)} |"
                )
            lines.append("")
    lines += [f"![DET]({det_png})", ""]
    return "\n".join(lines)
