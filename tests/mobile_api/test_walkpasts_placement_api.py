"""Issue 15 at API level: blue-list walk-pasts (R21) declared and scored through
``/api/deployments/ID/bluelist/walks``, and the camera placement view
``/api/cameras/ID/placement`` — hostile input (unknown ids, bad windows, naive times, wrong
roles) and what each answer holds (boxes and numbers, never an image: R3)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import numpy as np
import pytest

from kernel.frames import Frame
from kernel.health import CameraHealth
from kernel.pipeline.placement import PlacementWatch
from kernel.protocols.camera import CameraStats
from kernel.protocols.engine import Detection, Quality, Rejection
from kernel.supervisor import TaskStatus
from tests.mobile_api.conftest import LiveApi

CAMERAS = ("gate-1", "gate-2")


@pytest.fixture
def cameras(live_api: LiveApi) -> Iterator[PlacementWatch]:
    """Two configured cameras in health, and a placement watch, for one test."""
    health, placement = live_api.backend.health, live_api.backend.placement
    live_api.backend.health = lambda: [CameraHealth(c, TaskStatus(f"camera:{c}"),
                                                    CameraStats(), 0, 0) for c in CAMERAS]
    watch = live_api.backend.placement = PlacementWatch(live_api.clock)
    try:
        yield watch
    finally:
        live_api.backend.health, live_api.backend.placement = health, placement


def walks_path(api: LiveApi, deployment: str | None = None) -> str:
    return f"/api/deployments/{deployment or api.seed.deployment}/bluelist/walks"


def test_r21_walk_past_now_is_scored_on_its_camera_with_the_time(
        live_api: LiveApi, cameras: PlacementWatch) -> None:
    """A walk declared "now" on the camera that captured the volunteer's test event is
    detected, with the time to candidate; the same walk on the other camera is missed; the
    statistics and the published record count 1 of 2 while live."""
    s = live_api.seed
    with live_api.client("technical") as tech:
        before = len(tech.get(walks_path(live_api)).json())
        # the seeded test event was captured at the manual clock's now, on gate-1
        r = tech.post(walks_path(live_api), json={"entry_id": s.blue_entry,
                                                  "camera_id": "gate-1", "seconds": 30})
        assert r.status_code == 201, r.text
        assert r.json()["camera_id"] == "gate-1"
        assert tech.post(walks_path(live_api), json={"entry_id": s.blue_entry,
                                                     "camera_id": "gate-2"}).status_code == 201
        walks = tech.get(walks_path(live_api)).json()[before:]
        assert [(w["camera_id"], w["detected"], w["alert_id"]) for w in walks] == [
            ("gate-1", True, s.test_event), ("gate-2", False, None)]
        assert walks[0]["time_to_candidate_s"] is not None and walks[0]["period"] == "during"
        assert walks[1]["time_to_candidate_s"] is None
        assert walks[1]["window_to"] > walks[1]["window_from"]  # 60 s by default
        every = tech.get(walks_path(live_api)).json()
        stats = tech.get(f"/api/deployments/{s.deployment}/stats").json()
        during = next(p for p in stats["blue_periods"] if p["period"] == "during")
        assert (during["declared"], during["detected"]) == (
            len(every), sum(w["detected"] for w in every))
        assert (stats["blue_walks_declared"], stats["blue_walks_detected"]) == (
            during["declared"], during["detected"])
        record = tech.get(f"/api/deployments/{s.deployment}/published").json()
        assert record["blue_by_period"]["during"]["declared"] == during["declared"]
        csv_text = tech.get(f"/api/deployments/{s.deployment}/published",
                            params={"format": "csv"}).text
        assert "blue_during_detected" in csv_text.splitlines()[0]


@pytest.mark.parametrize(("body", "status"), [
    ({"entry_id": "no-such-entry", "camera_id": "gate-1"}, 404),
    ({"camera_id": "gate-1"}, 400),                                   # no volunteer
    ({"entry_id": "ENTRY", "camera_id": "no-such-camera"}, 404),      # unknown camera
    ({"entry_id": "ENTRY", "camera_id": ""}, 400),
    ({"entry_id": "ENTRY", "camera_id": "gate-1", "seconds": 0}, 400),
    ({"entry_id": "ENTRY", "camera_id": "gate-1", "seconds": 601}, 400),
    ({"entry_id": "ENTRY", "camera_id": "gate-1", "seconds": "soon"}, 400),
    ({"entry_id": "ENTRY", "at": "2026-03-01T08:00:00"}, 400),         # no timezone
    ({"entry_id": "ENTRY", "at": "yesterday"}, 400),
    ({"entry_id": "ENTRY", "camera_id": "gate-1", "extra": 1}, 400),
    ({"entry_id": "WATCH", "camera_id": "gate-1"}, 422),              # a watch-list entry
])
def test_walk_past_hostile_input(live_api: LiveApi, cameras: PlacementWatch,
                                 body: dict[str, object], status: int) -> None:
    s = live_api.seed
    ids = {"ENTRY": s.blue_entry, "WATCH": s.entry}
    sent = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    with live_api.client("technical") as tech:
        r = tech.post(walks_path(live_api), json=sent)
    assert r.status_code == status, r.text


def test_walk_past_wrong_role_and_unknown_deployment(live_api: LiveApi,
                                                     cameras: PlacementWatch) -> None:
    s = live_api.seed
    body = {"entry_id": s.blue_entry, "camera_id": "gate-1"}
    for role in ("officer", "operator", "commander", "admin"):
        with live_api.client(role) as c:
            assert c.post(walks_path(live_api), json=body).status_code == 403, role
            assert c.get(walks_path(live_api)).status_code == 403, role
    with live_api.client("technical") as tech:
        assert tech.get(walks_path(live_api, "no-such-deployment")).status_code == 404
        assert tech.post(walks_path(live_api, "no-such-deployment"),
                         json=body).status_code == 422  # the entry is not on its blue list


def _detection(x: float, width: float, small: bool = False) -> Detection:
    return Detection((x, 20.0, x + width, 20.0 + width), 0.9, np.zeros((5, 2), np.float32),
                     np.full((150, 150, 3), 77, np.uint8),
                     Quality(face_px=width, sharpness=0.2, yaw=0, pitch=0, score=0.9,
                             reasons=(Rejection.TOO_SMALL,) if small else ()))


def test_placement_view_boxes_widths_and_no_image(live_api: LiveApi,
                                                  cameras: PlacementWatch) -> None:
    """The view answers boxes, widths and gate verdicts of the camera's newest analysed frame,
    the minute's histogram and the too-small share; nothing in it is an image (R3)."""
    with live_api.client("technical") as tech:
        empty = tech.get("/api/cameras/gate-1/placement")
        assert empty.status_code == 200 and empty.json()["faces"] == []
        assert empty.headers["cache-control"] == "no-store"
        frame = Frame("gate-1", 1, 1.8e9, live_api.clock.monotonic(),
                      np.zeros((360, 640, 3), np.uint8))
        cameras.observe(frame, [_detection(100, 120), _detection(400, 15, small=True)])
        r = tech.get("/api/cameras/gate-1/placement")
    view = r.json()
    assert [(f["box"], f["width_px"], f["passes"]) for f in view["faces"]] == [
        ([100, 20, 220, 140], 120, True), ([400, 20, 415, 35], 15, False)]
    assert view["faces"][1]["reasons"] == ["too_small"]
    assert view["too_small_share"] == 0.5 and view["faces_last_minute"] == 2
    assert len(r.content) < 2000  # numbers only: no chip or frame could fit
    with live_api.client("admin") as adm:
        assert adm.get("/api/cameras/gate-2/placement").status_code == 200


