"""Typed config: a working default, errors that name key, expected type and value found."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kernel import config
from kernel.errors import ConfigError
from tests.cli_inprocess import pinchpoint

MINIMAL = """
data_dir = "var"
[server]
port = 8080
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


def test_shipped_default_config_is_valid(repo_root: Path) -> None:
    cfg = config.load(repo_root / "config.toml", environ={})
    assert cfg.cameras and cfg.cameras[0].type == "file"
    assert cfg.data_dir == (repo_root / "var").resolve()


def test_minimal_config_takes_defaults(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, MINIMAL), environ={})
    assert cfg.server.port == 8080
    assert cfg.pipeline.workers == 2
    assert cfg.cameras == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[server]\nport = "abc"\n',
         "config key server.port: Expected `int`, got `str`; found 'abc'"),
        ("[pipeline]\nworkerz = 2\n", "config key pipeline.workerz: unknown key"),
        ('[logging]\nformat = "xml"\n', "config key logging.format"),
        ("[[cameras]]\nid = 'a'\n", "config key cameras[0].type: expected `str` naming a camera"),
        ("[[cameras]]\nid = 'a'\ntype = 'nope'\n", "no camera adapter named 'nope'"),
        ("colour = 3\n", "config key colour: unknown section"),
        ("[pipeline\n", "is not valid TOML"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        config.load(write(tmp_path, text), environ={})
    assert expected in str(info.value)


def test_adapter_settings_are_typed_by_the_adapter(tmp_path: Path) -> None:
    text = "[[cameras]]\nid = 'a'\ntype = 'file'\npath = 'x.mp4'\nloop = 'often'\n"
    with pytest.raises(ConfigError) as info:
        config.load(write(tmp_path, text), environ={})
    assert "cameras[0].loop" in str(info.value)
    assert "'often'" in str(info.value)


def test_environment_overrides_secrets_and_list_entries(tmp_path: Path) -> None:
    text = MINIMAL + "[[cameras]]\nid = 'gate-1'\ntype = 'file'\npath = 'a.mp4'\n"
    cfg = config.load(
        write(tmp_path, text),
        environ={"PINCHPOINT_SERVER__PORT": "9443", "PINCHPOINT_CAMERAS__GATE_1__PATH": "b.mp4",
                 "PINCHPOINT_UNRELATED": "x"},
    )
    assert cfg.server.port == 9443
    assert cfg.cameras[0].settings.path == "b.mp4"


def test_cli_exit_code_2_and_message(tmp_path: Path) -> None:
    path = write(tmp_path, '[server]\nport = "abc"\n')
    done = subprocess.run(
        [sys.executable, "-m", "kernel.cli.main", "config", "check", str(path)],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 2
    assert "server.port" in done.stderr and "'abc'" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_config_check_succeeds_on_default(repo_root: Path) -> None:
    done = pinchpoint(["config", "check", "config.toml"], repo_root)  # tests/cli_inprocess.py
    assert done.returncode == 0, done.stderr
    assert "OK" in done.stdout
