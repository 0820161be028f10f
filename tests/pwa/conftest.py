"""Fixtures of the PWA browser tests: a real runtime serving the PWA, and Debian's Chromium
driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pwa.live_runtime import LiveRuntime

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture(scope="module")
def live(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveRuntime]:
    runtime = LiveRuntime(tmp_path_factory.mktemp("pwa"), models_dir)
    try:
        yield runtime
    finally:
        runtime.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium from Debian with a fresh profile per context (``launch`` uses a temp dir)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.is_file() or shutil.which(str(CHROMIUM)) is None:
        pytest.skip("no /usr/bin/chromium (apt-get install -y chromium); "
                    "the tests never download a browser")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