@pytest.mark.parametrize("camera", ["no-such-camera", "gate-1%00", "..%2F..%2Fetc", "x" * 300])
def test_placement_unknown_or_malformed_camera_is_404(live_api: LiveApi,
                                                      cameras: PlacementWatch,
                                                      camera: str) -> None:
    with live_api.client("technical") as tech:
        assert tech.get(f"/api/cameras/{camera}/placement").status_code == 404


def test_placement_roles_and_no_pipeline(live_api: LiveApi, cameras: PlacementWatch) -> None:
    for role in ("officer", "operator", "commander"):
        with live_api.client(role) as c:
            assert c.get("/api/cameras/gate-1/placement").status_code == 403, role
    with live_api.client() as anonymous:
        assert anonymous.get("/api/cameras/gate-1/placement").status_code == 401
    live_api.backend.placement = None  # an API process that runs no pipeline
    with live_api.client("technical") as tech:
        assert tech.get("/api/cameras/gate-1/placement").status_code == 503


def test_walk_window_is_bounded_in_the_domain(live_api: LiveApi) -> None:
    """The domain refuses a window over 10 minutes or ending before it starts, whoever calls."""
    from kernel.domain.errors import DomainError

    s, now = live_api.seed, live_api.clock.now()
    for until in (now, now - timedelta(seconds=1), now + timedelta(seconds=601)):
        with pytest.raises(DomainError):
            live_api.call(live_api.gov.watchlists.record_blue_walk(
                s.deployment, s.blue_entry, now, "technical", until=until))
