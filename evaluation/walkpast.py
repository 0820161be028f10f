"""``pinchpoint eval walkpast``: a walk-past clip played through the real live pipeline, every
track's decision evidence recorded once, thresholds swept offline.

The run is the composition ``pinchpoint run`` starts — :class:`kernel.runtime.Runtime` built
from the user's config (its engine, index, pipeline and matching settings) — with only what
must differ for an evaluation changed: a temporary data directory and SQLite store (deleted
afterwards), no services or sinks, retention off, and one ``camera.file`` playing the clip with
``realtime = false`` and ``loop = false``. The gallery is enrolled through the governed core
(:mod:`demo.scenario`), reviewed, and the deployment put live.

Every frame is analysed, in order, whatever the machine's speed: the camera hands the runtime
its next frame only once the pipeline has finished the previous one (:class:`_Pacer`), and each
frame is stamped with its time in the clip (``seq / fps``) rather than when it was decoded, so
the tracker's gaps and the repeat window see the clip's own time. Nothing is dropped; the run
checks it (slot drops and frames analysed are reported).

An :class:`~kernel.pipeline.evidence.EvidenceObserver` records each decision step in memory;
the sweep (:mod:`evaluation.walkpast_sweep`) replays them at every threshold.
Only aggregates are written (R3).

``--baseline`` runs the ``face_recognition`` library on the same decoded frames: its own
enrolment of the gallery, HOG detection on every frame, a greedy IoU tracker with the
configured tracker's ``min_iou`` and ``max_gap_s``, and each track's best distance per entry
over the pass so far as its evidence, swept by the same rule.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import av
import msgspec
import numpy as np

from adapters.camera.video import to_rgb
from demo.scenario import authorised_deployment, enrol_entry, put_live
from evaluation.walkpast_groups import PassGroup, pass_groups
from evaluation.walkpast_kinds import KindGroup, kind_groups
from evaluation.walkpast_nearest import NearPass, nearest_passes
from evaluation.walkpast_sweep import Row, Step, Sweep, peak_summary
from evaluation.walkpast_truth import (
    Truth,
    TruthError,
    check_gallery,
    gallery_photos,
)
from kernel import config as config_module
from kernel.config import AdapterSection, Config
from kernel.domain.events import CandidateRaised, DomainEvent
from kernel.errors import ConfigError
from kernel.frames import Frame
from kernel.pipeline.evidence import TrackEvidence
from kernel.pipeline.tracker import TrackerSettings, iou
from kernel.protocols.camera import CameraClosed, CameraSource, CameraStats
from kernel.runtime import Runtime

Progress = Callable[[int], None]
CAMERA_ID = "walkpast"
ACTOR = "eval-walkpast"
TOP = 5


class PipelineResult(msgspec.Struct, kw_only=True):
    """One pipeline's figures on the clip (aggregates only)."""

    pipeline: str
    metric: str
    gallery_identities: int
    enrolled_identities: int
    refused_photos: dict[str, int]
    listed_walkers_not_enrolled: int
    """Listed passes whose person has no template (every photo refused): never findable."""
    frames: int
    frames_analysed: int
    frames_dropped: int
    tracks: int
    steps: int
    processing_p50_s: float | None
    processing_p95_s: float | None
    configured_threshold: float | None
    at_configured: Row | None
    best_zero_false: Row | None
    zero_false_range: tuple[float, float] | None
    reference: Row | None = None
    """A pipeline's customary operating point (dlib's distance 0.6 for the library)."""
    table: list[Row]
    peaks: dict[str, float | int | None]
    live_candidates: int | None = None
    """Candidates the live run itself raised at the configured threshold (the replay at that
    threshold must raise as many)."""
    groups: list[PassGroup] = msgspec.field(default_factory=list)
    """Non-listed UTKFace passes alerting per group at the configured (ours) or customary
    (library) threshold."""
    kinds: list[KindGroup] = msgspec.field(default_factory=list)
    """Listed passes found per walker photo kind (frontal, profile) at the same threshold."""
    nearest: list[NearPass] = msgspec.field(default_factory=list)
    """The passes raising a false alert at the same threshold, then the nearest below it."""
    seconds: float


