"""Track fusion: a track is decided on the quality-weighted mean of its templates over its
pass, raises one candidate per watch-list entry, holds a bounded number of templates, and
nothing of it outlives the track (R3, R4). Synthetic unit vectors and a scripted engine stand
in for faces; the watch list, index, tracker and pipeline are the real ones.
"""

from __future__ import annotations

import gc
import math
import weakref
from collections.abc import Sequence
from typing import Any

import msgspec
import numpy as np
import pytest

from adapters.index.exact import ExactIndex
from kernel.clock import SystemClock
from kernel.executor import BoundedExecutor
from kernel.frames import Frame
from kernel.pipeline.evidence import TrackEvidence
from kernel.pipeline.live import CandidateEvidence, LivePipeline
from kernel.pipeline.tracker import CameraTracker, TrackerSettings, fuse, quality_score
from kernel.pipeline.watchlist_index import IndexedEntry, LiveWatchlist
from kernel.protocols.engine import Detection, Quality

DIM = 128
DEP = "dep-1"


def settings_for(**changes: Any) -> TrackerSettings:
    """Tracker settings for these synthetic templates, which model one recognizer's raw
    scale (frame-to-frame cosine ≈ 0.9 at σ = 0.45): a track splits below 0.6 there, as it
    did on dlib's alone; the shipped 0.85 is for the fused engine's mapped scale."""
    return TrackerSettings(**{"split_below": 0.6, **changes})


def unit(v: np.ndarray) -> np.ndarray:
    return np.asarray(v / np.linalg.norm(v), np.float32)


