"""Adapters are found by name through entry points; an integrator's package adds one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kernel import registry
from kernel.errors import AdapterNotFound

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