class WalkpastReport(msgspec.Struct, kw_only=True):
    """Everything ``eval walkpast`` writes (``walkpast_metrics.json``)."""

    clip: str
    truth: str
    gallery: str
    config: str
    source: str
    seed: int | None
    fps: int
    width: int
    height: int
    frames: int
    passes: int
    listed_passes: int
    two_in_view: float
    face_px: tuple[float, float]
    engine: dict[str, Any]
    tracker: dict[str, Any]
    results: list[PipelineResult]


def clip_frames(clip: Path) -> int:
    """The clip's frame count from its header (0 when the container does not say); raises
    :class:`TruthError` when it is not a playable video."""
    if not clip.is_file():
        raise TruthError(f"clip {clip} not found")
    try:
        with av.open(str(clip)) as container:
            if not container.streams.video:
                raise TruthError(f"clip {clip} has no video stream")
            return int(container.streams.video[0].frames or 0)
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise TruthError(f"clip {clip} is not a playable video: {exc}") from None


def check_inputs(clip: Path, truth: Truth, gallery: Path) -> dict[str, list[Path]]:
    """Clip, truth and gallery agree; the gallery's photos per identity."""
    frames = clip_frames(clip)
    if frames and frames < truth.frames:
        raise TruthError(f"clip {clip} has {frames} frames but the truth file describes "
                         f"{truth.frames}")
    photos = gallery_photos(gallery)
    check_gallery(truth, list(photos), gallery)
    return photos


# --- the live pipeline -------------------------------------------------------------------


class _Pacer:
    """Lets the camera hand over its next frame only once the pipeline finished the last."""

    def __init__(self, fps: int) -> None:
        self.fps = fps
        self.go = asyncio.Event()
        self.ended = asyncio.Event()
        self.error: str | None = None
        self.t0 = 0.0
        self.epoch0 = 0.0
        self.handed: dict[int, float] = {}
        self.latency: dict[int, float] = {}
        self.progress: Progress | None = None

    def done(self, frames: Sequence[Frame]) -> None:
        now = time.monotonic()
        for frame in frames:
            self.latency[frame.seq] = now - self.handed.pop(frame.seq, now)
        if self.progress is not None:
            self.progress(len(frames))
        self.go.set()


class _PacedCamera:
    """A camera adapter as built from config, paced by :class:`_Pacer` and stamped with its
    frames' time in the clip."""

    def __init__(self, inner: CameraSource, pacer: _Pacer) -> None:
        self.inner = inner
        self.pacer = pacer
        self.stats: CameraStats = inner.stats  # the same object: the inner camera updates it

    async def recv(self) -> Frame:
        pacer = self.pacer
        await pacer.go.wait()
        pacer.go.clear()
        try:
            frame = await self.inner.recv()
        except CameraClosed:
            pacer.ended.set()
            raise
        except Exception as exc:
            # Ended, not crashed: a supervisor restart would replay the clip from its start.
            pacer.error = str(exc)
            pacer.ended.set()
            raise CameraClosed(str(exc)) from exc
        if frame.seq == 0:
            pacer.t0, pacer.epoch0 = time.monotonic(), time.time()
        pacer.handed[frame.seq] = time.monotonic()
        offset = frame.seq / pacer.fps
        return msgspec.structs.replace(frame, monotonic=pacer.t0 + offset,
                                       captured_at=pacer.epoch0 + offset)

    async def close(self) -> None:
        await self.inner.close()


class _PacedRuntime(Runtime):
    """The runtime ``pinchpoint run`` uses, its cameras paced (nothing else changes)."""

    def __init__(self, config: Config, pacer: _Pacer) -> None:
        super().__init__(config)
        self.pacer = pacer

    def build_camera(self, section: AdapterSection) -> CameraSource:
        return _PacedCamera(super().build_camera(section), self.pacer)


