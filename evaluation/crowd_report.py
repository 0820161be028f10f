"""The Markdown report of ``pinchpoint eval crowd`` (aggregate figures only, R3)."""

from __future__ import annotations

from evaluation.crowd import CrowdReport, highest_evidence
from evaluation.walkpast import PipelineResult
from evaluation.walkpast_report import _s, _t
from evaluation.walkpast_sweep import Row


def _alerts(row: Row | None) -> str:
    return "—" if row is None else str(row.false_alerts)


def summary_lines(report: CrowdReport) -> list[str]:
    """The side-by-side table (also printed by the command)."""
    lines = [
        "| pipeline | tracks | frames analysed | false alerts at its operating point | "
        "highest track evidence (nothing is raised above it) |",
        "|---|---|---|---|---|",
    ]
    for r in report.results:
        point = r.at_configured or r.reference
        name = ("configured " if r.at_configured else "customary ") + _t(
            point.threshold if point else None, r.metric)
        lines.append(
            f"| {r.pipeline} | {r.tracks} | {r.frames_analysed} / {r.frames} "
            f"| {_alerts(point)} at {name} | {_t(highest_evidence(r), r.metric)} |")
    return lines


def _section(r: PipelineResult) -> list[str]:
    refused = ", ".join(f"{k} {v}" for k, v in r.refused_photos.items()) or "none"
    lines = [
        f"## {r.pipeline}", "",
        f"- Watch list: {r.enrolled_identities} of {r.gallery_identities} identities enrolled; "
        f"photos refused: {refused}.",
        f"- Frames: {r.frames_analysed} of {r.frames} analysed, {r.frames_dropped} dropped; "
        f"{r.tracks} tracks, {r.steps} decision steps; processing per frame p50 "
        f"{_s(r.processing_p50_s)}, p95 {_s(r.processing_p95_s)}; run {r.seconds:.0f} s.",
        "", "| threshold | false alerts (tracks' alerts) |", "|---|---|",
    ]
    for row in r.table:
        lines.append(f"| {_t(row.threshold, r.metric)} | {row.false_alerts} |")
    lines.append("")
    return lines


def markdown(report: CrowdReport, generated: str) -> str:
    """The whole report."""
    lines = [
        "# Crowd evaluation (false alerts)", "", f"Generated {generated}.", "",
        f"- Clip: `{report.clip}` ({report.width}×{report.height}, {report.fps} fps, "
        f"{report.frames} frames); watch list `{report.gallery}`; config `{report.config}`.",
        f"- Assumption: **{report.assumption}**.",
        "- Every frame is analysed in order through the live pipeline (as `eval walkpast`); "
        "a track raises its best entry once it reaches the threshold.",
        "", "## Summary", "", *summary_lines(report), "",
    ]
    for r in report.results:
        lines += _section(r)
    return "\n".join(lines)
