"""The Markdown report of ``pinchpoint eval walkpast`` (aggregate figures only, R3)."""

from __future__ import annotations

import math

from evaluation.report import pct, threshold_text
from evaluation.walkpast import PipelineResult, WalkpastReport
from evaluation.walkpast_sweep import Row


def _t(value: float | None, metric: str) -> str:
    """A threshold to 4 places, rounded so that setting it keeps what it stands for (a
    cosine rounded down, a distance up: a score exactly at the threshold still passes)."""
    if value is None or not math.isfinite(value):
        return "—" if value is None else threshold_text(value, metric)
    if metric == "euclidean":
        return f"distance ≤ {math.ceil(-value * 1e4 - 1e-9) / 1e4:.4f}"
    return f"cosine ≥ {math.floor(value * 1e4 + 1e-9) / 1e4:.4f}"


def _s(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def _found(row: Row | None) -> str:
    if row is None:
        return "—"
    return f"{row.listed_found} / {row.listed_passes}"


def _falses(row: Row | None) -> str:
    if row is None:
        return "—"
    return (f"{row.false_alerts} ({row.non_listed_alerting} non-listed passes, "
            f"{row.wrong_identity} wrong identity, {row.unattributed} unattributed)")


def _score(value: float | int | None, metric: str, digits: int = 3) -> str:
    if value is None:
        return "—"
    v = float(value)
    return f"{-v:.{digits}f} (distance)" if metric == "euclidean" else f"{v:.{digits}f}"


def summary_lines(report: WalkpastReport) -> list[str]:
    """The side-by-side table (also printed by the command)."""
    lines = [
        "| pipeline | listed passes found at zero false alerts | at threshold | "
        "found at its operating point | false alerts there | latency p50 / p95 (found) |",
        "|---|---|---|---|---|---|",
    ]
    for r in report.results:
        best = r.best_zero_false
        point = r.at_configured or r.reference
        point_name = ("configured " if r.at_configured else "customary ") + _t(
            point.threshold if point else None, r.metric)
        span = ""
        if best is not None and r.zero_false_range is not None:
            lo, hi = r.zero_false_range
            span = f" (holds for {_t(lo, r.metric)} … {_t(hi, r.metric)})" if hi > lo else ""
        none = "0 (every threshold that raises anything raises a false alert)"
        lines.append(
            f"| {r.pipeline} | {_found(best) if best else none} "
            f"| {_t(best.threshold if best else None, r.metric)}{span} "
            f"| {_found(point)} at {point_name} | {_falses(point)} "
            f"| {_s(point.latency_p50_s if point else None)} / "
            f"{_s(point.latency_p95_s if point else None)} |"
        )
    return lines


def _pipeline_section(r: PipelineResult) -> list[str]:
    lines = [f"## {r.pipeline}", ""]
    refused = ", ".join(f"{k} {v}" for k, v in r.refused_photos.items()) or "none"
    lines += [
        f"- Enrolment: {r.enrolled_identities} of {r.gallery_identities} gallery identities "
        f"enrolled; photos refused: {refused}. Listed walkers with no template (never "
        f"findable): {r.listed_walkers_not_enrolled}.",
        f"- Frames: {r.frames_analysed} of {r.frames} analysed, {r.frames_dropped} dropped; "
        f"{r.tracks} tracks, {r.steps} decision steps recorded; "
        f"processing per frame p50 {_s(r.processing_p50_s)}, p95 {_s(r.processing_p95_s)}; "
        f"run {r.seconds:.0f} s.",
    ]
    if r.live_candidates is not None and r.at_configured is not None:
        agree = "agrees" if r.live_candidates == r.at_configured.alerts else "DISAGREES"
        lines.append(f"- The live run raised {r.live_candidates} candidates at the configured "
                     f"threshold; the replay of its evidence raises {r.at_configured.alerts} "
                     f"({agree}).")
    p = r.peaks
    lines += [
        f"- Peak scores over a pass: listed passes' own identity ({p['listed_scored']} of "
        f"{p['listed_passes']} scored) worst {_score(p['listed_peak_worst'], r.metric)}, median "
        f"{_score(p['listed_peak_median'], r.metric)}, best "
        f"{_score(p['listed_peak_best'], r.metric)}; non-listed passes' best entry "
        f"({p['non_listed_scored']} scored) median "
        f"{_score(p['non_listed_peak_median'], r.metric)}, highest "
        f"{_score(p['non_listed_peak_highest'], r.metric)}.",
        "",
        "| threshold | listed found | non-listed passes alerting | wrong identity | "
        "unattributed | false alerts | latency p50 / p95 / max |",
        "|---|---|---|---|---|---|---|",
    ]
    shown: list[tuple[str, str, Row]] = []
    for row in r.table:
        marks = []
        configured = r.configured_threshold
        if configured is not None and abs(row.threshold - configured) < 5e-5:
            marks.append("configured")
        if r.best_zero_false is not None and row.threshold == r.best_zero_false.threshold:
            marks.append("best at 0 false")
        if r.reference is not None and row.threshold == r.reference.threshold:
            marks.append("customary")
        if row.false_alerts and row.threshold == max(
                (x.threshold for x in r.table if x.false_alerts), default=None):
            marks.append("highest with a false alert")
        text = _t(row.threshold, r.metric)
        mark = f" ({', '.join(marks)})" if marks else ""
        # A grid point that prints like a marked threshold beside it says nothing new.
        if shown and shown[-1][0] == text and row.listed_found == shown[-1][2].listed_found \
                and row.false_alerts == shown[-1][2].false_alerts:
            if not mark:
                continue
            if not shown[-1][1]:
                shown.pop()
        shown.append((text, mark, row))
    for text, mark, row in shown:
        lines.append(
            f"| {text}{mark} | {row.listed_found} / {row.listed_passes} "
            f"| {row.non_listed_alerting} / {row.non_listed_passes} | {row.wrong_identity} "
            f"| {row.unattributed} | {row.false_alerts} | {_s(row.latency_p50_s)} / "
            f"{_s(row.latency_p95_s)} / {_s(row.latency_max_s)} |"
        )
    lines.append("")
    if r.kinds:
        lines += [
            "Listed passes by the walker's photo, at the "
            + ("configured" if r.at_configured else "customary") + " threshold:", "",
            "| walker photo | listed passes | found | scored for their own identity | "
            "own peak worst / median |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {k.kind} | {k.passes} | {k.found} | {k.scored} | "
            f"{_score(k.peak_worst, r.metric)} / {_score(k.peak_median, r.metric)} |"
            for k in r.kinds
        ]
        lines.append("")
    if r.nearest:
        lines += [
            "Passes raising a false alert at the "
            + ("configured" if r.at_configured else "customary") + " threshold, then the "
            "highest evidence below it (photo: in the source data set, to look at):", "",
            "| pass | walker | listed | photo | put first | peak | false alert |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {n.index} | {n.identity} | {'yes' if n.listed else 'no'} | `{n.photo}` "
            f"| {n.top_identity} | {_score(n.peak, r.metric, 4)} | "
            f"{'**yes**' if n.false_alert else 'no'} |"
            for n in r.nearest
        ]
        lines.append("")
    if r.groups:
        lines += [
            "Non-listed UTKFace passes alerting at the "
            + ("configured" if r.at_configured else "customary") + " threshold, per group "
            "(Wilson 95 %):", "",
            "| group | passes | alerting | rate (95 % interval) | highest pass evidence |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {g.dimension}: {g.group} | {g.passes} | {g.alerting} | {pct(g.rate, 1)} "
            f"({pct(g.low, 1)}–{pct(g.high, 1)}) | {_score(g.peak_highest, r.metric)} |"
            for g in r.groups
        ]
        lines.append("")
    return lines


def markdown(report: WalkpastReport, generated: str) -> str:
    """The whole report."""
    engine = report.engine
    detector = engine.get("detector", {}) if isinstance(engine.get("detector"), dict) else {}
    embedder = engine.get("embedder", {}) if isinstance(engine.get("embedder"), dict) else {}
    alignment = engine.get("alignment", {}) if isinstance(engine.get("alignment"), dict) else {}
    t = report.tracker
    lines = [
        "# Walk-past evaluation", "", f"Generated {generated}.", "",
        f"- Clip: `{report.clip}` ({report.width}×{report.height}, {report.fps} fps, "
        f"{report.frames} frames); truth `{report.truth}` (source {report.source or '?'}, "
        f"seed {report.seed}); gallery `{report.gallery}`.",
        f"- {report.passes} passes, {report.listed_passes} by listed people; two people in "
        f"view {pct(report.two_in_view, 0)} of the time; faces {report.face_px[0]:.0f} → "
        f"{report.face_px[1]:.0f} px wide.",
        f"- Engine as configured by `{report.config}`: {engine.get('type')}, detector input "
        f"width {detector.get('input_width', '?')}, alignment {alignment.get('method', '?')}"
        + (f" fused with {alignment['fuse_with']}" if alignment.get("fuse_with") else "")
        + f", mirror {embedder.get('mirror', '?')}. Tracker: "
        + ", ".join(f"{k} {v}" for k, v in t.items()) + ".",
        "",
        "Every frame is analysed in order (the file camera waits for the pipeline), stamped "
        "with its time in the clip. At a threshold *t* a track raises its best entry if that "
        "scores ≥ *t* and it has not raised it yet, and a camera raises an entry at most once per "
        "repeat window. A listed pass is found by an alert of its own identity from a track on "
        "its face; every other alert is false. Latency: from the pass's first frame to the "
        "frame whose step raised it, plus that frame's measured processing time.",
        "",
        "## Summary", "", *summary_lines(report), "",
    ]
    for r in report.results:
        lines += _pipeline_section(r)
    return "\n".join(lines)