class _Recorder:
    """The evidence observer: every decision step, kept in memory for the sweep (R3)."""

    def __init__(self) -> None:
        self.evidence: list[TrackEvidence] = []
        self.ended = 0

    def track_evidence(self, evidence: TrackEvidence) -> None:
        self.evidence.append(evidence)

    def track_ended(self, camera_id: str, track_id: int) -> None:
        self.ended += 1


def eval_config(base: Config, clip: Path, data_dir: Path) -> Config:
    """``base`` with what an evaluation must change: data dir, store, no services or sinks,
    retention off, one paced file camera on ``clip``. The engine keeps its own settings; a
    relative ``models_dir`` still names the models under the original data directory."""
    if base.engine is None:
        raise ConfigError(f"{base.source or 'the config'} has no [engine] section")
    raw = msgspec.json.decode(msgspec.json.encode(base.raw))
    engine = dict(raw.get("engine", {}))
    models_dir = getattr(base.engine.settings, "models_dir", None)
    if isinstance(models_dir, str):
        engine["models_dir"] = str((base.data_dir / models_dir).resolve())
    raw["engine"] = engine
    raw["data_dir"] = str(data_dir)
    raw["store"] = {"type": "sqlite"}
    raw["services"] = []
    raw["sinks"] = []
    raw["retention"] = {"enabled": False}
    raw["cameras"] = [{"id": CAMERA_ID, "type": "file", "path": str(clip.resolve()),
                       "loop": False, "realtime": False}]
    return config_module.parse(raw, source=base.source, environ={})


def _tracker(config: Config) -> TrackerSettings:
    return config.matching.tracker


async def _enrol_gallery(runtime: Runtime, photos: dict[str, list[Path]],
                         threshold: float | None) -> tuple[str, dict[str, str], Counter[str]]:
    gov, engine = runtime.governance, runtime.engine
    assert gov is not None and engine is not None
    dep_id = await authorised_deployment(gov, name="eval walk-past", actor=ACTOR,
                                         threshold=threshold)
    names: dict[str, str] = {}
    refused: Counter[str] = Counter()
    for i, (identity, files) in enumerate(sorted(photos.items())):
        data = [await asyncio.to_thread(f.read_bytes) for f in files]
        results = await enrol_entry(gov, engine, dep_id, data, reference=f"EVAL-{i + 1}",
                                    label=identity, actor=ACTOR, source="evaluation gallery")
        for r in results:
            if not r.ok:
                refused[r.rejection or "refused"] += 1
        entry = next((r.entry_id for r in results if r.ok and r.entry_id), None)
        if entry is not None:
            names[entry] = identity
    if not names:
        raise TruthError(f"every gallery photo was refused at enrolment ({dict(refused)})")
    await put_live(gov, dep_id, ACTOR)
    return dep_id, names, refused


async def run_live(clip: Path, truth: Truth, photos: dict[str, list[Path]], base: Config,
                   progress: Progress | None = None) -> PipelineResult:
    """Play ``clip`` through the runtime; the swept result of its recorded evidence."""
    started = time.monotonic()
    pacer = _Pacer(truth.fps)
    pacer.progress = progress
    recorder = _Recorder()
    raised: list[CandidateRaised] = []
    with tempfile.TemporaryDirectory(prefix="pinchpoint-walkpast-") as tmp:
        config = eval_config(base, clip, Path(tmp))
        runtime = _PacedRuntime(config, pacer)
        try:
            await runtime.start()
            assert runtime.pipeline is not None and runtime.matching is not None
            pipeline = runtime.pipeline
            pipeline.observer = recorder

            async def paced(batch: list[tuple[str, Frame]]) -> None:
                try:
                    await pipeline(batch)
                finally:
                    pacer.done([f for _, f in batch])

            def on_event(event: DomainEvent) -> None:
                if isinstance(event, CandidateRaised):
                    raised.append(event)

            runtime.consumer = paced
            assert runtime.governance is not None
            runtime.governance.events.subscribe(on_event)
            _, names, refused = await _enrol_gallery(runtime, photos, None)
            await runtime.matching.refresh()
            if pipeline.watchlist is None:
                raise TruthError("the evaluation deployment did not go live")
            pacer.go.set()
            await pacer.ended.wait()
            if pacer.error is not None:
                raise TruthError(f"cannot play clip {clip}: {pacer.error}")
            slot_drops = sum(h.dropped for h in runtime.health())
            camera = runtime.cameras.get(CAMERA_ID)
            decode_drops = int(getattr(getattr(camera, "inner", None), "dropped", 0))
        finally:
            await runtime.stop()
    analysed = len(pacer.latency)
    steps = [_step(e, pacer, names) for e in recorder.evidence]
    # The threshold the live tracks were decided at (track_threshold when set).
    threshold = config.matching.decision_threshold(None)
    sweep = Sweep(steps, truth, _tracker(config).repeat_s)
    enrolled = set(names.values())
    return _result(
        "Pinchpoint (engine as configured, live pipeline)", "cosine", sweep, truth,
        gallery=len(photos), enrolled=enrolled, refused=refused, analysed=analysed,
        dropped=slot_drops + decode_drops,
        tracks=len({(e.camera_id, e.track_id) for e in recorder.evidence}),
        latencies=list(pacer.latency.values()), configured=threshold,
        live=len(raised), seconds=time.monotonic() - started)


