"""Per-camera tracking: join a person's faces across frames so that a track collects
quality-weighted templates over its whole pass (at a bounded rate, never every frame), is
decided on their fused evidence, and raises at most one candidate per watch-list entry.

Association is by box overlap (IoU, greedy best-first) with the track's box where it was last
seen or where its own motion puts it now, whichever overlaps more: a walker at a low analysed
frame rate (an overloaded box) moves more than a face width between frames, and a track that
broke there would be embedded again as a new person. When a newly embedded face of a track is
too unlike the track's earlier templates, the detection starts a new track instead (two
people crossing). Tracks live in memory only; ``expire`` hands back the ones not seen for a
while so their data can be dropped (R3).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Literal

import msgspec
import numpy as np
import numpy.typing as npt

from kernel.protocols.engine import Detection

Fraction = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
Cosine = Annotated[float, msgspec.Meta(ge=-1.0, le=1.0)]
# A NaN here would never compare true: a NaN ``max_gap_s`` would keep every track (and its
# templates) in memory for ever (R3), so every bound below also refuses NaN (msgspec does).
Seconds = Annotated[float, msgspec.Meta(ge=0.0, le=3600.0)]
Gap = Annotated[float, msgspec.Meta(gt=0.0, le=10.0)]
Gain = Annotated[float, msgspec.Meta(ge=0.0, le=100.0)]
Count = Annotated[int, msgspec.Meta(ge=1, le=1000)]
FuseCount = Annotated[int, msgspec.Meta(ge=1, le=64)]
Budget = Annotated[float, msgspec.Meta(gt=0.0, le=100.0)]
Fusion = Literal["mean", "max"]

EntryRef = tuple[str, str]
"""A watch-list entry as (deployment_id, entry_id): what "one candidate per entry" counts. An
entry may have several photos, each its own index key."""


class TrackerSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``min_iou``: overlap needed to continue a track (with its box, or where its motion puts it).
    ``max_gap_s``: a track unseen this long ends (stretched on a camera analysed more slowly
    than that, see :attr:`CameraTracker.max_gap`). ``embed_max``: embeddings made per track at
    most (a ceiling for a person who stays in view). ``embed_interval_s``: after a template, a
    track's next face is embedded no sooner than this, unless its quality beats the best
    embedded one by ``embed_gain``; ``fuse_max``: templates a track holds for fusion (the
    lowest-quality one, the oldest among equals, makes way; once full, a face is embedded only
    if it beats the worst held one by ``embed_gain``). ``fusion``: ``"mean"`` decides a track on
    the quality-weighted mean of its templates; ``"max"`` on each template alone (its best
    single template). ``split_below``: a new template with cosine below this to the track's mean
    starts a new track. ``embed_per_frame``: embeddings per analysed frame at most, over a
    pipeline round (tracks without a template first, then by face quality; the rest wait for a
    later frame).
    """

    min_iou: Fraction = 0.3
    max_gap_s: Gap = 1.0
    embed_max: Count = 32
    # About four templates per 3.5 s walk-past at any analysed frame rate (a doubling of
    # quality, i.e. of face size, is the "jump"), against three before fusion: embedding is
    # 5–10 ms a face beside ~25 ms of detection a frame, so 8 cameras keep ≥ 5 frames/s each on
    # 2 cores. A 15 % gain fired on almost every analysed frame of an approaching face at 5
    # frames/s (7–10 embeddings a pass, measured on the tracker alone).
    embed_gain: Gain = 1.0
    embed_interval_s: Seconds = 1.0
    fuse_max: FuseCount = 8
    fusion: Fusion = "mean"
    # Only a template unlike any face splits a track (a box that jumped to another thing):
    # 0.85 on the fused engine's scale is a fused cosine of 0.06 (second_embedder.py), where
    # 0.6 was on dlib's alone; two people in one box are told apart by the box, not by this.
    split_below: Cosine = 0.85
    # Overload must degrade, not spiral: a camera asks for about 4 templates a second at any
    # analysed rate (one a track a second, bench_tracking), so the slower it is analysed the
    # more each frame asks (3.1 a frame at 1 frame/s); unbudgeted, 8 cameras fell to 0.9
    # frames/s each with the fused 4-run template. A walk-past needs ~0.3 a frame at 15 fps.
    embed_per_frame: Budget = 1.0
    repeat_s: Seconds = 10.0
    """A camera does not raise the same entry again within this many seconds, even if the
    person's track broke (an occlusion): one candidate per person per pass."""


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


Box = tuple[float, float, float, float]


def predicted(box: Box, velocity: Box, dt: float) -> Box:
    """``box`` moved on by ``velocity`` (pixels per second, per coordinate) for ``dt`` s."""
    return (box[0] + velocity[0] * dt, box[1] + velocity[1] * dt,
            box[2] + velocity[2] * dt, box[3] + velocity[3] * dt)


