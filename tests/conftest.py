"""Fixtures shared by the whole suite."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's read-only test data (../shared/data); tests skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"test data not found at {SHARED_DATA} (only on the project's machines)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def public_domain_faces() -> Path:
    """Public-domain photos shipped with the repo (copied from ../shared/data/public-domain)."""
    path = REPO / "demo" / "faces"
    if not (path / "obama.jpg").is_file():
        pytest.skip("demo faces not in the repo yet")
    return path


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The face models, converted once per test session from their registry packages."""
    from modelkit.build import build_models

    path = tmp_path_factory.mktemp("models")
    build_models(path)
    return path


@pytest.fixture(scope="session")
def shared_data_optional() -> Path | None:
    """../shared/data when present, else None: for tests that only get richer with it."""
    return SHARED_DATA if SHARED_DATA.is_dir() else None


@pytest.fixture(autouse=True)
def _logger_levels_put_back() -> Iterator[None]:
    """Every test leaves the root and ``pinchpoint`` loggers' levels as it found them: code
    run in the test's process (a bench's ``run``, a CLI command) may set them, and a level
    left at error once hid every later test's warnings from ``caplog`` (6 failures in one
    fresh-clone run, 2026-12-02)."""
    loggers = [logging.getLogger(), logging.getLogger("pinchpoint")]
    levels = [lg.level for lg in loggers]
    yield
    for lg, level in zip(loggers, levels, strict=True):
        lg.setLevel(level)