def noisy(person: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """One view of ``person``: cosine to them ≈ 1/√(1 + σ²), like one frame's template."""
    return unit(person + sigma * rng.standard_normal(DIM) / math.sqrt(DIM))


# ---------------------------------------------------------------------------- fuse itself


def test_fused_template_of_noisy_views_scores_above_any_lone_view() -> None:
    """Averaging a pass's templates cancels per-frame noise: against the enrolment photo the
    fused template scores above every single template; an impostor's fused score does not
    rise the way the best of many single scores does."""
    rng = np.random.default_rng(7)
    person, stranger = unit(rng.standard_normal(DIM)), unit(rng.standard_normal(DIM))
    photo = noisy(person, 0.3, rng)
    views = [noisy(person, 0.45, rng) for _ in range(8)]
    lone = [float(v @ photo) for v in views]
    fused = fuse(views, [1.0] * len(views))
    assert fused is not None and abs(float(np.linalg.norm(fused)) - 1.0) < 1e-5
    assert float(fused @ photo) > max(lone) + 0.02, (float(fused @ photo), lone)

    impostor = [noisy(stranger, 0.45, rng) for _ in range(8)]
    impostor_fused = fuse(impostor, [1.0] * len(impostor))
    assert impostor_fused is not None
    assert float(impostor_fused @ photo) < max(float(v @ photo) for v in impostor)


def test_fusion_weights_by_quality() -> None:
    """A poor frame (small, blurred) counts for little: the weighted mean stays nearer the
    person than the plain mean when that frame's template is far off."""
    rng = np.random.default_rng(3)
    person = unit(rng.standard_normal(DIM))
    good = [noisy(person, 0.2, rng) for _ in range(3)]
    bad = noisy(person, 3.0, rng)
    weighted = fuse([*good, bad], [100.0, 100.0, 100.0, 5.0])
    plain = fuse([*good, bad], [1.0, 1.0, 1.0, 1.0])
    assert weighted is not None and plain is not None
    assert float(weighted @ person) > float(plain @ person)
    assert fuse([], []) is None
    zero = fuse(good, [0.0, 0.0, 0.0])  # no usable weight: equal weights, never NaN
    assert zero is not None and np.all(np.isfinite(zero))


# ------------------------------------------------------------------------ watch list top


def watchlist(entries: dict[str, Sequence[np.ndarray]], threshold: float) -> LiveWatchlist:
    # floor=0: the fusion arithmetic on synthetic vectors, not the calibrated floor (R3)
    wl = LiveWatchlist(ExactIndex(ExactIndex.Config(dim=DIM)), {DEP: threshold}, floor=0.0)
    items, key = [], 1
    for entry_id, photos in entries.items():
        for photo in photos:
            items.append((key, IndexedEntry(DEP, entry_id), photo))
            key += 1
    wl.add(items)
    return wl


def test_top_ranks_entries_not_photos_without_a_threshold() -> None:
    rng = np.random.default_rng(1)
    a, b, c = (unit(rng.standard_normal(DIM)) for _ in range(3))
    wl = watchlist({"A": [noisy(a, 0.2, rng), noisy(a, 0.1, rng)], "B": [b], "C": [c]},
                   threshold=1.0)
    (row,) = wl.top(np.stack([a]), 2)
    assert row[0].entry.entry_id == "A" and len(row) == 2
    assert len({m.entry.ref for m in row}) == 2  # each entry once
    best_photo = max(float(a @ wl.index.vectors[i]) for i in range(2))  # type: ignore[attr-defined]
    assert row[0].score == pytest.approx(best_photo, abs=1e-5)
    assert row[0].score < 1.0  # below the threshold, still reported
    (everything,) = wl.top(np.stack([a]), 10)
    assert sorted(m.entry.entry_id for m in everything) == ["A", "B", "C"]
    assert wl.top(np.zeros((0, DIM), np.float32), 3) == []


# ----------------------------------------------------------------- the pipeline, scripted


class ScriptedEngine:
    """Detections and templates set by the test, looked up by the image / chip object."""

    model_id = "scripted"
    dim = DIM

    def __init__(self) -> None:
        self.faces: dict[int, list[Detection]] = {}
        self.templates: dict[int, np.ndarray] = {}

    async def detect(self, images: Sequence[np.ndarray], purpose: Any = None
                     ) -> list[list[Detection]]:
        return [list(self.faces.get(id(image), [])) for image in images]

    async def embed(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        return np.stack([self.templates.pop(id(chip)) for chip in chips]).astype(np.float32)

    async def embed_faces(self, faces: Sequence[tuple[np.ndarray, Detection]]) -> np.ndarray:
        return await self.embed([d.chip for _, d in faces])

    async def enrol(self, data: bytes) -> Any:
        raise NotImplementedError

    async def close(self) -> None:
        pass


class Sink:
    def __init__(self) -> None:
        self.raised: list[CandidateEvidence] = []

    async def raise_candidate(self, evidence: CandidateEvidence) -> None:
        self.raised.append(evidence)


class Observer:
    def __init__(self) -> None:
        self.steps: list[TrackEvidence] = []
        self.ended: list[tuple[str, int]] = []

    def track_evidence(self, evidence: TrackEvidence) -> None:
        assert (evidence.camera_id, evidence.track_id) not in self.ended
        self.steps.append(evidence)

    def track_ended(self, camera_id: str, track_id: int) -> None:
        self.ended.append((camera_id, track_id))


class Walker(msgspec.Struct):
    person: np.ndarray
    start: int
    frames: int
    x: float = 20.0
    sigma: float = 0.45


def script(engine: ScriptedEngine, walkers: Sequence[Walker], n: int, rng: np.random.Generator,
           dt: float = 0.1, camera: str = "cam") -> list[Frame]:
    """``n`` frames ``dt`` apart; each walker's face grows from 40 to 120 px over its pass."""
    frames = []
    for i in range(n):
        image = np.zeros((200, 400, 3), np.uint8)
        faces = []
        for w in walkers:
            if not w.start <= i < w.start + w.frames:
                continue
            px = 40 + 80 * (i - w.start) / max(1, w.frames - 1)
            box = (w.x, 20.0, w.x + 60, 80.0)
            chip = np.zeros((2, 2, 3), np.uint8)
            faces.append(Detection(box, 0.9, np.zeros((5, 2), np.float32), chip,
                                   Quality(face_px=px, sharpness=0.2, yaw=0, pitch=0, score=0.9)))
            engine.templates[id(chip)] = noisy(w.person, w.sigma, rng)
        engine.faces[id(image)] = faces
        frames.append(Frame(camera, i, 1.8e9 + i * dt, 1000.0 + i * dt, image))
    return frames


def pipeline(wl: LiveWatchlist, settings: TrackerSettings | None = None,
             observer: Observer | None = None) -> tuple[LivePipeline, ScriptedEngine, Sink]:
    engine, sink = ScriptedEngine(), Sink()
    pipe = LivePipeline(engine, BoundedExecutor(1, 1), SystemClock(), sink,  # type: ignore[arg-type]
                        settings or settings_for(), observer=observer)
    pipe.set_watchlist(wl)
    return pipe, engine, sink


async def play(pipe: LivePipeline, frames: Sequence[Frame]) -> None:
    for frame in frames:
        await pipe([(frame.camera_id, frame)])
    await end(pipe, frames[-1])


async def end(pipe: LivePipeline, last: Frame, tail_s: float = 3.0) -> None:
    """One empty frame well after ``last``: every track ends (and is forgotten)."""
    await pipe([(last.camera_id, Frame(last.camera_id, last.seq + 1, last.captured_at + tail_s,
                                       last.monotonic + tail_s, np.zeros((8, 8, 3), np.uint8)))])


async def test_entry_with_two_photos_raises_once_per_track_and_pass() -> None:
    """R4: an entry enrolled with two photos (two index keys) raises one candidate for a
    pass, not one per photo; a broken track of the same pass raises nothing more."""
    rng = np.random.default_rng(11)
    person = unit(rng.standard_normal(DIM))
    wl = watchlist({"E1": [noisy(person, 0.1, rng), noisy(person, 0.1, rng)]}, threshold=0.85)
    pipe, engine, sink = pipeline(wl, settings_for(embed_interval_s=0.0, fusion="max"))
    # Two tracks of the same pass (an occlusion of 1.5 s between them), low noise so that
    # both photos would match on their own.
    frames = script(engine, [Walker(person, 0, 10, sigma=0.15), Walker(person, 25, 10,
                                                                     sigma=0.15)], 35, rng)
    await play(pipe, frames)
    assert [c.entry_id for c in sink.raised] == ["E1"]
    assert pipe.stats.candidates == 1

    pipe, engine, sink = pipeline(wl, settings_for(embed_interval_s=0.0, fusion="mean"))
    await play(pipe, script(engine, [Walker(person, 0, 30, sigma=0.15)], 30, rng))
    assert [c.entry_id for c in sink.raised] == ["E1"]


async def test_fused_track_is_found_where_no_single_template_is() -> None:
    """A person whose every single template falls below the threshold is found by the fused
    evidence (``fusion = "mean"``) and not by the best single template (``"max"``)."""
    rng = np.random.default_rng(5)
    person, other = unit(rng.standard_normal(DIM)), unit(rng.standard_normal(DIM))
    photo = noisy(person, 0.3, rng)
    wl = watchlist({"E1": [photo], "E2": [unit(rng.standard_normal(DIM))]}, threshold=0.93)
    walkers = [Walker(person, 0, 30), Walker(other, 0, 30, x=250.0)]
    found = {}
    for fusion in ("max", "mean"):
        observer = Observer()
        pipe, engine, sink = pipeline(wl, settings_for(fusion=fusion), observer)
        rng_f = np.random.default_rng(99)  # the same templates for both rules
        await play(pipe, script(engine, walkers, 30, rng_f))
        found[fusion] = [(c.entry_id, c.score) for c in sink.raised]
        person_steps = [e for e in observer.steps if e.box[0] < 100]
        best = [s for e in person_steps for d, entry, s in e.scores if entry == "E1"]
        assert len(best) == len(person_steps)  # reported at every step, threshold or not
        if fusion == "max":
            assert best == sorted(best)  # the best single template so far: never falls
            assert max(best) < 0.93
    assert found["max"] == []
    assert [e for e, _ in found["mean"]] == ["E1"] and found["mean"][0][1] >= 0.93


async def test_observer_sees_each_step_and_nothing_outlives_the_track() -> None:
    """Every decision step of every track reaches the observer, matched or not, with up to
    five entries best first; each track's end is reported once; when the tracks end, every
    template they held is gone from memory (R3)."""
    rng = np.random.default_rng(2)
    listed, stranger = unit(rng.standard_normal(DIM)), unit(rng.standard_normal(DIM))
    others = {f"X{i}": [unit(rng.standard_normal(DIM))] for i in range(6)}
    wl = watchlist({"E1": [noisy(listed, 0.2, rng)], **others}, threshold=0.9)
    observer = Observer()
    pipe, engine, sink = pipeline(wl, settings_for(), observer)
    frames = script(engine, [Walker(listed, 0, 25, sigma=0.3),
                             Walker(stranger, 5, 25, x=250.0)], 30, rng)
    held: list[weakref.ref[np.ndarray]] = []
    tracks = {}
    for frame in frames:
        await pipe([(frame.camera_id, frame)])
        for track in pipe.tracker("cam").tracks:
            tracks[track.id] = track
            held += [weakref.ref(t) for t in track.templates]
    ids = {e.track_id for e in observer.steps}
    assert len(ids) == 2
    for track_id in ids:
        steps = [e for e in observer.steps if e.track_id == track_id]
        assert len(steps) == tracks[track_id].steps == tracks[track_id].embedded
        assert [e.templates for e in steps] == sorted(e.templates for e in steps)
        assert all(len(e.scores) == 5 for e in steps)
        assert all([s for *_, s in e.scores] == sorted((s for *_, s in e.scores), reverse=True)
                   for e in steps)
    assert len(sink.raised) == 1 and sink.raised[0].entry_id == "E1"
    assert observer.ended == []
    await end(pipe, frames[-1])
    assert sorted(observer.ended) == sorted(("cam", i) for i in ids)
    assert pipe.tracker("cam").tracks == []
    for track in tracks.values():
        assert track.templates == [] and track.weights == [] and track.best_scores == {}
    del frames
    engine.faces.clear()
    gc.collect()
    assert held and all(ref() is None for ref in held), "a template outlived its track"
    # The evidence itself is scores and a box only: plain data, nothing face-derived.
    assert all(isinstance(v, int | float | str | tuple)
               for e in observer.steps for v in msgspec.structs.astuple(e))


async def test_no_observer_computes_nothing_extra() -> None:
    rng = np.random.default_rng(4)
    person = unit(rng.standard_normal(DIM))
    wl = watchlist({f"X{i}": [unit(rng.standard_normal(DIM))] for i in range(8)}, 0.9)
    depths: list[int] = []
    original = wl.top

    def top(templates: np.ndarray, k: int) -> Any:
        depths.append(k)
        return original(templates, k)

    wl.top = top  # type: ignore[method-assign]
    pipe, engine, _ = pipeline(wl, settings_for(fusion="max"))
    await play(pipe, script(engine, [Walker(person, 0, 20)], 20, rng))
    assert depths and set(depths) == {1}


def test_templates_stay_bounded_on_a_long_track() -> None:
    """A person who stays in view for ten minutes: the track never holds more than
    ``fuse_max`` templates, keeps the best ones, and is embedded at a bounded rate."""
    settings = settings_for(fuse_max=8, embed_interval_s=0.5, embed_max=1000)
    tracker = CameraTracker("cam", settings)
    rng = np.random.default_rng(0)
    person = unit(rng.standard_normal(DIM))
    embeds, seconds, fps = 0, 600, 10
    per_second: dict[int, int] = {}
    qualities = []
    for i in range(seconds * fps):
        now = i / fps
        size = float(rng.uniform(50, 110))  # the face comes and goes in size and sharpness
        quality = Quality(face_px=size, sharpness=float(rng.uniform(0.03, 0.2)), yaw=0.0,
                          pitch=0.0, score=0.9)
        det = Detection((100, 100, 180, 180), 0.9, np.zeros((5, 2), np.float32),
                        np.zeros((2, 2, 3), np.uint8), quality)
        (obs,) = tracker.update(now, [det])
        if obs.embed:
            embeds += 1
            per_second[int(now)] = per_second.get(int(now), 0) + 1
            qualities.append(quality_score(det))
            track = tracker.add_template(obs, noisy(person, 0.4, rng), now)
            assert len(track.templates) <= 8
    (track,) = tracker.tracks
    assert len(track.templates) == 8
    assert sorted(track.weights) == sorted(qualities)[-8:]  # the best eight are kept
    assert embeds <= seconds / settings.embed_interval_s / 4, embeds  # saturates, not 2/s
    assert max(per_second.values()) <= 3
    fused = track.mean_template()
    assert fused is not None and float(fused @ person) > 0.95


async def test_embedding_budget_degrades_overload_instead_of_spiralling() -> None:
    """Six people appear at once: at one embedding per analysed frame, each round embeds one
    face, a track with no template before a track that has one, until every track has been
    decided at least once; the others wait (counted), nothing is lost."""
    rng = np.random.default_rng(3)
    people = [unit(rng.standard_normal(DIM)) for _ in range(6)]
    wl = LiveWatchlist(ExactIndex(ExactIndex.Config(dim=DIM)), {DEP: 0.9}, floor=0.0)
    wl.add([(1, IndexedEntry(DEP, "e0"), people[0])])
    settings = settings_for(embed_per_frame=1.0, embed_interval_s=0.0, embed_gain=0.0)
    pipe, engine, _ = pipeline(wl, settings)
    walkers = [Walker(p, start=0, frames=10, x=10.0 + 65 * i) for i, p in enumerate(people)]
    frames = script(engine, walkers, 10, rng)
    embedded_per_round = []
    for frame in frames:
        before = pipe.stats.embedded
        await pipe([(frame.camera_id, frame)])
        embedded_per_round.append(pipe.stats.embedded - before)
    assert max(embedded_per_round) == 1  # never more than the budget
    tracks = pipe.tracker("cam").tracks
    assert len(tracks) == 6
    # the first six rounds went to the six tracks with no template, one each
    assert all(len(t.templates) >= 1 for t in tracks)
    assert pipe.stats.embed_deferred > 0
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"embed_per_frame": 0}, TrackerSettings)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"embed_per_frame": float("nan")}, TrackerSettings)