def quality_score(det: Detection) -> float:
    """How good a frame of a face is for matching: size × frontalness × sharpness × score."""
    q = det.quality
    frontal = max(0.0, 1.0 - abs(q.yaw) / 90.0) * max(0.0, 1.0 - abs(q.pitch) / 90.0)
    return q.face_px * frontal * min(1.0, q.sharpness / 0.1) * q.score


def unit(template: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """``template`` L2-normalised, as a fresh float32 array (never a view: a row of the
    engine's batch matrix would keep the other faces' templates alive with it, R3)."""
    arr = np.array(template, dtype=np.float32)
    return arr / np.float32(max(float(np.linalg.norm(arr)), 1e-12))


def fuse(
    templates: Sequence[npt.NDArray[np.float32]], weights: Sequence[float]
) -> npt.NDArray[np.float32] | None:
    """The quality-weighted mean of L2-normalised templates, re-normalised (None if none).

    Each template is one frame's noisy view of the same face; averaging cancels the part of
    the noise that differs between frames, so the mean lies closer to the person's own
    direction than a typical single template, and weighting by quality lets the close, sharp,
    frontal frames count most. Weights that are not positive count as a tiny positive weight
    (all of them zero means equal weights).
    """
    if not templates:
        return None
    w = np.asarray(weights, np.float64)
    w = np.where(np.isfinite(w) & (w > 0), w, 0.0) + 1e-9
    mean = (w / w.sum()).astype(np.float32) @ np.stack(templates)
    return np.asarray(mean / max(float(np.linalg.norm(mean)), 1e-12), dtype=np.float32)


_ids = itertools.count(1)


@dataclass(eq=False)
class Track:
    """One person in view of one camera, in memory only."""

    camera_id: str
    box: Box
    first_seen: float
    last_seen: float
    id: int = field(default_factory=lambda: next(_ids))
    velocity: Box = (0.0, 0.0, 0.0, 0.0)
    """Pixels per second of each box coordinate, from the last two frames that saw it."""
    frames: int = 1
    embedded: int = 0
    """Embeddings made for this track (kept or not)."""
    last_embedded: float = -math.inf
    best_embedded: float = 0.0
    templates: list[npt.NDArray[np.float32]] = field(default_factory=list)
    """L2-normalised templates held for fusion, oldest first; at most ``fuse_max``."""
    weights: list[float] = field(default_factory=list)
    """Quality (:func:`quality_score`) of each template: its weight in the fused mean."""
    raised: set[EntryRef] = field(default_factory=set)
    """Watch-list entries already raised as candidates: one candidate per track per entry."""
    steps: int = 0
    """Decision steps taken (searches of this track's evidence)."""
    observed: bool = False
    """An evidence observer was told of a step of this track (so it is told of its end)."""
    best_scores: dict[EntryRef, float] = field(default_factory=dict)
    """``fusion = "max"`` with an evidence observer only: each entry's best single-template
    score over the pass so far."""

    def overlap(self, box: Box, now: float) -> float:
        """IoU of ``box`` with this track where last seen or where its motion puts it now,
        whichever is larger (a track that stopped is still found where it stood)."""
        here = iou(self.box, box)
        if self.velocity == (0.0, 0.0, 0.0, 0.0):
            return here
        return max(here, iou(predicted(self.box, self.velocity, now - self.last_seen), box))

    def moved(self, box: Box, now: float) -> None:
        """The track was seen again at ``box``: update its motion, box and counters."""
        dt = now - self.last_seen
        if dt > 0:
            self.velocity = (
                (box[0] - self.box[0]) / dt, (box[1] - self.box[1]) / dt,
                (box[2] - self.box[2]) / dt, (box[3] - self.box[3]) / dt)
        self.box, self.last_seen = box, now
        self.frames += 1

    def mean_template(self) -> npt.NDArray[np.float32] | None:
        """The fused template (:func:`fuse` of the held templates), or None before any."""
        return fuse(self.templates, self.weights)

    def wants_template(self, det: Detection, settings: TrackerSettings, now: float) -> bool:
        """Whether to embed this detection: the first usable face at once; then at most one
        per ``embed_interval_s`` unless the quality jumps, and once ``fuse_max`` are held only
        a face clearly better than the worst of them (the embedder's CPU stays bounded however
        long a person stays)."""
        if not det.quality.passed or self.embedded >= settings.embed_max:
            return False
        if not self.templates:
            return True
        q = quality_score(det)
        if len(self.templates) >= settings.fuse_max and q <= min(self.weights) * (
            1 + settings.embed_gain
        ):
            return False
        if now - self.last_embedded >= settings.embed_interval_s:
            return True
        return q > self.best_embedded * (1 + settings.embed_gain)

    def add(self, template: npt.NDArray[np.float32], quality: float, now: float,
            settings: TrackerSettings) -> None:
        """Hold a new template; when ``fuse_max`` are held the lowest-quality one (the
        oldest among equals) is dropped, which may be the new one."""
        self.embedded += 1
        self.last_embedded = now
        self.best_embedded = max(self.best_embedded, quality)
        if len(self.templates) >= settings.fuse_max:
            worst = min(range(len(self.weights)), key=lambda i: (self.weights[i], i))
            if quality <= self.weights[worst]:
                return
            del self.templates[worst], self.weights[worst]
        self.templates.append(unit(template))
        self.weights.append(quality)

    def forget(self) -> None:
        """Drop every template and score (R3): called when the track ends."""
        self.templates.clear()
        self.weights.clear()
        self.best_scores.clear()


class RepeatGuard:
    """Refuses a camera the same watch-list entry within ``window`` seconds of the last
    candidate it raised for it: a track that broke (an occlusion) does not raise a second
    candidate for the same pass, while a person who stays or comes back is raised again
    once the window has passed. ``key`` names the entry (an :data:`EntryRef`), not one of
    its photos."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._last: dict[tuple[str, Hashable], float] = {}

    def allow(self, camera_id: str, key: Hashable, now: float) -> bool:
        last = self._last.get((camera_id, key))
        if last is not None and now - last < self.window:
            return False
        self._last[(camera_id, key)] = now
        return True

    def clear(self) -> None:
        self._last.clear()


class Observation(msgspec.Struct):
    """A detection and the track it was joined to, for this frame."""

    track: Track
    detection: Detection
    embed: bool


GAP_FRAMES = 2.5
"""A track survives this many of its camera's analysed-frame intervals unseen (one missed
detection and a late frame), however slowly the camera is being analysed ..."""
GAP_CEILING = 3.0
"""... but never longer than this many ``max_gap_s``: a track's templates are dropped within
seconds of the person leaving (R3). Without the stretch, a camera analysed at under one frame
per ``max_gap_s`` (an overloaded box) ended every track between frames, so every face was a
new person to embed (bench/bench_tracking.py)."""


class CameraTracker:
    """Tracks of one camera."""

    def __init__(self, camera_id: str, settings: TrackerSettings | None = None) -> None:
        self.camera_id = camera_id
        self.settings = settings or TrackerSettings()
        self.tracks: list[Track] = []
        self.interval = 0.0
        """Seconds between this camera's analysed frames (smoothed)."""
        self._last_update: float | None = None

    @property
    def max_gap(self) -> float:
        """How long a track may go unseen before it ends: ``max_gap_s``, stretched to
        :data:`GAP_FRAMES` analysed-frame intervals up to :data:`GAP_CEILING` × ``max_gap_s``."""
        base = self.settings.max_gap_s
        return min(max(base, GAP_FRAMES * self.interval), GAP_CEILING * base)

    def update(self, now: float, detections: Sequence[Detection]) -> list[Observation]:
        """Join this frame's detections to tracks (new tracks for the rest)."""
        if self._last_update is not None and now > self._last_update:
            step = now - self._last_update
            self.interval = step if self.interval == 0.0 else 0.7 * self.interval + 0.3 * step
        self._last_update = now
        pairs = sorted(
            ((t.overlap(d.box, now), ti, di) for ti, t in enumerate(self.tracks)
             for di, d in enumerate(detections)),
            reverse=True,
        )
        used_t: set[int] = set()
        joined: dict[int, Track] = {}
        for overlap, ti, di in pairs:
            if overlap < self.settings.min_iou:
                break
            if ti in used_t or di in joined:
                continue
            used_t.add(ti)
            joined[di] = self.tracks[ti]
        out = []
        for di, det in enumerate(detections):
            track = joined.get(di)
            if track is None:
                track = Track(self.camera_id, det.box, now, now)
                self.tracks.append(track)
            else:
                track.moved(det.box, now)
            out.append(Observation(track, det, track.wants_template(det, self.settings, now)))
        return out

    def add_template(
        self, obs: Observation, template: npt.NDArray[np.float32], now: float
    ) -> Track:
        """Record a new template for an observation's track; split the track if the template
        belongs to somebody else. Returns the track the template now belongs to."""
        track = obs.track
        mean = track.mean_template()
        if mean is not None and float(mean @ unit(template)) < self.settings.split_below:
            track = Track(self.camera_id, obs.detection.box, now, now)
            self.tracks.append(track)
        track.add(template, quality_score(obs.detection), now, self.settings)
        return track

    def expire(self, now: float) -> list[Track]:
        """End tracks not seen for :attr:`max_gap`; their templates are forgotten (R3)."""
        gap = self.max_gap
        ended = [t for t in self.tracks if now - t.last_seen > gap]
        if ended:
            self.tracks = [t for t in self.tracks if now - t.last_seen <= gap]
            for track in ended:
                track.forget()
        return ended
