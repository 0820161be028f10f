"""Refresh the README's screenshots (docs/screenshots/*.png) from the real app.

Runs the PWA's browser test that visits every screen, against a real runtime on a generated
clip, with ``PP_DOC_SCREENSHOTS=1``: ``officer-alert.png`` and ``operator-console.png`` are
written as palette PNGs (< 300 KB). Every screen also lands in ``tests/artifacts/``.

    python scripts/screenshots.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    env = {**os.environ, "PP_DOC_SCREENSHOTS": "1"}
    test = "tests/pwa/test_pwa_e2e.py::test_r5_confirmed_alert_reaches_officer_rejected_never"
    return subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:warnings", test],
                           cwd=REPO, env=env)


if __name__ == "__main__":
    sys.exit(main())