async def test_a_track_raises_its_best_entry_not_a_look_alike_that_also_clears() -> None:
    """R4/R14: a listed walker whose fused evidence clears the threshold for their own entry
    and, just below it, for a look-alike's raises one candidate: their own. The look-alike's
    entry is raised only if the evidence comes to favour it (here never)."""
    rng = np.random.default_rng(21)
    person = unit(rng.standard_normal(DIM))
    look_alike = unit(person + 0.35 * unit(rng.standard_normal(DIM)))
    wl = watchlist({"OWN": [noisy(person, 0.1, rng)], "ALIKE": [look_alike]}, threshold=0.85)
    observer = Observer()
    pipe, engine, sink = pipeline(wl, settings_for(embed_interval_s=0.0), observer)
    await play(pipe, script(engine, [Walker(person, 0, 30, sigma=0.2)], 30, rng))
    scores = {entry: s for e in observer.steps for _, entry, s in e.scores}
    assert scores["ALIKE"] >= 0.85  # the runner-up clears the threshold too ...
    assert all(e.scores[0][1] == "OWN" for e in observer.steps)
    assert [c.entry_id for c in sink.raised] == ["OWN"]  # ... and is not raised


async def test_a_track_raises_a_second_entry_once_its_evidence_favours_it() -> None:
    """Two people share one track (the tracker missed a swap): the first is raised, and the
    second once the fused evidence has turned to them, not while it is the runner-up."""
    rng = np.random.default_rng(23)
    first, second = unit(rng.standard_normal(DIM)), unit(rng.standard_normal(DIM))
    wl = watchlist({"A": [first], "B": [second]}, threshold=0.5)
    observer = Observer()
    pipe, engine, sink = pipeline(
        wl, TrackerSettings(embed_interval_s=0.0, split_below=-1.0, fuse_max=64), observer)
    frames = script(engine, [Walker(first, 0, 10, sigma=0.1)], 10, rng)
    frames += script(engine, [Walker(second, 0, 20, sigma=0.1)], 20, rng)
    frames = [Frame(f.camera_id, i, 1.8e9 + i * 0.1, 1000.0 + i * 0.1, f.image)
              for i, f in enumerate(frames)]
    await play(pipe, frames)
    assert [c.entry_id for c in sink.raised] == ["A", "B"]
    first_b = next(i for i, e in enumerate(observer.steps) if e.scores[0][1] == "B")
    raised_b = next(c for c in sink.raised if c.entry_id == "B")
    assert raised_b.frame_monotonic == observer.steps[first_b].frame_monotonic
