"""What the integration tests share: a walk-past clip, a live deployment, a real RTSP server,
free ports, and the skip reasons for tools that come from apt rather than the venv.

Imported by the test modules of this directory (pytest puts it on ``sys.path``); the fixtures
built on it are in ``conftest.py``.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from adapters.engine.onnx import OnnxEngine, OnnxEngineConfig
from demo.scenario import live_deployment, walkpast_clip
from kernel.config import Config
from kernel.config import load as load_config
from kernel.domain.governance import Governance
from kernel.protocols.engine import FaceEngine
from kernel.testing.camera_contract import make_context
from tests.media_peers import REPO, RtspServer, free_port, gst_rtsp_missing

__all__ = ["REPO", "RtspServer", "free_port", "gst_rtsp_missing"]

CHROMIUM = "/usr/bin/chromium"

WATCHED = "obama.jpg"
"""The enrolment photo on the watch list; the walker ``obama2.jpg`` is the same person."""

WALKERS = ("obama2.jpg", "biden.jpg")
"""Who walks past in the clip: the listed person and a stranger."""


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
    return await live_deployment(gov, engine, photos, name="integration", threshold=0.93)


async def wait_for(condition: Callable[[], bool], timeout: float, what: str,
                   every: float = 0.1) -> None:
    """Poll ``condition`` until true; AssertionError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(every)


def chromium_missing() -> str | None:
    """Why headless Chromium cannot be driven here, or None when it can."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        return "chromium is not installed (apt-get install -y chromium)"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed (pip install playwright)"
    return None


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
