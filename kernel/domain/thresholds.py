"""The invariants of every setting that decides who is matched (R3, R22): ONE place.

A match threshold decides whose face and torso crops are stored as candidates: everyone whose
score reaches it. A value at or below zero would store nearly every passer-by (R3), so the
range is not left to each caller: the API (``PUT /api/deployments/<id>/settings``, deployment
creation), the CLI (``pinchpoint deployment threshold``), the config loader (``[matching]
threshold`` / ``track_threshold``, ``[services.calibration] threshold``) and the matcher itself
(:func:`decidable`, whatever a database row holds) all use these functions.

**The floor, 0.93.** Every threshold must be a finite cosine in ``[FLOOR, 1]``. 0.93 is below
every operating point any calibration of this engine documents (BENCHMARKS.md, 2026-12-03,
dlib's ResNet fused with the second recognizer, whose scores are mapped onto dlib's old
scale so this floor keeps its meaning): non-listed walk-past passes peak at 0.946-0.9535 (416
development passes; median 0.932-0.936), the shipped track threshold is 0.954 and the
still-photo threshold 0.959 (0 of 4,822 non-listed faces); on the CFP development half FPIR is
10 % at 0.939 and 1 % at 0.949. Below 0.93 there is no measurement of how many passers-by
become candidates, only the certainty that it grows fast: a typical passer-by's best score
sits at 0.93. Raising the floor needs no code change elsewhere; lowering it needs a new
calibration (``pinchpoint eval watchlist`` / ``eval walkpast``) recorded in BENCHMARKS.md
first.

**Live deployments.** While a deployment is live its threshold decides about real passers-by
now: a change then needs the commander's role (the technical lead proposes, the commander
applies), and every change and every refused attempt is audited (R19).
"""

from __future__ import annotations

import math

from kernel.domain.errors import DomainError

FLOOR = 0.93
"""The lowest match threshold (cosine) anything may decide at; see the module docstring."""

CEILING = 1.0
"""A cosine similarity is at most 1."""

LIVE_CHANGE_ROLE = "commander"
"""The role a change to a live deployment's threshold needs."""


class SettingRefused(DomainError):
    """A setting value outside its invariants (answered 422 by the API, exit 5 by the CLI)."""


class NotPermitted(DomainError):
    """The actor's role may not make this change now (answered 403 by the API)."""


def threshold_problem(value: object) -> str | None:
    """Why ``value`` is not an admissible match threshold, or None when it is."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"must be a number, not {type(value).__name__}"
    if not math.isfinite(value):
        return f"must be a finite number, not {value!r}"
    if not FLOOR <= value <= CEILING:
        return (f"must be a cosine similarity in [{FLOOR}, {CEILING}] (the floor is the lowest "
                f"calibrated operating point, BENCHMARKS.md), not {value!r}")
    return None


def admissible(value: object) -> bool:
    """Whether ``value`` is an admissible match threshold (finite, in ``[FLOOR, 1]``)."""
    return threshold_problem(value) is None


def check_threshold(value: float, what: str = "match threshold") -> float:
    """``value`` as a float when admissible, else :class:`SettingRefused` naming ``what``."""
    problem = threshold_problem(value)
    if problem is not None:
        raise SettingRefused(f"{what} {problem}")
    return float(value)


def decidable(value: float) -> float:
    """What the matcher decides at, whatever was stored (defence in depth, R3): ``value`` when
    admissible; the floor when below it; infinity (nothing matches) when NaN, infinite or
    above 1. Only a corrupted row or a bypassed check gets here with a bad value."""
    if admissible(value):
        return float(value)
    if isinstance(value, (int, float)) and math.isfinite(value) and value < FLOOR:
        return FLOOR
    return math.inf
