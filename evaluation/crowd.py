"""``pinchpoint eval crowd``: a clip of people who are on no watch list, played through the real
live pipeline against a watch list, to count the false alerts a crowd raises.

A walk-past clip (:mod:`evaluation.walkpast`) says who walks past; a crowd clip (passers-by,
e.g. ``video/facenet_pytorch_video.mp4`` of the evaluation data) has no truth at all. Its one
assumption, stated in every report: **nobody in the clip is on the list** (a list of
celebrities against a street crowd). Then every alert is false, and the figures that matter are
how many tracks the crowd made, how many alerts each threshold raises, and the highest track
evidence any of them reached (the lowest threshold that raises nothing).

The run is exactly ``eval walkpast``'s (same paced runtime, same recorded evidence, same
replayed decision rule, the ``face_recognition`` library on the same frames with
``--baseline``) with a truth of no passes, so the two evaluations cannot drift apart. Only
aggregates are written (R3).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import av
import msgspec

from evaluation.walkpast import PipelineResult
from evaluation.walkpast_truth import FORMAT, Truth, TruthError

ASSUMPTION = "nobody in the clip is on the watch list: every alert is false"


class CrowdReport(msgspec.Struct, kw_only=True):
    """Everything ``eval crowd`` writes (``crowd_metrics.json``)."""

    clip: str
    gallery: str
    config: str
    assumption: str
    fps: int
    width: int
    height: int
    frames: int
    results: list[PipelineResult]


def crowd_truth(clip: Path) -> Truth:
    """The truth of a crowd clip: its geometry and frame count, and no passes.

    Raises :class:`TruthError` (one line, exit code 2) when ``clip`` is not a playable video or
    holds no frame. The frames are counted by decoding when the header does not say."""
    if not clip.is_file():
        raise TruthError(f"clip {clip} not found")
    try:
        with av.open(str(clip)) as container:
            if not container.streams.video:
                raise TruthError(f"clip {clip} has no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            fps = max(1, round(float(rate))) if rate else 25
            width, height = int(stream.codec_context.width), int(stream.codec_context.height)
            frames = int(stream.frames or 0) or sum(1 for _ in container.decode(video=0))
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise TruthError(f"clip {clip} is not a playable video: {exc}") from None
    if frames <= 0 or width <= 0 or height <= 0:
        raise TruthError(f"clip {clip} holds no frame")
    return Truth(format=FORMAT, fps=fps, width=width, height=height, frames=frames,
                 passes=(), source="crowd", clip=str(clip))


def report(clip: Path, gallery: Path, config: str, truth: Truth,
           results: Sequence[PipelineResult]) -> CrowdReport:
    """The whole run's figures."""
    return CrowdReport(clip=str(clip), gallery=str(gallery), config=config,
                       assumption=ASSUMPTION, fps=truth.fps, width=truth.width,
                       height=truth.height, frames=truth.frames, results=list(results))


def highest_evidence(result: PipelineResult) -> float | None:
    """The highest score any track step reached (higher = more alike in every pipeline):
    at any threshold above it the crowd raises nothing."""
    value = result.peaks.get("any_track_peak_highest")
    return None if value is None else float(value)
