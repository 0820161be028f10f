"""Issue #5: an IP camera over a REAL RTSP server (GStreamer's, on 127.0.0.1) through the whole
runtime — camera.rtsp → fair scheduler → live pipeline → matching → SQLite — surviving the
server being killed mid-stream and restarted (R1, R4)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from pipeline_rig import (
    RtspServer,
    free_port,
    go_live,
    make_walkpast_clip,
    runtime_config,
    wait_for,
)

from adapters.camera.rtsp import RtspCamera
from adapters.engine.onnx import OnnxEngine
from kernel.runtime import Runtime

CAMERA = "gate-rtsp"


async def test_r1_rtsp_camera_reconnects_and_candidates_keep_coming(
    gst_rtsp: None, models_dir: Path, tmp_path: Path, clip_engine: OnnxEngine
) -> None:
    """R1: the RTSP server dies mid-stream (SIGKILL) and comes back on the same port; the
    camera reconnects by itself and the listed walker raises a candidate again, committed in
    the store, from frames captured after the restart (R4: one per pass, not per frame)."""
    # Two passes of (listed walker, stranger), ~7 s: the kill lands inside the stream.
    clip = make_walkpast_clip(tmp_path / "walkpast.mp4", clip_engine, passes=2)
    server = RtspServer(free_port(), clip)
    cfg = runtime_config(tmp_path, models_dir, f"""
[[cameras]]
id = "{CAMERA}"
type = "rtsp"
url = "{server.url}"
backoff_initial = 0.2
backoff_max = 1.0
open_timeout = 3.0
read_timeout = 2.0
""")
    rt = Runtime(cfg)
    await rt.start()
    try:
        assert rt.governance and rt.engine and rt.matching and rt.pipeline
        pipeline = rt.pipeline
        # Live before the first frame: the walker is at the start of the clip.
        dep = await go_live(rt.governance, rt.engine)
        await rt.matching.refresh()
        server.start()
        await wait_for(lambda: pipeline.stats.candidates >= 1, 30, "a candidate before the kill")
        cam = rt.cameras[CAMERA]
        assert isinstance(cam, RtspCamera)
        reconnects_before = cam.stats.reconnects

        server.kill()
        await wait_for(lambda: not cam.stats.connected, 15, "the camera to notice the dead link")
        candidates_before = pipeline.stats.candidates
        processed_before = rt.processed[CAMERA]
        await asyncio.sleep(1.0)  # refused reconnection attempts while the server is down

        server.start()  # the same port; this client gets the clip from the start again
        restarted = time.time()
        await wait_for(lambda: pipeline.stats.candidates > candidates_before, 30,
                       "a candidate after the restart")

        assert cam.stats.reconnects >= 1 and cam.stats.reconnects > reconnects_before
        assert rt.processed[CAMERA] > processed_before
        alerts = await rt.governance.alerts.list_for(dep)
        assert all(a.camera_id == CAMERA and a.state == "candidate" for a in alerts)
        after = [a for a in alerts if a.captured_at.timestamp() > restarted]
        assert after, [a.captured_at for a in alerts]
        images = await rt.governance.alerts.images(after[0].id)
        assert images.face[:2] == b"\xff\xd8"
        # The stranger walking beside the listed person raised nothing (R3): at most one
        # candidate per pass of the listed walker (2 passes before and after the restart).
        assert len(alerts) <= 4
        health = {h.camera_id: h for h in rt.health()}[CAMERA]
        assert health.stats.reconnects == cam.stats.reconnects and health.processed > 0
    finally:
        server.kill()
        await rt.stop()
