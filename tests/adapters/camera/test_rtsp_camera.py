"""camera.rtsp against a real RTSP server (GStreamer's gst-rtsp-server on 127.0.0.1) (R1).

The server runs as its own process under Debian's /usr/bin/python3 (python3-gi is not in the
venv). apt: gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-base
gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-tools.
"""

from __future__ import annotations

import asyncio
import logging
import select
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.camera.redaction import redact
from adapters.camera.rtsp import RtspCamera, with_credentials
from kernel import registry
from kernel.protocols.adapter import AdapterContext
from kernel.testing.camera_contract import CameraContract, make_context

REPO = Path(__file__).resolve().parents[3]
SERVER = REPO / "scripts" / "rtsp_server.py"
SYSTEM_PYTHON = "/usr/bin/python3"
PASSWORD = "s3cr@t:pw"  # characters that need percent-encoding in a URL


def _gst_rtsp_missing() -> str | None:
    probe = (
        "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0');"
        "from gi.repository import Gst; Gst.init(None);"
        "assert Gst.ElementFactory.find('x264enc') and Gst.ElementFactory.find('rtph264pay')"
    )
    try:
        done = subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{SYSTEM_PYTHON} unusable: {exc}"
    if done.returncode != 0:
        return (
            "GStreamer's RTSP server is not installed (apt-get install -y --no-install-recommends "
            "gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-base "
            "gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly): "
            + done.stderr.decode(errors="replace").strip().splitlines()[-1]
        )
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RtspServer:
    """scripts/rtsp_server.py as a subprocess serving a live 640×360 25 fps test pattern."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"rtsp://127.0.0.1:{port}/stream"
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(SERVER), "--port", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.proc = proc
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        line = proc.stdout.readline() if ready else ""
        if not line.startswith("READY"):
            self.kill()
            raise RuntimeError(f"RTSP server did not start: {line!r}")

    def kill(self) -> None:
        """SIGKILL: the server vanishes mid-stream, as a camera losing power would."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(5)
            for pipe in (self.proc.stdout, self.proc.stderr):
                if pipe is not None:
                    pipe.close()
            self.proc = None


@pytest.fixture(scope="module")
def gst_rtsp() -> None:
    reason = _gst_rtsp_missing()
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
