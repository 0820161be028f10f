"""Tracking: one track per person across frames, embedded on its best frames only (R2, R3)."""

from __future__ import annotations

import numpy as np

from kernel.pipeline.tracker import GAP_CEILING, CameraTracker, RepeatGuard, TrackerSettings, iou
from kernel.protocols.engine import Detection, Quality, Rejection


def det(x: float, size: float = 80, sharp: float = 0.2, yaw: float = 0.0,
        passed: bool = True) -> Detection:
    quality = Quality(face_px=size, sharpness=sharp, yaw=yaw, pitch=0.0, score=0.9,
                      reasons=() if passed else (Rejection.BLURRED,))
    return Detection((x, 100, x + size, 100 + size), 0.9, np.zeros((5, 2), np.float32),
                     np.zeros((4, 4, 3), np.uint8), quality)


def unit(v: list[float]) -> np.ndarray:
    a = np.asarray(v, np.float32)
    return a / np.linalg.norm(a)


def test_iou() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    assert abs(iou((0, 0, 10, 10), (5, 0, 15, 10)) - 1 / 3) < 1e-9


def test_same_person_across_frames_is_one_track() -> None:
    tracker = CameraTracker("cam")
    first = tracker.update(0.0, [det(100)])
    for i in range(1, 10):
        obs = tracker.update(i * 0.04, [det(100 + 3 * i)])
        assert obs[0].track is first[0].track
    assert len(tracker.tracks) == 1
    assert first[0].track.frames == 10


def test_two_people_two_tracks() -> None:
    tracker = CameraTracker("cam")
    obs = tracker.update(0.0, [det(100), det(600)])
    assert obs[0].track is not obs[1].track
    again = tracker.update(0.04, [det(603), det(102)])
    assert again[0].track is obs[1].track and again[1].track is obs[0].track


def test_faces_failing_the_live_gate_are_never_embedded() -> None:
    tracker = CameraTracker("cam")
    (obs,) = tracker.update(0.0, [det(100, passed=False)])
    assert not obs.embed


def test_embedded_on_few_best_frames_only() -> None:
    settings = TrackerSettings(embed_max=3, embed_gain=0.15)
    tracker = CameraTracker("cam", settings)
    embeds = 0
    for i in range(50):
        size = 60 + i  # the face grows as the person approaches
        (obs,) = tracker.update(i * 0.04, [det(100, size=size)])
        if obs.embed:
            embeds += 1
            tracker.add_template(obs, unit([1, 0, 0]), i * 0.04)
    assert 1 <= embeds <= 3


def test_unlike_template_splits_the_track() -> None:
    tracker = CameraTracker("cam", TrackerSettings(split_below=0.6))
    (obs,) = tracker.update(0.0, [det(100)])
    first = tracker.add_template(obs, unit([1, 0, 0]), 0.0)
    (obs2,) = tracker.update(0.04, [det(102, size=120)])
    second = tracker.add_template(obs2, unit([0, 1, 0]), 0.04)
    assert second is not first


def test_r3_ended_tracks_forget_their_templates() -> None:
    """R3: a track that ends drops every template it held."""
    tracker = CameraTracker("cam", TrackerSettings(max_gap_s=1.0))
    (obs,) = tracker.update(0.0, [det(100)])
    track = tracker.add_template(obs, unit([1, 2, 3]), 0.0)
    assert tracker.expire(0.5) == []
    ended = tracker.expire(2.0)
    assert ended == [track]
    assert track.templates == [] and tracker.tracks == []


def test_repeat_window_runs_from_the_last_candidate_raised() -> None:
    """One candidate per person per pass, but a person who stays is raised again later."""
    guard = RepeatGuard(window=10.0)
    assert [guard.allow("cam", 7, t) for t in (0.0, 4.0, 8.0, 10.5, 12.0)] == [
        True, False, False, True, False]
    assert guard.allow("other-cam", 7, 4.0) and guard.allow("cam", 8, 4.0)


def test_walker_stays_one_track_when_the_analysed_rate_drops() -> None:
    """A box under load analyses a camera less often: a walker who moved 40 px between
    frames moves 80, then 120 px (more than the 80 px face) between later ones. The track's own
    motion carries it (without it: a new track, and a new embedding, every frame)."""
    tracker = CameraTracker("cam")
    first = tracker.update(0.0, [det(100)])[0].track
    t, x = 0.0, 100.0
    for interval in (0.5, 0.5, 1.0, 1.0, 1.5, 1.5):
        t, x = t + interval, x + 80.0 * interval  # 80 px/s
        (obs,) = tracker.update(t, [det(x)])
        assert obs.track is first, f"at {t} s"
        assert tracker.expire(t) == []
    assert len(tracker.tracks) == 1


def test_people_crossing_keep_their_own_tracks_when_the_rate_drops() -> None:
    """Two walkers in opposite directions cross while frames thin out: motion must not swap
    or merge them."""
    tracker = CameraTracker("cam")
    a, b = (o.track for o in tracker.update(0.0, [det(100), det(700)]))
    t, xa, xb = 0.0, 100.0, 700.0
    for interval in (0.5, 0.5, 1.0, 1.0, 1.0, 1.5):
        t, xa, xb = t + interval, xa + 80.0 * interval, xb - 80.0 * interval
        obs = tracker.update(t, [det(xb), det(xa)])
        assert obs[0].track is b and obs[1].track is a, f"at {t} s"


def test_a_slow_camera_stretches_the_gap_between_frames() -> None:
    """A camera analysed once every 1.5 s (over ``max_gap_s``; other cameras' frames expire
    tracks in between): a person standing still stays one track instead of being a new
    person, embedded again, on every frame."""
    tracker = CameraTracker("cam", TrackerSettings(max_gap_s=1.0))
    tracker.update(0.0, [])
    tracks = set()
    for i in range(1, 8):
        tracker.expire(i * 1.5 - 0.4)  # another camera's batch
        (obs,) = tracker.update(i * 1.5, [det(100)])
        tracker.expire(i * 1.5)
        tracks.add(obs.track.id)
    assert len(tracks) == 1
    assert tracker.max_gap > 1.0


def test_r3_a_stretched_gap_still_ends_the_track_within_its_ceiling() -> None:
    """R3: however slowly a camera is analysed, a track nobody is seen in ends (and forgets its
    templates) within GAP_CEILING × ``max_gap_s``."""
    tracker = CameraTracker("cam", TrackerSettings(max_gap_s=1.0))
    for i in range(6):  # one frame every 20 s: the stretch would be 50 s
        tracker.update(i * 20.0, [])
    assert tracker.max_gap == GAP_CEILING * 1.0
    (obs,) = tracker.update(120.0, [det(100)])
    track = tracker.add_template(obs, unit([1, 2, 3]), 120.0)
    assert tracker.expire(120.0 + GAP_CEILING - 0.01) == []
    assert tracker.expire(120.0 + GAP_CEILING + 0.01) == [track]
    assert track.templates == [] and tracker.tracks == []
