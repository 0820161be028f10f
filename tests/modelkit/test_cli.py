"""``pinchpoint models build|verify`` through its registered argparse group (R1: offline)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from adapters.engine.model_store import RESNET_NAME
from kernel.errors import ModelError
from modelkit import cli as models_cli
from modelkit import dlib_reference


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="pinchpoint")
    models_cli.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_defaults() -> None:
    args = _parse(["models", "build"])
    assert args.models_dir == Path("var/models") and not args.force and not args.check_dlib
    assert _parse(["models", "verify"]).models_dir == Path("var/models")


def test_build_then_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    args = _parse(["models", "build", "--models-dir", str(store), "--force"])
    assert args.handler(args) == 0
    args = _parse(["models", "verify", "--models-dir", str(store)])
    assert args.handler(args) == 0
    assert "all files match" in capsys.readouterr().out
    (store / RESNET_NAME).write_bytes(b"damaged")
    with pytest.raises(ModelError, match=RESNET_NAME):
        args.handler(args)


def test_check_dlib(tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not dlib_reference.dlib_available():
        pytest.skip("dlib is not installed (pip install dlib-bin)")
    args = _parse(["models", "build", "--models-dir", str(tmp_path), "--check-dlib",
                   "--photos", str(shared_data / "public-domain")])
    assert args.handler(args) == 0
    assert ": OK" in capsys.readouterr().out
