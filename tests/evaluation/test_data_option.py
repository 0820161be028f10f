"""The tools' data folder is a setting (``--data``, ``$PINCHPOINT_DATA``, default ``./data``),
never a path next to the repo: no shipped module names ``../shared``."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from kernel.cli.common import DATA_ENV, DEFAULT_DATA, data_root

REPO = Path(__file__).resolve().parents[2]
SHIPPED = ("kernel", "adapters", "mobile_api", "evaluation", "demo", "modelkit")


def _parser() -> argparse.ArgumentParser:
    from demo.command import register as demo
    from evaluation.cli import register as evaluation
    from modelkit.cli import register as models

    parser = argparse.ArgumentParser(prog="pinchpoint")
    sub = parser.add_subparsers(dest="command")
    for register in (evaluation, demo, models):
        register(sub)
    return parser


def test_default_is_dot_data_and_the_environment_overrides_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(DATA_ENV, raising=False)
    assert data_root() == DEFAULT_DATA == Path("data")
    assert _parser().parse_args(["eval", "split-cfp", "--out", "x"]).data == Path("data")
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    parser = _parser()
    assert parser.parse_args(["eval", "lfw"]).data == tmp_path / "lfw150"
    assert parser.parse_args(["eval", "split-lfw", "--out", "x"]).data == tmp_path
    assert parser.parse_args(["eval", "make-walkpast", "--source", "cfp"]).data == tmp_path
    assert parser.parse_args(["demo"]).data == tmp_path
    assert parser.parse_args(["demo", "--data", "/d"]).data == Path("/d")


def test_no_shipped_module_names_the_shared_folder() -> None:
    pattern = re.compile(r"""\.\./shared|["']shared["']\s*/\s*["']data["']""")
    offenders = [
        str(path.relative_to(REPO))
        for package in SHIPPED
        for path in (REPO / package).rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
