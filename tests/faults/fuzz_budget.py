"""How long the fuzz targets of the fault suite run: bounded in ``make test``, long in
``make fuzz`` (``PINCHPOINT_FUZZ=long``).

- ``ci`` (default): few examples, derandomized: ``make test`` runs the same examples every
  time (a fuzz failure in CI is a regression, not the luck of a seed) and no example database
  is written into the checkout; the whole fuzz part stays within about 30 s here.
- ``long``: many examples, random each run, failures kept in ``var/hypothesis`` (ignored by
  git) so the next run replays them first.

Each target passes its CI example count; the long profile multiplies it.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

ENV = "PINCHPOINT_FUZZ"
LONG = os.environ.get(ENV) == "long"
LONG_FACTOR = 50
REPO = Path(__file__).resolve().parents[2]


def fuzz(examples: int) -> settings:
    """Settings for one fuzz target: ``examples`` in CI, ``LONG_FACTOR`` times that when long."""
    common = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow,
                                                          HealthCheck.function_scoped_fixture]}
    if LONG:
        return settings(max_examples=examples * LONG_FACTOR, derandomize=False,
                        database=DirectoryBasedExampleDatabase(REPO / "var" / "hypothesis"),
                        **common)  # type: ignore[arg-type]
    return settings(max_examples=examples, derandomize=True, database=None,
                    **common)  # type: ignore[arg-type]
