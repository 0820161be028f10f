"""Fixtures of the PWA browser tests: a real runtime serving the PWA, and Debian's Chromium
driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
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


class CspWatchedBrowser:
    """The Playwright browser, with every page of every context it opens watched for
    Content-Security-Policy violations (Chromium reports each as a console error): a PWA
    change that needs inline script, a foreign origin or ``eval`` fails its test instead of
    silently breaking under the server's CSP (issue 12)."""

    def __init__(self, browser: Any) -> None:
        self._browser = browser
        self.violations: list[str] = []

    def new_context(self, *args: Any, **kwargs: Any) -> Any:
        context = self._browser.new_context(*args, **kwargs)
        context.on("page", self._watch)
        return context

    def _watch(self, page: Any) -> None:
        def console(message: Any) -> None:
            if "Content Security Policy" in message.text:
                self.violations.append(f"{page.url}: {message.text}")

        page.on("console", console)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)


def launched_chromium(extra_args: Sequence[str] = ()) -> Iterator[CspWatchedBrowser]:
    """The body of a ``browser`` fixture (``yield from`` it): Debian's Chromium with
    :data:`CHROMIUM_ARGS` and ``extra_args``, watched for CSP violations; skips when Playwright
    or the browser is missing."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.is_file() or shutil.which(str(CHROMIUM)) is None:
        pytest.skip("no /usr/bin/chromium (apt-get install -y chromium); "
                    "the tests never download a browser")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                              args=[*CHROMIUM_ARGS, *extra_args])
        try:
            yield CspWatchedBrowser(b)
        finally:
            b.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[CspWatchedBrowser]:
    """Chromium from Debian with a fresh profile per context (``launch`` uses a temp dir),
    watched for CSP violations (:class:`CspWatchedBrowser`; checked after each test)."""
    yield from launched_chromium()


@pytest.fixture(autouse=True)
def no_csp_violations(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a browser test whose pages violated the Content-Security-Policy."""
    if "browser" not in request.fixturenames:
        yield
        return
    watched: CspWatchedBrowser = request.getfixturevalue("browser")
    before = len(watched.violations)
    yield
    new = watched.violations[before:]
    assert not new, "CSP violations in the browser console:\n" + "\n".join(new)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
