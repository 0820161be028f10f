"""Refresh the README's screenshots (docs/screenshots/*.png) from the real app.

Runs the PWA's browser tests that visit the README's screens, against a real runtime on a
generated clip, with ``PP_DOC_SCREENSHOTS=1``: ``officer-alert.png``, ``operator-console.png``,
``console-episode.png``, ``camera-placement.png`` and ``published-record.png`` are written as
palette PNGs (< 300 KB). Every screen also lands in ``tests/artifacts/``.

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
    tests = [
        "tests/pwa/test_pwa_e2e.py::test_r5_confirmed_alert_reaches_officer_rejected_never",
        "tests/pwa/test_pwa_episodes.py::"
        "test_one_episode_three_sightings_one_alert_then_seen_again_after_confirm",
        "tests/pwa/test_pwa_placement_bluelist.py::"
        "test_placement_view_shows_boxes_and_widths_then_r3_scan_finds_nothing",
        "tests/pwa/test_pwa_admin.py::"
        "test_issue15_r20_published_record_page_shows_the_apis_figures_and_prints",
    ]
    return subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:warnings", *tests],
                           cwd=REPO, env=env)


if __name__ == "__main__":
    sys.exit(main())
