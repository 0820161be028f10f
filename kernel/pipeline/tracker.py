"""Per-camera tracking: join a person's faces across frames so that a track is embedded on its
few best frames (not every frame) and raises at most one candidate per watch-list entry.

Association is by box overlap (IoU, greedy best-first); when a newly embedded face of a track
is too unlike the track's earlier templates, the detection starts a new track instead (two
people crossing). Tracks live in memory only; ``expire`` hands back the ones not seen for a
while so their data can be dropped (R3).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec
import numpy as np
import numpy.typing as npt

from kernel.protocols.engine import Detection


class TrackerSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``min_iou``: overlap needed to continue a track. ``max_gap_s``: a track unseen this long
    ends. ``embed_max``: templates made per track at most. ``embed_gain``: a later frame is
    embedded only if its quality beats the best embedded one by this fraction.
    ``split_below``: a new template with cosine below this to the track's mean starts a new
    track."""

    min_iou: float = 0.3
    max_gap_s: float = 1.0
    embed_max: int = 3
    embed_gain: float = 0.15
    split_below: float = 0.6
    repeat_s: float = 10.0
    """A camera does not raise the same entry again within this many seconds, even if the
    person's track broke (an occlusion): one candidate per person per pass."""


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def quality_score(det: Detection) -> float:
    """How good a frame of a face is for matching: size × frontalness × sharpness × score."""
    q = det.quality
    frontal = max(0.0, 1.0 - abs(q.yaw) / 90.0) * max(0.0, 1.0 - abs(q.pitch) / 90.0)
    return q.face_px * frontal * min(1.0, q.sharpness / 0.1) * q.score


_ids = itertools.count(1)


@dataclass(eq=False)
class Track:
    """One person in view of one camera, in memory only."""

    camera_id: str
    box: tuple[float, float, float, float]
    first_seen: float
    last_seen: float
    id: int = field(default_factory=lambda: next(_ids))
    frames: int = 1
    best_embedded: float = 0.0
    templates: list[npt.NDArray[np.float32]] = field(default_factory=list)
    raised: set[int] = field(default_factory=set)
    """Index keys already raised as candidates: one candidate per track per entry."""

    def mean_template(self) -> npt.NDArray[np.float32] | None:
        if not self.templates:
            return None
        mean = np.mean(self.templates, axis=0)
        return np.asarray(mean / max(float(np.linalg.norm(mean)), 1e-12), dtype=np.float32)

    def wants_template(self, det: Detection, settings: TrackerSettings) -> bool:
        if not det.quality.passed or len(self.templates) >= settings.embed_max:
            return False
        return not self.templates or quality_score(det) > self.best_embedded * (
            1 + settings.embed_gain
        )

    def forget(self) -> None:
        """Drop every template (R3): called when the track ends."""
        self.templates.clear()


class RepeatGuard:
    """Refuses a camera the same watch-list key within ``window`` seconds of the last
    candidate it raised for it: a track that broke (an occlusion) does not raise a second
    candidate for the same pass, while a person who stays or comes back is raised again
    once the window has passed."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._last: dict[tuple[str, int], float] = {}

    def allow(self, camera_id: str, key: int, now: float) -> bool:
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


class CameraTracker:
    """Tracks of one camera."""

    def __init__(self, camera_id: str, settings: TrackerSettings | None = None) -> None:
        self.camera_id = camera_id
        self.settings = settings or TrackerSettings()
        self.tracks: list[Track] = []

    def update(self, now: float, detections: Sequence[Detection]) -> list[Observation]:
        """Join this frame's detections to tracks (new tracks for the rest)."""
        pairs = sorted(
            ((iou(t.box, d.box), ti, di) for ti, t in enumerate(self.tracks)
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
                track.box, track.last_seen = det.box, now
                track.frames += 1
            out.append(Observation(track, det, track.wants_template(det, self.settings)))
        return out

    def add_template(
        self, obs: Observation, template: npt.NDArray[np.float32], now: float
    ) -> Track:
        """Record a new template for an observation's track; split the track if the template
        belongs to somebody else. Returns the track the template now belongs to."""
        track = obs.track
        mean = track.mean_template()
        if mean is not None and float(mean @ template) < self.settings.split_below:
            track = Track(self.camera_id, obs.detection.box, now, now)
            self.tracks.append(track)
        track.templates.append(template)
        track.best_embedded = max(track.best_embedded, quality_score(obs.detection))
        return track

    def expire(self, now: float) -> list[Track]:
        """End tracks not seen for ``max_gap_s``; their templates are forgotten (R3)."""
        ended = [t for t in self.tracks if now - t.last_seen > self.settings.max_gap_s]
        if ended:
            self.tracks = [t for t in self.tracks if now - t.last_seen <= self.settings.max_gap_s]
            for track in ended:
                track.forget()
        return ended