def _step(e: TrackEvidence, pacer: _Pacer, names: dict[str, str]) -> Step:
    frame = round((e.frame_monotonic - pacer.t0) * pacer.fps)
    return Step(camera_id=e.camera_id, track=e.track_id, frame=frame, box=e.box,
                scores=tuple((names.get(entry, f"entry:{entry}"), float(score))
                             for _, entry, score in e.scores),
                latency_s=pacer.latency.get(frame, 0.0))


def _result(name: str, metric: str, sweep: Sweep, truth: Truth, *, gallery: int,
            enrolled: set[str], refused: Counter[str], analysed: int, dropped: int,
            tracks: int, latencies: Sequence[float], configured: float | None,
            reference: float | None = None, live: int | None = None,
            seconds: float) -> PipelineResult:
    best = sweep.best_at_zero_false()
    extra = [t for t in (configured, reference, best.threshold if best else None)
             if t is not None]
    lat = np.asarray(latencies, np.float64)
    return PipelineResult(
        pipeline=name, metric=metric, gallery_identities=gallery,
        enrolled_identities=len(enrolled), refused_photos=dict(sorted(refused.items())),
        listed_walkers_not_enrolled=sum(1 for p in truth.passes
                                        if p.listed and p.identity not in enrolled),
        frames=truth.frames, frames_analysed=analysed, frames_dropped=dropped, tracks=tracks,
        steps=len(sweep.steps),
        processing_p50_s=float(np.percentile(lat, 50)) if lat.size else None,
        processing_p95_s=float(np.percentile(lat, 95)) if lat.size else None,
        configured_threshold=configured,
        at_configured=sweep.at(configured) if configured is not None else None,
        best_zero_false=best, zero_false_range=sweep.zero_false_range(best) if best else None,
        reference=sweep.at(reference) if reference is not None else None,
        table=sweep.table(extra), peaks=peak_summary(sweep.steps, truth), live_candidates=live,
        groups=pass_groups(sweep, configured if configured is not None else reference),
        kinds=kind_groups(sweep, configured if configured is not None else reference),
        nearest=nearest_passes(sweep, configured if configured is not None else reference),
        seconds=round(seconds, 1),
    )


# --- the face_recognition baseline -------------------------------------------------------


class _BaselineTrack(msgspec.Struct):
    id: int
    box: tuple[float, float, float, float]
    last_frame: int
    best: dict[str, float]
    shown: tuple[tuple[str, float], ...] = ()


