"""The running process: cameras supervised, frames flowing, health visible, clean stop."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest

from kernel import config, registry
from kernel.frames import Frame
from kernel.protocols.camera import CameraClosed, CameraStats
from kernel.runtime import Runtime
from kernel.supervisor import TaskState
from tests.waiting import until

REPO = Path(__file__).resolve().parents[2]


class Ticker:
    class Config(msgspec.Struct):
        frames: int = 0  # 0 = forever
        crash_after: int = 0

    def __init__(self, cfg: Config, ctx: Any) -> None:
        self.cfg, self.ctx = cfg, ctx
        self.stats = CameraStats(connected=True)

    async def recv(self) -> Frame:
        await asyncio.sleep(0.002)
        if self.cfg.crash_after and self.stats.frames >= self.cfg.crash_after:
            raise ConnectionError("stream lost")
        if self.cfg.frames and self.stats.frames >= self.cfg.frames:
            raise CameraClosed
        self.stats.frames += 1
        return Frame(self.ctx.name, self.stats.frames, time.time(), time.monotonic(),
                     np.zeros((8, 8, 3), np.uint8))

    async def close(self) -> None:
        self.stats.connected = False


@pytest.fixture
def ticker() -> Iterator[None]:
    registry.register("camera", "test-ticker", Ticker)
    yield
    registry.unregister("camera", "test-ticker")


def make(tmp_path: Path, cameras: str) -> config.Config:
    text = (f'data_dir = "{tmp_path}"\n[supervision]\nrestart_initial = 0.01\n'
            f"restart_max = 0.05\n" + cameras)
    path = tmp_path / "c.toml"
    path.write_text(text)
    return config.load(path, environ={})


async def test_crashing_camera_restarts_other_keeps_producing(
    ticker: None, tmp_path: Path
) -> None:
    cfg = make(tmp_path, "[[cameras]]\nid='bad'\ntype='test-ticker'\ncrash_after=3\n"
                         "[[cameras]]\nid='good'\ntype='test-ticker'\n")
    rt = Runtime(cfg)
    await rt.start()

    def health_of(name: str) -> Any:
        return {h.camera_id: h for h in rt.health()}[name]

    await until(lambda: health_of("bad").task.restarts >= 3 and rt.processed["good"] > 0,
                what="the bad camera restarted 3 times while the good one produced")
    health = {h.camera_id: h for h in rt.health()}
    assert health["bad"].task.restarts >= 3
    assert health["bad"].task.last_error == "ConnectionError: stream lost"
    assert health["good"].task.state == TaskState.RUNNING
    assert health["good"].task.restarts == 0
    before = rt.processed["good"]
    await until(lambda: rt.processed["good"] > before, what="the good camera keeps producing")
    await rt.stop()


async def test_stop_leaves_no_task_or_thread(ticker: None, tmp_path: Path) -> None:
    cfg = make(tmp_path, "[[cameras]]\nid='a'\ntype='test-ticker'\n")
    rt = Runtime(cfg)

    async def cpu_work() -> int:
        return await rt.executor.run(sum, range(1000))

    await rt.start()
    assert await cpu_work() == 499500
    await asyncio.sleep(0.05)
    await rt.stop()
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert others == []
    assert not [t for t in threading.enumerate() if t.name.startswith("pinchpoint-cpu")]
    assert rt.health()[0].task.state == TaskState.STOPPED


async def test_camera_that_ends_is_not_restarted(ticker: None, tmp_path: Path) -> None:
    cfg = make(tmp_path, "[[cameras]]\nid='once'\ntype='test-ticker'\nframes=5\n")
    rt = Runtime(cfg)
    await rt.start()
    await until(lambda: rt.health()[0].task.state == TaskState.FINISHED and rt.settled(),
                what="the camera finished and its frames were taken")
    h = rt.health()[0]
    assert h.task.state == TaskState.FINISHED
    assert h.processed + h.dropped == 5
    await rt.stop()


def test_missing_models_end_the_process_with_exit_3_not_a_hang(tmp_path: Path) -> None:
    """issue 12, finding 8: with the models missing, ``pinchpoint run`` printed its error and
    then hung until killed (the store's connection thread outlived the failed start). Now it
    stops what it opened and exits 3 (models) with one readable line, no traceback."""
    (tmp_path / "empty").mkdir()
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "var"}"\n[engine]\ntype = "onnx"\n'
                   f'models_dir = "{tmp_path / "empty"}"\n[store]\ntype = "sqlite"\n')
    proc = subprocess.run([sys.executable, "-m", "kernel.cli.main", "run", "--config",
                           str(cfg), "--for", "60"], capture_output=True, text=True,
                          timeout=50, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 3, proc.stderr
    assert "model file" in proc.stderr and "missing" in proc.stderr
    assert "Traceback" not in proc.stderr
