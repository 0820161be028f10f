"""Fixtures shared by the whole suite."""

from __future__ import annotations

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
    path = REPO / "adapters" / "camera" / "demo_faces"
    if not (path / "obama.jpg").is_file():
        pytest.skip("demo faces not in the repo yet")
    return path
