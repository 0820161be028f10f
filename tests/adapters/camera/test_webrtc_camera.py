"""camera.webrtc: WHIP ingest over real HTTP (Litestar + uvicorn on 127.0.0.1), fed by an aiortc
peer and by headless Chromium (R1).

ICE connects over the machine's own non-loopback address (aioice leaves loopback out).
Chromium: `apt-get install -y chromium`; Python `playwright` drives /usr/bin/chromium (no
browser download).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from aiortc import RTCPeerConnection
from litestar import Litestar, MediaType, get

from adapters.camera import whip
from adapters.camera.webrtc import WebRtcCamera
from adapters.camera.whip_routes import whip_router
from demo.clip import demo_frames, read_demo_index, write_clip
from kernel import registry
from kernel.frames import Frame
from kernel.protocols.camera import CameraClosed, CameraSource
from kernel.testing.camera_contract import make_context
from tests.media_peers import PUBLISH_PAGE, Publisher

TOKEN = "correct-horse-battery-staple"
CAMERA = "cam-whip"
CHROMIUM = "/usr/bin/chromium"



@get("/publish", media_type=MediaType.HTML)
async def publish_page() -> str:
    return PUBLISH_PAGE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    """The WHIP routes (and a publisher page) on uvicorn, in the test's own event loop."""
    app = Litestar(route_handlers=[whip_router(), publish_page])
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await asyncio.wait_for(task, 10)


@pytest.fixture
async def camera() -> AsyncIterator[WebRtcCamera]:
    cam = WebRtcCamera(WebRtcCamera.Config(token=TOKEN), make_context(CAMERA))
    yield cam
    await cam.close()


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("whip") / "shapes.mp4"
    write_clip(path, demo_frames(150, 320, 240), fps=30)
    return path


@pytest.fixture
async def publishers(clip: Path) -> AsyncIterator[list[Publisher]]:
    made: list[Publisher] = []
    yield made
    for publisher in made:
        await publisher.close()


async def frames(cam: WebRtcCamera, n: int) -> list[Frame]:
    """The next ``n`` frames, or a timeout error after 30 s."""

    async def read() -> list[Frame]:
        return [await cam.recv() for _ in range(n)]

    return await asyncio.wait_for(read(), 30)


def test_r1_registered_as_camera_webrtc() -> None:
    assert registry.load("camera", "webrtc") is WebRtcCamera


async def test_r1_camera_is_a_source_and_in_the_whip_registry(camera: WebRtcCamera) -> None:
    assert isinstance(camera, CameraSource)
    assert whip.lookup(CAMERA) is camera
    await camera.close()
    assert whip.lookup(CAMERA) is None
    with pytest.raises(CameraClosed):
        await camera.recv()


