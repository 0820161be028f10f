"""What the integration tests share: a walk-past clip, a live deployment, a real RTSP server,
free ports, and the skip reasons for tools that come from apt rather than the venv.

Imported by the test modules of this directory (pytest puts it on ``sys.path``); the fixtures
built on it are in ``conftest.py``.
"""

from __future__ import annotations

import asyncio
import select
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from adapters.demo.scenario import live_deployment, walkpast_clip
from adapters.engine.onnx import OnnxEngine, OnnxEngineConfig
from kernel.config import Config
from kernel.config import load as load_config
from kernel.domain.governance import Governance
from kernel.protocols.engine import FaceEngine
from kernel.testing.camera_contract import make_context

REPO = Path(__file__).resolve().parents[2]
RTSP_SERVER_SCRIPT = REPO / "scripts" / "rtsp_server.py"
SYSTEM_PYTHON = "/usr/bin/python3"
CHROMIUM = "/usr/bin/chromium"

WATCHED = "obama.jpg"
"""The enrolment photo on the watch list; the walker ``obama2.jpg`` is the same person."""

WALKERS = ("obama2.jpg", "biden.jpg")
"""Who walks past in the clip: the listed person and a stranger."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_engine(models_dir: Path) -> OnnxEngine:
    """The default engine on ``models_dir``, outside any runtime (to compose clips)."""
    return OnnxEngine(OnnxEngineConfig(models_dir=str(models_dir)), make_context("clip-maker"))


def make_walkpast_clip(
    path: Path,
    engine: OnnxEngine,
    walkers: Sequence[str] = WALKERS,
    *,
    passes: int = 1,
    fps: int = 15,
    width: int = 640,
    height: int = 360,
    tail_s: float = 0.3,
) -> Path:
    """An H.264 MP4 of ``walkers`` walking towards the camera, ``passes`` times over (one key
    frame a second, so a reader joining mid-stream decodes at once)."""
    walkpast_clip(path, engine, walkers, passes=passes, fps=fps, width=width, height=height,
                  tail_s=tail_s)
    return path


async def go_live(gov: Governance, engine: FaceEngine, photos: Sequence[str] = (WATCHED,)) -> str:
    """A live deployment with ``photos`` on its watch list. These tests are about transport
    and reconnection, not calibration: the threshold sits well between the walkers' scores
    (≈0.95–0.97 listed, ≈0.82 not)."""
    return await live_deployment(gov, engine, photos, name="integration", threshold=0.9)


async def wait_for(condition: Callable[[], bool], timeout: float, what: str,
                   every: float = 0.1) -> None:
    """Poll ``condition`` until true; AssertionError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(every)


def gst_rtsp_missing() -> str | None:
    """Why GStreamer's RTSP server cannot run here, or None when it can."""
    probe = (
        "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0');"
        "from gi.repository import Gst; Gst.init(None);"
        "assert Gst.ElementFactory.find('qtdemux') and Gst.ElementFactory.find('rtph264pay')"
    )
    try:
        done = subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{SYSTEM_PYTHON} unusable: {exc}"
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines() or ["?"]
        return (
            "GStreamer's RTSP server is not installed (apt-get install -y --no-install-recommends "
            "gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-base "
            "gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly): " + lines[-1]
        )
    return None


def chromium_missing() -> str | None:
    """Why headless Chromium cannot be driven here, or None when it can."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        return "chromium is not installed (apt-get install -y chromium)"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed (pip install playwright)"
    return None


class RtspServer:
    """scripts/rtsp_server.py as a subprocess (GStreamer), serving ``clip`` as it is (no
    re-encode) at its own pace; each client that connects gets it from the start."""

    def __init__(self, port: int, clip: Path) -> None:
        self.port = port
        self.clip = clip
        self.url = f"rtsp://127.0.0.1:{port}/stream"
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        """Start and wait until it listens (it prints ``READY``)."""
        proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(RTSP_SERVER_SCRIPT), "--port", str(self.port),
             "--file", str(self.clip)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
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


def runtime_config(tmp: Path, models_dir: Path, sections: str) -> Config:
    """A runtime config under ``tmp``: the real engine and SQLite store, matching refreshed
    often and repeats allowed after a second (so a second pass raises again), plus
    ``sections`` (cameras, services) as TOML."""
    text = f"""
data_dir = "{tmp / 'var'}"
[pipeline]
workers = 2
[engine]
type = "onnx"
models_dir = "{models_dir}"
[store]
type = "sqlite"
[matching]
refresh_s = 0.2
[matching.tracker]
repeat_s = 1.0
{sections}
"""
    path = tmp / "config.toml"
    path.write_text(text)
    return load_config(path, environ={})
