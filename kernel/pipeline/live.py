"""The live pipeline stage: one batch of frames (at most one per camera) at a time.

detect (per frame, in parallel in the executor) → track → embed a track's faces at a bounded
rate over its whole pass → decide the track on its fused evidence (``fusion = "mean"``: the
quality-weighted mean of its templates; ``"max"``: each template alone) against the live
watch list → candidate evidence for matches only, one per watch-list entry per track. When no
deployment is live, frames are discarded before any face is looked for, except those of a
camera whose placement view a technical lead has open: they are detected for that view alone
(:mod:`kernel.pipeline.placement`), nothing tracked, embedded or counted.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

import msgspec
import numpy as np
import numpy.typing as npt

from kernel.clock import Clock
from kernel.executor import BoundedExecutor
from kernel.frames import Frame
from kernel.pipeline.crops import evidence
from kernel.pipeline.evidence import TOP_ENTRIES, EvidenceObserver, TrackEvidence
from kernel.pipeline.face_counts import FaceCounter
from kernel.pipeline.placement import PlacementWatch
from kernel.pipeline.tracker import (
    CameraTracker,
    Fusion,
    Observation,
    RepeatGuard,
    Track,
    TrackerSettings,
    fuse,
    quality_score,
)
from kernel.pipeline.watchlist_index import LiveWatchlist, Match
from kernel.protocols.engine import Embeddings, FaceEngine

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
    tracks: int = 0
    """Tracks started: about one per person per pass when tracking holds (faces / tracks is
    how many analysed frames a track lasted)."""
    embedded: int = 0
    candidates: int = 0
    skipped_not_live: int = 0
    embed_deferred: int = 0
    """Faces that wanted a template but waited: over ``embed_per_frame`` in their round."""


def _search(watchlist: LiveWatchlist, fusion: Fusion, templates: Embeddings,
            held: Sequence[tuple[Sequence[npt.NDArray[np.float32]], Sequence[float]]],
            k: int) -> list[list[Match]]:
    """The ``k`` best entries for each decision step's query: the fused template of the
    track's ``held`` (templates, weights) for ``"mean"``, the new template alone for
    ``"max"``. CPU work: runs in the executor."""
    rows = np.asarray(templates, np.float32)
    rows = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
    if fusion == "mean":
        fused = [fuse(t, w) for t, w in held]
        rows = np.stack([row if f is None else f for row, f in zip(rows, fused, strict=True)])
    return watchlist.top(np.ascontiguousarray(rows, dtype=np.float32), k)


class LivePipeline:
    """The frame consumer :class:`kernel.runtime.Runtime` calls with each batch.

    ``observer`` (evaluation only, never in the runtime) is told of every decision step of
    every track and of the end of each such track (:mod:`kernel.pipeline.evidence`); without
    one nothing extra is computed. ``placement`` is handed each analysed frame's detections
    of the cameras whose placement view is open (the same detector pass).
    """

    def __init__(
        self,
        engine: FaceEngine,
        executor: BoundedExecutor,
        clock: Clock,
        candidates: CandidateSink,
        tracker: TrackerSettings | None = None,
        observer: EvidenceObserver | None = None,
        placement: PlacementWatch | None = None,
    ) -> None:
        self.engine = engine
        self.placement = placement
        self.executor = executor
        self.clock = clock
        self.candidates = candidates
        self.tracker_settings = tracker or TrackerSettings()
        self.observer = observer
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
                self._ended(track)
            tracker.tracks.clear()

    async def __call__(self, batch: Sequence[tuple[str, Frame]]) -> None:
        watchlist = self.watchlist
        placement = self.placement
        if watchlist is None:
            aimed = [f for c, f in batch if placement is not None and placement.watched(c)]
            self.stats.skipped_not_live += len(batch) - len(aimed)
            if aimed and placement is not None:
                await self._placement_only(placement, aimed)
            return
        self.stats.frames += len(batch)
        found = await asyncio.gather(*(self.engine.detect([f.image]) for _, f in batch))
        observations: list[tuple[Frame, Observation]] = []
        for (camera_id, frame), (detections,) in zip(batch, found, strict=True):
            if placement is not None:
                placement.observe(frame, detections)
            tracker = self.tracker(camera_id)
            before = len(tracker.tracks)
            joined = tracker.update(frame.monotonic, detections)
            new_tracks = len(tracker.tracks) - before
            self.stats.tracks += new_tracks
            if new_tracks:
                self.counts.seen(camera_id, self._when(frame), new_tracks)
            self.stats.faces += len(detections)
            observations.extend((frame, o) for o in joined)
        wanted = self._budgeted([(f, o) for f, o in observations if o.embed], len(batch))
        if wanted:
            templates = await self.engine.embed_faces([(f.image, o.detection) for f, o in wanted])
            self.stats.embedded += len(wanted)
            # The tracks were dropped if the live lists changed while the engine worked.
            if self.watchlist is watchlist:
                await self._decide(watchlist, wanted, templates)
            del templates  # nothing of a non-match outlives this call (R3)
        now = max((f.monotonic for _, f in batch), default=self.clock.monotonic())
        for tracker in self.trackers.values():
            for track in tracker.expire(now):
                self._ended(track)

    async def _placement_only(self, placement: PlacementWatch, frames: list[Frame]) -> None:
        """No deployment is live: detect faces for the placement view and drop them (R3)."""
        found = await asyncio.gather(*(self.engine.detect([f.image]) for f in frames))
        for frame, (detections,) in zip(frames, found, strict=True):
            placement.observe(frame, detections)
        del found

    def _budgeted(self, wanted: list[tuple[Frame, Observation]],
                  frames: int) -> list[tuple[Frame, Observation]]:
        """At most ``embed_per_frame`` × frames of the faces that want a template: tracks
        with none yet first (they cannot be decided at all), then the best faces."""
        budget = max(1, math.ceil(self.tracker_settings.embed_per_frame * frames))
        if len(wanted) <= budget:
            return wanted
        self.stats.embed_deferred += len(wanted) - budget
        ranked = sorted(wanted, key=lambda fo: (bool(fo[1].track.templates),
                                                -quality_score(fo[1].detection)))
        return ranked[:budget]

    async def _decide(self, watchlist: LiveWatchlist,
                      wanted: Sequence[tuple[Frame, Observation]], templates: Embeddings) -> None:
        """One decision step for each track that got a template: add it, search the track's
        evidence, raise its best entry if that is at or above its threshold and the track has
        not raised it yet, then tell the observer.

        Only the best entry: a listed walker's fused template often clears the threshold for
        a look-alike entry too, just below their own; raising the runner-up as well was half
        the false alerts of the development walk-pasts (LFW seed 2 at cosine 0.921: 7 wrong
        identities of 16 false alerts, 1 with this rule; CFP seed 2: 9 → 10 of 12 listed
        passes found at zero false alerts). A track raises a second entry only when its
        evidence comes to favour that entry."""
        fusion = self.tracker_settings.fusion
        steps: list[tuple[Frame, Observation, Track]] = []
        for (frame, obs), template in zip(wanted, templates, strict=True):
            track = self.tracker(frame.camera_id).add_template(obs, template, frame.monotonic)
            steps.append((frame, obs, track))
        k = TOP_ENTRIES if self.observer is not None else 1
        # Copies of the lists (not the arrays): the executor reads them while the loop may
        # drop a track's own lists (set_watchlist).
        held = ([(list(t.templates), list(t.weights)) for _, _, t in steps]
                if fusion == "mean" else [])
        ranked = await self.executor.run(_search, watchlist, fusion, templates, held, k)
        del held
        for (frame, obs, track), entries in zip(steps, ranked, strict=True):
            if self.watchlist is not watchlist:
                return  # went off or changed while we waited: these tracks are gone
            track.steps += 1
            best = entries[0] if entries else None
            if (best is not None and best.entry.ref not in track.raised
                    and best.score >= watchlist.threshold(best.entry)):
                track.raised.add(best.entry.ref)
                if self.repeats.allow(frame.camera_id, best.entry.ref, frame.monotonic):
                    await self._raise(frame, obs, best)
            if self.observer is not None and self.watchlist is watchlist:
                track.observed = True
                self.observer.track_evidence(self._evidence(frame, obs, track, entries))

    def _evidence(self, frame: Frame, obs: Observation, track: Track,
                  entries: Sequence[Match]) -> TrackEvidence:
        if self.tracker_settings.fusion == "max":
            # The best single template per entry over the pass: the running maximum of each
            # template's top entries is exact for the top ones (an entry ranked in the pass's
            # top five by its best template is in that template's own top five).
            for m in entries:
                ref = m.entry.ref
                track.best_scores[ref] = max(track.best_scores.get(ref, -np.inf), m.score)
            kept = sorted(track.best_scores.items(), key=lambda kv: -kv[1])[:TOP_ENTRIES]
            track.best_scores = dict(kept)
            scores = tuple((d, e, float(s)) for (d, e), s in kept)
        else:
            scores = tuple((m.entry.deployment_id, m.entry.entry_id, m.score)
                           for m in entries[:TOP_ENTRIES])
        x1, y1, x2, y2 = obs.detection.box
        return TrackEvidence(
            camera_id=frame.camera_id, track_id=track.id, frame_monotonic=frame.monotonic,
            captured_at=frame.captured_at, box=(float(x1), float(y1), float(x2), float(y2)),
            templates=len(track.templates), scores=scores,
        )

    def _ended(self, track: Track) -> None:
        if self.observer is not None and track.observed:
            self.observer.track_ended(track.camera_id, track.id)

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
