"""The camera placement view (issue 15): the newest frame's boxes, widths and live-gate verdicts
and a minute's face-size histogram, only for a watched camera, fed by the pipeline's own
detector pass; while nothing is live, a watched camera's frames are detected for the view and
nothing else (R3: no template, no track, no count)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from demo.walkpast import DEMO_FACES, load_photo
from kernel.clock import ManualClock
from kernel.executor import BoundedExecutor
from kernel.frames import Frame
from kernel.pipeline.live import LivePipeline
from kernel.pipeline.placement import LEASE_S, WINDOW_S, PlacementWatch
from kernel.protocols.engine import Detection, Quality, Rejection
from tests.integration.pipeline_rig import make_engine


def face(x: float, width: float, reasons: tuple[Rejection, ...] = ()) -> Detection:
    return Detection((x, 10.0, x + width, 10.0 + width * 1.2), 0.9, np.zeros((5, 2), np.float32),
                     np.zeros((4, 4, 3), np.uint8),
                     Quality(face_px=width, sharpness=0.2, yaw=0, pitch=0, score=0.9,
                             reasons=reasons))


def frame(clock: ManualClock, camera: str = "gate-1", seq: int = 0,
          image: np.ndarray | None = None) -> Frame:
    img = image if image is not None else np.zeros((360, 640, 3), np.uint8)
    return Frame(camera, seq, 1.8e9 + clock.monotonic(), clock.monotonic(), img)


def test_a_watched_camera_shows_boxes_widths_verdicts_and_the_minute() -> None:
    clock = ManualClock()
    watch = PlacementWatch(clock)
    assert watch.view("gate-1").faces == []  # nothing analysed yet: an empty view
    watch.observe(frame(clock), [face(10, 130), face(300, 14, (Rejection.TOO_SMALL,))])
    clock.advance(timedelta(seconds=1))
    watch.observe(frame(clock, seq=1), [face(12, 135)])
    view = watch.view("gate-1")
    assert (view.frame_width, view.frame_height) == (640, 360)
    assert [(f.box, f.width_px, f.passes) for f in view.faces] == [((12, 10, 147, 172), 135, True)]
    assert view.faces_last_minute == 3 and view.too_small_share == 1 / 3
    bins = {b.from_px: b.faces for b in view.histogram}
    assert bins[0] == 1 and bins[120] == 2 and sum(bins.values()) == 3
    # a minute later (watched all along) the first frame's faces are out of the histogram
    for seq in range(2, 2 + int(WINDOW_S)):
        clock.advance(timedelta(seconds=1))
        watch.view("gate-1")
        watch.observe(frame(clock, seq=seq), [])
    view = watch.view("gate-1")
    assert view.faces == [] and view.faces_last_minute == 1 and view.too_small_share == 0


def test_an_unwatched_camera_is_ignored_and_a_lapsed_lease_forgets() -> None:
    clock = ManualClock()
    watch = PlacementWatch(clock)
    watch.observe(frame(clock), [face(10, 130)])
    assert not watch.watched("gate-1")
    watch.view("gate-1")
    watch.observe(frame(clock, camera="gate-2"), [face(10, 130)])
    assert not watch.watched("gate-2") and watch.watched("gate-1")
    watch.observe(frame(clock), [face(10, 130)])
    clock.advance(timedelta(seconds=LEASE_S + 1))
    assert not watch.watched("gate-1")
    watch.observe(frame(clock), [face(10, 90)])  # not watched: not taken
    assert watch.view("gate-1").faces == []  # what was there before the lapse is gone


class Sink:
    async def raise_candidate(self, evidence: Any) -> None:
        raise AssertionError("nothing is live: no candidate may be raised")


async def test_not_live_a_watched_camera_is_detected_for_the_view_alone(models_dir: Path) -> None:
    """R3: no deployment live — frames of unwatched cameras are not looked at; a watched
    camera's faces are detected for the view, and nothing is embedded, tracked or counted."""
    engine = make_engine(models_dir)
    clock = ManualClock()
    watch = PlacementWatch(clock)
    pipe = LivePipeline(engine, BoundedExecutor(1, 1), clock, Sink(), placement=watch)
    calls = {"detect": 0, "embed": 0}
    detect, embed_faces = engine.detect, engine.embed_faces

    async def counted_detect(images: Sequence[Any], *a: Any) -> Any:
        calls["detect"] += 1
        return await detect(images, *a)

    async def counted_embed(faces: Sequence[Any]) -> Any:
        calls["embed"] += 1
        return await embed_faces(faces)

    engine.detect = counted_detect  # type: ignore[method-assign]
    engine.embed_faces = counted_embed  # type: ignore[method-assign]
    try:
        photo = load_photo(DEMO_FACES / "obama.jpg")
        await pipe([("gate-1", frame(clock, image=photo))])
        assert calls["detect"] == 0 and pipe.stats.skipped_not_live == 1
        watch.view("gate-1")
        await pipe([("gate-1", frame(clock, seq=1, image=photo)),
                    ("gate-2", frame(clock, camera="gate-2", seq=1, image=photo))])
        view = watch.view("gate-1")
        assert len(view.faces) == 1 and view.faces[0].width_px > 50 and view.faces[0].passes
        assert calls == {"detect": 1, "embed": 0}  # the watched camera only, no template
        assert pipe.stats.skipped_not_live == 2 and pipe.stats.frames == 0
        assert pipe.trackers == {} and pipe.counts.drain() == []
    finally:
        await engine.close()