def run_baseline(clip: Path, truth: Truth, photos: dict[str, list[Path]],
                 tracker: TrackerSettings, progress: Progress | None = None) -> PipelineResult:
    """The ``face_recognition`` library on every frame of ``clip`` (see the module doc)."""
    from evaluation.baseline import DLIB_DISTANCE, FaceRecognitionPipeline

    started = time.monotonic()
    lib = FaceRecognitionPipeline()
    rows: list[np.ndarray] = []
    labels: list[str] = []
    refused: Counter[str] = Counter()
    for identity, files in sorted(photos.items()):
        for f in files:
            template = lib.enrol(f.read_bytes())
            if template.vector is None:
                refused[template.reason] += 1
                continue
            rows.append(template.vector)
            labels.append(identity)
    gallery = np.stack(rows) if rows else np.zeros((0, 128), np.float32)
    gap = max(1, round(tracker.max_gap_s * truth.fps))
    tracks: list[_BaselineTrack] = []
    steps: list[Step] = []
    latencies: list[float] = []
    next_id = 1
    seen_tracks = 0
    with av.open(str(clip)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            t = time.monotonic()
            image = to_rgb(frame)
            boxes = lib.locate(image)
            scored: list[tuple[tuple[float, float, float, float], dict[str, float]]] = []
            for box in boxes:
                vec = lib.encode(image, box)
                sims = lib.similarity(vec, gallery) if len(gallery) else np.zeros(0)
                best: dict[str, float] = {}
                for label, sim in zip(labels, sims.tolist(), strict=True):
                    best[label] = max(best.get(label, -np.inf), sim)
                x1, y1, x2, y2 = box
                scored.append(((float(x1), float(y1), float(x2), float(y2)), best))
            tracks = [tr for tr in tracks if index - tr.last_frame <= gap]
            pairs = sorted(((iou(tr.box, b), ti, bi) for ti, tr in enumerate(tracks)
                            for bi, (b, _) in enumerate(scored)), reverse=True)
            joined: dict[int, _BaselineTrack] = {}
            used: set[int] = set()
            for overlap, ti, bi in pairs:
                if overlap < tracker.min_iou:
                    break
                if ti in used or bi in joined:
                    continue
                used.add(ti)
                joined[bi] = tracks[ti]
            latency = time.monotonic() - t
            latencies.append(latency)
            for bi, (fbox, best) in enumerate(scored):
                track = joined.get(bi)
                if track is None:
                    track = _BaselineTrack(next_id, fbox, index, {})
                    next_id += 1
                    seen_tracks += 1
                    tracks.append(track)
                track.box, track.last_frame = fbox, index
                for label, sim in best.items():
                    track.best[label] = max(track.best.get(label, -np.inf), sim)
                top = tuple(sorted(track.best.items(), key=lambda kv: -kv[1])[:TOP])
                # A step that changes nothing can raise nothing: only changes are kept.
                if top != track.shown:
                    track.shown = top
                    steps.append(Step(camera_id=CAMERA_ID, track=track.id, frame=index,
                                      box=fbox, scores=top, latency_s=latency))
            if progress is not None:
                progress(1)
    sweep = Sweep(steps, truth, tracker.repeat_s)
    return _result(
        lib.name, "euclidean", sweep, truth, gallery=len(photos), enrolled=set(labels),
        refused=refused, analysed=len(latencies), dropped=0, tracks=seen_tracks,
        latencies=latencies, configured=None, reference=-DLIB_DISTANCE,
        seconds=time.monotonic() - started)


def report(clip: Path, truth_path: Path, gallery: Path, truth: Truth, base: Config,
           results: list[PipelineResult]) -> WalkpastReport:
    """The whole run's figures."""
    engine = msgspec.to_builtins(base.engine.settings) if base.engine is not None else {}
    return WalkpastReport(
        clip=str(clip), truth=str(truth_path), gallery=str(gallery),
        config=str(base.source or ""), source=truth.source, seed=truth.seed, fps=truth.fps,
        width=truth.width, height=truth.height, frames=truth.frames,
        passes=len(truth.passes), listed_passes=sum(1 for p in truth.passes if p.listed),
        two_in_view=truth.two_in_view, face_px=truth.face_px,
        engine={"type": base.engine.type if base.engine else None, **engine},
        tracker=msgspec.to_builtins(_tracker(base)), results=results,
    )
