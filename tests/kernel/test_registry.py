"""Adapters are found by name through entry points; an integrator's package adds one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import msgspec
import pytest

from kernel import config as config_module
from kernel import registry
from kernel.config import Config
from kernel.errors import AdapterNotFound, ConfigError
from kernel.runtime import Runtime

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def thirdparty_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build and install the throwaway adapter package into its own directory."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(HERE / "thirdparty_pkg")],
        check=True, capture_output=True,
    )
    return target


def run_pinchpoint(args: list[str], site: Path, cwd: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(site))
    return subprocess.Popen(
        [sys.executable, "-m", "kernel.cli.main", *args],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_unknown_adapter_lists_alternatives() -> None:
    with pytest.raises(AdapterNotFound) as info:
        registry.load("camera", "no-such-camera")
    assert "available:" in str(info.value)


def test_thirdparty_adapter_is_discovered_and_run_by_name(
    thirdparty_site: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "ran.txt"
    config = tmp_path / "c.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "var"}"\n[[cameras]]\nid = "integrator-cam"\n'
        f'type = "ticker"\nmarker = "{marker}"\n'
    )
    listed = run_pinchpoint(["adapters", "camera"], thirdparty_site, tmp_path)
    out, _ = listed.communicate(timeout=60)
    assert "camera.ticker" in out.split()
    proc = run_pinchpoint(["run", "--config", str(config), "--for", "3"], thirdparty_site,
                          tmp_path)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert marker.read_text() == "integrator-cam"


def test_sigterm_stops_cleanly_within_5s(thirdparty_site: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran.txt"
    config = tmp_path / "c.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "var"}"\n[[cameras]]\nid = "a"\ntype = "ticker"\n'
        f'marker = "{marker}"\n[[cameras]]\nid = "b"\ntype = "ticker"\n'
    )
    proc = run_pinchpoint(["run", "--config", str(config)], thirdparty_site, tmp_path)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "pinchpoint run never produced frames"
        time.sleep(0.1)
    proc.terminate()
    start = time.monotonic()
    _, err = proc.communicate(timeout=10)
    stopped_in = time.monotonic() - start
    assert proc.returncode == 0, err
    assert stopped_in < 5.0
    assert "pinchpoint stopped" in err
    assert "did not stop" not in err


def load_config_text(text: str) -> Config:
    return config_module.parse(tomllib.loads(text))


class _HalfACamera:
    """An integrator's camera that forgot ``close`` (and its stats)."""

    class Config(msgspec.Struct):
        pass

    def __init__(self, config: object, context: object) -> None:
        pass

    async def recv(self) -> None: ...


def test_an_adapter_missing_a_seam_method_is_refused_at_build_naming_it(tmp_path: Path) -> None:
    """issue 11: capabilities are declared by the seam, checked once at start-up; a class that
    lacks one is named with what it lacks instead of failing on its first frame."""
    registry.register("camera", "half", _HalfACamera)
    try:
        cfg = load_config_text(f'data_dir = "{tmp_path}"\n[[cameras]]\nid = "c1"\n'
                               'type = "half"\n')
        with pytest.raises(ConfigError) as info:
            Runtime(cfg).build_camera(cfg.cameras[0])
        message = str(info.value)
        assert "does not implement CameraSource" in message
        assert "close" in message and "stats" in message and "recv" not in message
    finally:
        registry.unregister("camera", "half")


def test_a_section_is_built_only_as_its_own_kind(tmp_path: Path) -> None:
    """A camera section handed to the engine builder (a wiring bug) is refused by name."""
    cfg = load_config_text(f'data_dir = "{tmp_path}"\n[[cameras]]\nid = "c1"\ntype = "file"\n'
                           'path = "x.mp4"\n')
    with pytest.raises(ConfigError, match="configures a camera adapter, not the engine"):
        Runtime(cfg).build_engine(cfg.cameras[0])
