"""The live pipeline stage: one batch of frames (at most one per camera) at a time.

detect (per frame, in parallel in the executor) → track → embed the few best frames of each
track → search the live watch list → candidate evidence for matches only. When no deployment
is live, frames are discarded before any face is looked for.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

import msgspec
import numpy as np

from kernel.clock import Clock
from kernel.executor import BoundedExecutor
from kernel.frames import Frame
from kernel.pipeline.crops import evidence
from kernel.pipeline.face_counts import FaceCounter
from kernel.pipeline.tracker import CameraTracker, Observation, RepeatGuard, TrackerSettings
from kernel.pipeline.watchlist_index import LiveWatchlist, Match
from kernel.protocols.engine import FaceEngine

log = logging.getLogger("pinchpoint.pipeline")


class CandidateEvidence(msgspec.Struct, frozen=True):
    """What the matcher hands to the governed core for one match: never more (R4)."""

    deployment_id: str
    entry_id: str
    blue: bool
    camera_id: str
    score: float
    captured_at: datetime
    face_jpeg: bytes
    torso_jpeg: bytes
    frame_monotonic: float


class CandidateSink(Protocol):
    """Where matches go: the domain persists a candidate before anyone hears of it."""

    async def raise_candidate(self, evidence: CandidateEvidence) -> None: ...


class PipelineStats(msgspec.Struct):
    frames: int = 0
    faces: int = 0
    embedded: int = 0
    candidates: int = 0
    skipped_not_live: int = 0


class LivePipeline:
    """The frame consumer :class:`kernel.runtime.Runtime` calls with each batch."""

    def __init__(
        self,
        engine: FaceEngine,
        executor: BoundedExecutor,
        clock: Clock,
        candidates: CandidateSink,
        tracker: TrackerSettings | None = None,
    ) -> None:
        self.engine = engine
        self.executor = executor
        self.clock = clock
        self.candidates = candidates
        self.tracker_settings = tracker or TrackerSettings()
        self.trackers: dict[str, CameraTracker] = {}
        self.watchlist: LiveWatchlist | None = None
        self.counts = FaceCounter()
        self.stats = PipelineStats()
        self.repeats = RepeatGuard(self.tracker_settings.repeat_s)
        self.latencies: deque[float] = deque(maxlen=2048)
        """Capture-to-candidate seconds of recent candidates (monotonic clock)."""

    def tracker(self, camera_id: str) -> CameraTracker:
        if camera_id not in self.trackers:
            self.trackers[camera_id] = CameraTracker(camera_id, self.tracker_settings)
        return self.trackers[camera_id]

    def set_watchlist(self, watchlist: LiveWatchlist | None) -> None:
        """Start matching against a live deployment, or stop (None): all tracks are dropped."""
        self.watchlist = watchlist
        self.repeats.clear()
        for tracker in self.trackers.values():
            for track in tracker.tracks:
                track.forget()
            tracker.tracks.clear()

    async def __call__(self, batch: Sequence[tuple[str, Frame]]) -> None:
        watchlist = self.watchlist
        if watchlist is None:
            self.stats.skipped_not_live += len(batch)
            return
        self.stats.frames += len(batch)
        found = await asyncio.gather(*(self.engine.detect([f.image]) for _, f in batch))
        observations: list[tuple[Frame, Observation]] = []
        for (camera_id, frame), (detections,) in zip(batch, found, strict=True):
            tracker = self.tracker(camera_id)
            before = len(tracker.tracks)
            joined = tracker.update(frame.monotonic, detections)
            new_tracks = len(tracker.tracks) - before
            if new_tracks:
                self.counts.seen(camera_id, self._when(frame), new_tracks)
            self.stats.faces += len(detections)
            observations.extend((frame, o) for o in joined)
        wanted = [(f, o) for f, o in observations if o.embed]
        if wanted:
            templates = await self.engine.embed([o.detection.chip for _, o in wanted])
            self.stats.embedded += len(wanted)
            matches = await self.executor.run(watchlist.match, templates)
            for (frame, obs), template, match in zip(wanted, templates, matches, strict=True):
                track = self.tracker(frame.camera_id).add_template(obs, template, frame.monotonic)
                if match is not None and match.key not in track.raised:
                    track.raised.add(match.key)
                    if not self.repeats.allow(frame.camera_id, match.key, frame.monotonic):
                        continue
                    await self._raise(frame, obs, match)
            del templates  # nothing of a non-match outlives this call (R3)
        now = max((f.monotonic for _, f in batch), default=self.clock.monotonic())
        for tracker in self.trackers.values():
            tracker.expire(now)

    @staticmethod
    def _when(frame: Frame) -> datetime:
        return datetime.fromtimestamp(frame.captured_at, UTC)

    async def _raise(self, frame: Frame, obs: Observation, match: Match) -> None:
        face_jpeg, torso_jpeg = await self.executor.run(evidence, frame.image, obs.detection.box)
        self.counts.matched(frame.camera_id, self._when(frame))
        await self.candidates.raise_candidate(
            CandidateEvidence(
                deployment_id=match.entry.deployment_id,
                entry_id=match.entry.entry_id,
                blue=match.entry.blue,
                camera_id=frame.camera_id,
                score=round(match.score, 4),
                captured_at=self._when(frame),
                face_jpeg=face_jpeg,
                torso_jpeg=torso_jpeg,
                frame_monotonic=frame.monotonic,
            )
        )
        self.stats.candidates += 1
        self.latencies.append(self.clock.monotonic() - frame.monotonic)
        log.info("candidate raised on camera %s", frame.camera_id)

    def latency_percentiles(self) -> tuple[float, float] | None:
        if not self.latencies:
            return None
        values = np.asarray(self.latencies)
        return float(np.percentile(values, 50)), float(np.percentile(values, 95))
