"""How tracking holds up when a camera is analysed slowly, against the tracker's previous
rules, in the same run: the tracker alone on the live engine's own detections of the
``bench_pipeline`` walk-past clip (1280×720, 25 fps, several people on screen), sampled at
25 → 0.7 analysed frames/s.

    python bench/bench_tracking.py [--out bench/results/tracking.json] [--loops 4]

An overloaded box analyses each camera less often; when tracks break between frames, every
face is a new person and is embedded again — and the embedder is the pipeline's dearest stage
(four network runs a face with the fused, mirrored template), so the box falls further behind.
For each rate this counts tracks started, analysed frames a track lasted, and embeddings an
analysed frame asks for, for

- **shipped**: ``kernel.pipeline.tracker`` as it is (each track's own motion predicts where
  it is now; a track survives 2.5 of its camera's frame intervals, up to 3 × ``max_gap_s``);
- **baseline**: the rules before 2026-12-02 (overlap with the last box only; a fixed
  ``max_gap_s``), re-created by patching those two rules back.

Counts, not timings: the same on any machine, so CI could run it (it does not: it needs the
models and a minute). Detections are made once, with the shipped engine, and their boxes and
quality cached as JSON in ``--workdir``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_pipeline import FPS, machine, make_clip  # noqa: E402

from kernel.pipeline import tracker as tracking  # noqa: E402
from kernel.protocols.engine import Detection, Purpose, Quality  # noqa: E402

RATES = (25.0, 10.0, 5.0, 3.0, 2.0, 1.5, 1.0, 0.7)


class Found(msgspec.Struct, frozen=True):
    """What the tracker reads of a detection (no chip, no landmarks: no face on disk)."""

    box: tuple[float, float, float, float]
    score: float
    quality: Quality


def detections(clip: Path, models_dir: Path, cache: Path) -> list[list[Detection]]:
    """The shipped engine's live detections of every frame of ``clip`` (boxes and quality
    cached as JSON)."""
    if not cache.is_file():
        cache.write_bytes(msgspec.json.encode(_detect(clip, models_dir)))
    found = msgspec.json.decode(cache.read_bytes(), type=list[list[Found]])
    blank, points = np.zeros((1, 1, 3), np.uint8), np.zeros((5, 2), np.float32)
    return [[Detection(f.box, f.score, points, blank, f.quality) for f in frame]
            for frame in found]


def _detect(clip: Path, models_dir: Path) -> list[list[Found]]:
    import av

    from adapters.engine.onnx import OnnxEngine, OnnxEngineConfig
    from kernel.testing.camera_contract import make_context

    engine = OnnxEngine(OnnxEngineConfig(models_dir=str(models_dir)), make_context("bench"))
    out = []
    with av.open(str(clip)) as container:
        for frame in container.decode(video=0):
            image = np.asarray(frame.to_ndarray(format="rgb24"), np.uint8)
            found = engine.detect_sync(image, Purpose.LIVE)
            out.append([Found(d.box, d.score, d.quality) for d in found])
    return out


@contextlib.contextmanager
def previous_rules() -> Iterator[None]:
    """The tracker as it was: overlap with the last box, a fixed gap."""
    overlap, max_gap = tracking.Track.overlap, tracking.CameraTracker.max_gap

    def last_box(self: tracking.Track, box: tracking.Box, now: float) -> float:
        return tracking.iou(self.box, box)

    tracking.Track.overlap = last_box  # type: ignore[method-assign]
    tracking.CameraTracker.max_gap = property(  # type: ignore[method-assign,assignment]
        lambda self: self.settings.max_gap_s)
    try:
        yield
    finally:
        tracking.Track.overlap = overlap  # type: ignore[method-assign]
        tracking.CameraTracker.max_gap = max_gap  # type: ignore[method-assign]


def replay(frames: list[list[Detection]], rate: float, loops: int) -> dict[str, float]:
    """The tracker over ``loops`` plays of the clip analysed at ``rate`` frames/s; every
    face it asks a template for gets one (a constant: counts do not depend on its value)."""
    step = FPS / rate
    tracker = tracking.CameraTracker("bench")
    template = np.ones(8, np.float32)
    analysed = faces = tracks = embeds = 0
    while analysed * step < len(frames) * loops:
        now = analysed * step / FPS
        before = len(tracker.tracks)
        observed = tracker.update(now, frames[int(analysed * step) % len(frames)])
        tracks += len(tracker.tracks) - before
        faces += len(observed)
        for obs in observed:
            if obs.embed:
                embeds += 1
                tracker.add_template(obs, template, now)
        tracker.expire(now)
        analysed += 1
    seconds = len(frames) * loops / FPS
    return {"frames": analysed, "faces": faces, "tracks": tracks,
            "frames_per_track": round(faces / max(tracks, 1), 2),
            "embeds_per_frame": round(embeds / max(analysed, 1), 3),
            "embeds_per_s": round(embeds / seconds, 2)}


def markdown(rows: list[dict[str, Any]], loops: int, clip_frames: int) -> str:
    lines = [
        f"Tracker alone on the pipeline bench's clip ({clip_frames} frames at {FPS} fps, "
        f"played {loops}×), the shipped engine's detections; counts, not timings.",
        "",
        "| analysed frames/s a camera | tracks started (shipped / baseline) | "
        "frames a track lasted | embeddings a frame | embeddings/s a camera | "
        "baseline ÷ shipped embeddings |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        s, b = row["shipped"], row["baseline"]
        ratio = b["embeds_per_s"] / s["embeds_per_s"] if s["embeds_per_s"] else float("nan")
        lines.append(
            f"| {row['rate']:g} | {s['tracks']} / {b['tracks']} | "
            f"{s['frames_per_track']:.1f} / {b['frames_per_track']:.1f} | "
            f"{s['embeds_per_frame']:.2f} / {b['embeds_per_frame']:.2f} | "
            f"{s['embeds_per_s']:.2f} / {b['embeds_per_s']:.2f} | {ratio:.2f}× |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "tracking.json"))
    parser.add_argument("--workdir", default=str(REPO / "var" / "bench"),
                        help="where the clip, models and cached detections go")
    parser.add_argument("--loops", type=int, default=4)
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    models_dir = workdir / "models"
    if not (models_dir / "models.json").is_file():
        from modelkit.build import build_models

        build_models(models_dir)
    clip = make_clip(workdir / "walkpast-720p.mp4", models_dir)
    frames = detections(clip, models_dir, workdir / "walkpast-720p.detections.json")
    rows: list[dict[str, Any]] = []
    for rate in RATES:
        shipped = replay(frames, rate, args.loops)
        with previous_rules():
            baseline = replay(frames, rate, args.loops)
        rows.append({"rate": rate, "shipped": shipped, "baseline": baseline})
    table = markdown(rows, args.loops, len(frames))
    print(table)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine(), "rows": rows, "markdown": table}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
