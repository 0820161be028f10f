"""camera.rtsp against a real RTSP server (GStreamer's gst-rtsp-server on 127.0.0.1) (R1).

The server runs as its own process under Debian's /usr/bin/python3 (python3-gi is not in the
venv). apt: gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-base
gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-tools.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator

import pytest

from adapters.camera.rtsp import RtspCamera, with_credentials
from kernel import registry
from kernel.adapter_kit.redaction import redact
from kernel.protocols.adapter import AdapterContext
from kernel.testing.camera_contract import CameraContract, make_context
from tests.media_peers import RtspServer, free_port, gst_rtsp_missing

PASSWORD = "s3cr@t:pw"  # characters that need percent-encoding in a URL


@pytest.fixture(scope="module")
def gst_rtsp() -> None:
    reason = gst_rtsp_missing()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def shared_server(gst_rtsp: None) -> Iterator[RtspServer]:
    server = RtspServer(free_port())
    server.start()
    yield server
    server.kill()


@pytest.fixture
def own_server(gst_rtsp: None) -> Iterator[RtspServer]:
    server = RtspServer(free_port())
    server.start()
    yield server
    server.kill()


def test_r1_registered_as_camera_rtsp() -> None:
    assert registry.load("camera", "rtsp") is RtspCamera


def test_r1_redact_hides_passwords_in_urls_and_text() -> None:
    url = "rtsp://admin:p%40ss@10.0.0.5:554/live"
    assert redact(f"Connection refused: '{url}'") == (
        "Connection refused: 'rtsp://admin:***@10.0.0.5:554/live'"
    )
    assert redact("auth failed for p@ss, retry", ["p@ss"]) == "auth failed for ***, retry"
    assert with_credentials("rtsp://old:x@cam:554/s", "bob", "a:b@c") == (
        "rtsp://bob:a%3Ab%40c@cam:554/s"
    )
    assert with_credentials("rtsp://cam/s", None, None) == "rtsp://cam/s"


class TestRtspCameraContract(CameraContract):
    """R1: camera.rtsp keeps the camera seam's contract against a live server."""

    @pytest.fixture(autouse=True)
    def _server(self, shared_server: RtspServer) -> None:
        self.url = shared_server.url

    async def make_camera(self, context: AdapterContext) -> RtspCamera:
        return RtspCamera(RtspCamera.Config(url=self.url), context)


async def _frame_after(cam: RtspCamera, instant: float) -> None:
    """Read until a frame captured after ``instant`` (monotonic) arrives."""
    while (await cam.recv()).monotonic <= instant:
        pass


async def test_r1_reconnects_after_the_server_dies_mid_stream(
    own_server: RtspServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # Credentials from config; this server does not check them, but they travel in the URL
    # and show up in FFmpeg's error texts, which must come out redacted.
    cam = RtspCamera(
        RtspCamera.Config(
            url=own_server.url,
            username="operator",
            password=PASSWORD,
            backoff_initial=0.2,
            backoff_max=1.0,
            open_timeout=3.0,
            read_timeout=3.0,
        ),
        make_context("cam-rtsp"),
    )
    try:
        for _ in range(10):
            frame = await asyncio.wait_for(cam.recv(), 20)
        assert frame.image.shape == (360, 640, 3)
        assert cam.stats.connected and cam.stats.reconnects == 0

        own_server.kill()
        for _ in range(100):  # the reader notices the dead link and starts retrying
            if not cam.stats.connected and cam.stats.last_error:
                break
            await asyncio.sleep(0.1)
        assert not cam.stats.connected
        await asyncio.sleep(1.0)  # a few refused attempts while the server is down

        own_server.start()  # same port
        restarted = time.monotonic()
        await asyncio.wait_for(_frame_after(cam, restarted), 30)
        for _ in range(10):
            frame = await asyncio.wait_for(cam.recv(), 10)
        assert frame.monotonic > restarted
        assert cam.stats.reconnects >= 1
        assert cam.stats.connected
        assert cam.stats.last_error is not None
    finally:
        await cam.close()

    assert "operator:***@" in cam.safe_url
    texts = [caplog.text, cam.stats.last_error or "", cam.safe_url]
    for secret in (PASSWORD, "s3cr%40t%3Apw", "s3cr"):
        assert all(secret not in text for text in texts)
    assert "reconnecting" in caplog.text


async def test_r1_unreachable_camera_keeps_retrying_with_a_redacted_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"rtsp://viewer:{PASSWORD.replace('@', '%40')}@127.0.0.1:{free_port()}/stream"
    cam = RtspCamera(
        RtspCamera.Config(url=url, backoff_initial=0.05, backoff_max=0.1),
        make_context("cam-down"),
    )
    pending = asyncio.ensure_future(cam.recv())
    try:
        for _ in range(100):
            if cam.stats.last_error and "reconnecting" in caplog.text:
                break
            await asyncio.sleep(0.05)
        assert not pending.done()  # recv() waits while the camera retries by itself
        error = cam.stats.last_error or ""
        assert "Connection refused" in error and "viewer:***@" in error
        assert "s3cr" not in error and "s3cr" not in caplog.text
    finally:
        pending.cancel()
        await asyncio.wait_for(cam.close(), 2)


def test_r1_rejects_a_non_rtsp_url_without_echoing_the_password() -> None:
    with pytest.raises(ValueError, match=r"http://u:\*\*\*@cam") as info:
        RtspCamera(RtspCamera.Config(url="http://u:topsecret@cam/x"), make_context())
    assert "topsecret" not in str(info.value)


def test_r1_config_repr_hides_the_password() -> None:
    config = RtspCamera.Config(url="rtsp://u:inurl@cam/x", username="u", password="hunter2")
    for text in (repr(config), str(config), repr([config])):
        assert "hunter2" not in text and "inurl" not in text
        assert "password=***" in text and "u:***@cam" in text
    assert dict(config.__rich_repr__())["password"] == "***"
