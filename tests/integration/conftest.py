"""Fixtures of the integration tests: the real engine to compose walk-past clips with, and
skips for the apt-installed tools (GStreamer's RTSP server, Chromium)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipeline_rig import chromium_missing, gst_rtsp_missing, make_engine

from adapters.engine.onnx import OnnxEngine


@pytest.fixture(scope="module")
def clip_engine(models_dir: Path) -> OnnxEngine:
    """An engine outside any runtime: finds the faces to cut the walk-past sprites from."""
    return make_engine(models_dir)


@pytest.fixture(scope="module")
def gst_rtsp() -> None:
    """Skips the test when GStreamer's RTSP server is not installed."""
    reason = gst_rtsp_missing()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> None:
    """Skips the test when headless Chromium (or playwright) is not installed."""
    reason = chromium_missing()
    if reason:
        pytest.skip(reason)
