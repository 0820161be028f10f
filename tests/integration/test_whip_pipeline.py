"""Issue #5: WebRTC cameras over WHIP through the REAL HTTP service (``[[services]] type =
"http"``, which mounts the WHIP routes at /whip) into the live pipeline: an aiortc publisher
sending the walk-past clip raises candidates committed in the store; headless Chromium's fake
camera (a client we did not write) feeds frames through the pipeline; a wrong token gets 401
(R1, R4)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pipeline_rig import (
    CHROMIUM,
    REPO,
    free_port,
    go_live,
    make_walkpast_clip,
    runtime_config,
    wait_for,
)

from adapters.camera.webrtc import WebRtcCamera
from adapters.engine.onnx import OnnxEngine
from kernel.runtime import Runtime
from tests.media_peers import PUBLISH_PAGE, Publisher

TOKEN = "integration-whip-token"
CAMERA = "gate-whip"



class Served:
    """A started runtime with the HTTP service on ``base_url`` and one WHIP camera."""

    def __init__(self, runtime: Runtime, base_url: str) -> None:
        self.runtime = runtime
        self.base_url = base_url
        self.whip_url = f"{base_url}/whip/{CAMERA}"


@pytest.fixture
async def served(models_dir: Path, tmp_path: Path) -> AsyncIterator[Served]:
    port = free_port()
    cfg = runtime_config(tmp_path, models_dir, f"""
[[services]]
type = "http"
host = "127.0.0.1"
port = {port}
secure_cookie = false
pwa_dir = "{REPO / 'pwa'}"

[[cameras]]
id = "{CAMERA}"
type = "webrtc"
token = "{TOKEN}"
""")
    rt = Runtime(cfg)
    await rt.start()
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            for _ in range(200):  # the service task binds its port shortly after start()
                with contextlib.suppress(httpx.TransportError):
                    await client.get(f"{base}/")
                    break
                await asyncio.sleep(0.05)
        await wait_for(lambda: CAMERA in rt.cameras, 10, "the WHIP camera to be built")
        yield Served(rt, base)
    finally:
        await rt.stop()


async def test_r1_aiortc_publisher_over_whip_raises_candidates(
    served: Served, tmp_path: Path, clip_engine: OnnxEngine
) -> None:
    """R1: the walk-past clip published by aiortc through the HTTP service's /whip reaches the
    pipeline and the listed walker's candidate is committed in the store; a wrong token is
    refused with 401 and connects nothing."""
    rt = served.runtime
    assert rt.governance and rt.engine and rt.matching and rt.pipeline
    pipeline = rt.pipeline
    clip = make_walkpast_clip(tmp_path / "walkpast.mp4", clip_engine)
    dep = await go_live(rt.governance, rt.engine)
    await rt.matching.refresh()
    camera = rt.cameras[CAMERA]
    assert isinstance(camera, WebRtcCamera)
    publishers: list[Publisher] = []
    try:
        async with httpx.AsyncClient(timeout=20) as client:
            intruder = Publisher(clip)
            publishers.append(intruder)
            refused = await intruder.post(client, served.whip_url, "not-the-token")
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"] == "Bearer"
            assert camera.resource_id is None and not camera.stats.connected

            publisher = Publisher(clip)
            publishers.append(publisher)
            accepted = await publisher.post(client, served.whip_url, TOKEN)
            assert accepted.status_code == 201, accepted.text
            assert accepted.headers["location"] == f"/whip/{CAMERA}/{camera.resource_id}"
            await wait_for(lambda: pipeline.stats.candidates >= 1, 40, "a candidate over WHIP")
        alerts = await rt.governance.alerts.list_for(dep)
        assert alerts and all(a.camera_id == CAMERA and a.state == "candidate" for a in alerts)
        images = await rt.governance.alerts.images(alerts[0].id)
        assert images.face[:2] == b"\xff\xd8" and images.torso[:2] == b"\xff\xd8"
        assert rt.processed[CAMERA] > 0 and camera.stats.frames > 0
    finally:
        for p in publishers:
            await p.close()


async def test_r1_headless_chromium_fake_camera_feeds_the_pipeline(
    chromium: None, served: Served, tmp_path: Path
) -> None:
    """R1: Chromium (its fake capture device, a test pattern) publishes over WHIP to the real
    service; its frames flow through the scheduler into the pipeline. No face is in a test
    pattern, so this asserts frames, not candidates. A wrong token gets 401."""
    from playwright.async_api import Route, async_playwright

    rt = served.runtime
    camera = rt.cameras[CAMERA]
    assert isinstance(camera, WebRtcCamera)
    page_url = f"{served.base_url}/integration-publish"

    async def publish_page(route: Route) -> None:
        await route.fulfill(body=PUBLISH_PAGE, content_type="text/html")

    async with async_playwright() as pw:
        browser = await pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--use-fake-device-for-media-stream",
                  "--use-fake-ui-for-media-stream"],
        )
        try:
            page = browser.pages[0] if browser.pages else await browser.new_page()
            # The page comes from the service's own origin, so its fetch to /whip is
            # same-origin (the WHIP routes send no CORS headers).
            await page.route(page_url, publish_page)
            await page.goto(page_url)
            denied = await page.evaluate(
                "([url, token]) => publish(url, token)", [served.whip_url, "nope"])
            assert denied == {"status": 401}
            assert camera.resource_id is None
            result = await page.evaluate(
                "([url, token]) => publish(url, token)", [served.whip_url, TOKEN])
            assert result["status"] == 201
            assert result["location"] == f"/whip/{CAMERA}/{camera.resource_id}"
            await wait_for(lambda: rt.processed[CAMERA] >= 10, 30,
                           "Chromium's frames in the pipeline")
            assert camera.stats.connected and camera.stats.frames >= 10
            health = {h.camera_id: h for h in rt.health()}[CAMERA]
            assert health.processed >= 10 and health.stats.connected
        finally:
            with contextlib.suppress(Exception):
                await browser.close()