async def test_r1_aiortc_publisher_over_whip_http(
    base_url: str, camera: WebRtcCamera, clip: Path, publishers: list[Publisher]
) -> None:
    url = f"{base_url}/whip/{CAMERA}"
    async with httpx.AsyncClient(timeout=20) as client:
        # Wrong token: 401 with a Bearer challenge, nothing connects.
        intruder = Publisher(clip)
        publishers.append(intruder)
        refused = await intruder.post(client, url, token="wrong")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        assert camera.resource_id is None
        # WHIP offers are application/sdp; anything else is 415.
        wrong_type = await client.post(
            url,
            content="v=0",
            headers={"Content-Type": "text/plain", "Authorization": f"Bearer {TOKEN}"},
        )
        assert wrong_type.status_code == 415
        # No such camera.
        nowhere = await client.post(
            f"{base_url}/whip/nope",
            content="v=0",
            headers={"Content-Type": "application/sdp", "Authorization": f"Bearer {TOKEN}"},
        )
        assert nowhere.status_code == 404
        # Not an offer at all.
        garbage = await client.post(
            url,
            content="this is not sdp\r\n",
            headers={"Content-Type": "application/sdp", "Authorization": f"Bearer {TOKEN}"},
        )
        assert garbage.status_code == 400

        publisher = Publisher(clip)
        publishers.append(publisher)
        accepted = await publisher.post(client, url, TOKEN)
        assert accepted.status_code == 201
        assert accepted.headers["content-type"].startswith("application/sdp")
        location = accepted.headers["location"]
        assert location == f"/whip/{CAMERA}/{camera.resource_id}"

        got = await frames(camera, 15)
        assert all(f.camera_id == CAMERA and f.image.shape == (240, 320, 3) for f in got)
        assert [f.seq for f in got] == sorted({f.seq for f in got})
        # The clip's own frame numbers survive VP8 and arrive in order (the player loops at 150).
        numbers = [read_demo_index(f.image) for f in got]
        assert all(0 <= n < 150 for n in numbers)
        assert sum(b < a for a, b in itertools.pairwise(numbers)) <= 1
        assert camera.stats.connected and camera.stats.frames == 15

        # PATCH (trickle ICE) is not offered.
        patch = await client.patch(f"{base_url}{location}", content="a=end-of-candidates")
        assert patch.status_code == 405
        # DELETE needs the token too, then ends the session.
        unauthorised = await client.delete(f"{base_url}{location}")
        assert unauthorised.status_code == 401
        ended = await client.delete(
            f"{base_url}{location}", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert ended.status_code == 200
        assert camera.resource_id is None and not camera.stats.connected
        again = await client.delete(
            f"{base_url}{location}", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert again.status_code == 404


async def test_r1_a_new_publisher_replaces_the_old_one(
    base_url: str, camera: WebRtcCamera, clip: Path, publishers: list[Publisher]
) -> None:
    url = f"{base_url}/whip/{CAMERA}"
    async with httpx.AsyncClient(timeout=20) as client:
        first = Publisher(clip)
        publishers.append(first)
        assert (await first.post(client, url, TOKEN)).status_code == 201
        first_id = camera.resource_id
        await frames(camera, 3)

        second = Publisher(clip)
        publishers.append(second)
        assert (await second.post(client, url, TOKEN)).status_code == 201
        assert camera.resource_id not in (None, first_id)
        await frames(camera, 3)
        stale = await client.delete(
            f"{base_url}/whip/{CAMERA}/{first_id}", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert stale.status_code == 404


async def test_r1_offer_without_video_is_refused(camera: WebRtcCamera) -> None:
    sender = RTCPeerConnection()
    try:
        sender.addTransceiver("audio", direction="sendonly")
        await sender.setLocalDescription(await sender.createOffer())
        with pytest.raises(whip.WhipBadOffer):
            await camera.offer(sender.localDescription.sdp, TOKEN)
        with pytest.raises(whip.WhipUnauthorized):
            await camera.offer(sender.localDescription.sdp, None)
    finally:
        await sender.close()


def _chromium_missing() -> str | None:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        return "chromium is not installed (apt-get install -y chromium)"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed (pip install playwright)"
    return None


async def test_r1_headless_chromium_publishes_over_whip(
    base_url: str, camera: WebRtcCamera, tmp_path: Path
) -> None:
    reason = _chromium_missing()
    if reason:
        pytest.skip(reason)
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
            ],
        )
        try:
            page = browser.pages[0] if browser.pages else await browser.new_page()
            await page.goto(f"{base_url}/publish")
            denied = await page.evaluate(
                "([url, token]) => publish(url, token)", [f"{base_url}/whip/{CAMERA}", "nope"]
            )
            assert denied == {"status": 401}
            result = await page.evaluate(
                "([url, token]) => publish(url, token)", [f"{base_url}/whip/{CAMERA}", TOKEN]
            )
            assert result["status"] == 201
            assert result["location"] == f"/whip/{CAMERA}/{camera.resource_id}"
            got = await frames(camera, 10)
            assert got[-1].image.shape == (480, 640, 3)
            assert camera.stats.connected
        finally:
            with contextlib.suppress(Exception):
                await browser.close()


def test_r1_config_repr_hides_the_token() -> None:
    config = WebRtcCamera.Config(token=TOKEN, max_width=640)
    assert TOKEN not in repr(config) and "token=***" in repr(config)
    assert dict(config.__rich_repr__())["token"] == "***"


def test_whip_routes_reach_the_http_service_through_the_routes_hook() -> None:
    """mobile_api imports no adapter: camera.webrtc's WHIP endpoint is registered through the
    ``pinchpoint.http_routes`` entry-point group, which the HTTP service mounts."""
    from litestar import Router

    from kernel import registry

    routers = [r for r in registry.http_routes() if isinstance(r, Router)]
    assert [r.path for r in routers] == ["/whip"]
