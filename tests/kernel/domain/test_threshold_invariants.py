"""R3/R22: the match threshold's invariants hold in one place (kernel.domain.thresholds) for
every door — deployment creation, the settings change, a live deployment's commander rule —
and the matcher never decides below the calibrated floor whatever a row holds (issue 12,
finding 3: ``match_threshold = -1.0`` on a live deployment stored passers-by)."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from adapters.index.exact import ExactIndex
from kernel.clock import ManualClock
from kernel.config import MatchingConfig
from kernel.domain import thresholds
from kernel.domain.deployments import DeploymentDraft
from kernel.domain.governance import Governance
from kernel.domain.records import UserRecord
from kernel.domain.thresholds import FLOOR, NotPermitted, SettingRefused
from kernel.pipeline.session import MatchingSession
from kernel.pipeline.watchlist_index import IndexedEntry, LiveWatchlist
from tests.kernel.domain.test_governance_safeguards import START, _live

HOSTILE = [-1.0, -0.0, 0.0, 1e-9, 0.5, 0.9, FLOOR - 1e-6, 1.0 + 1e-9, 1.5, math.nan, math.inf,
           -math.inf]


def _draft(threshold: float | None) -> DeploymentDraft:
    return DeploymentDraft(name="Op", authorising_officer="Supt", location="Here",
                           starts_at=START, ends_at=START + timedelta(hours=8), objectives="o",
                           case_reference="C", command_team=["Gold"], match_threshold=threshold)


async def _user(gov: Governance, clock: ManualClock, name: str, role: str,
                enabled: bool = True) -> None:
    async with gov.store.transaction() as tx:
        await tx.accounts.insert(UserRecord(
            name=name, role=role, password_hash="x", enabled=enabled,  # type: ignore[arg-type]
            created_at=clock.now(), created_by="admin", password_changed_at=clock.now()))


async def _audit(gov: Governance) -> list[tuple[str, str, dict[str, Any]]]:
    async with gov.store.transaction() as tx:
        return [(a.actor, a.action, a.details) for a in await tx.audit.page(0, 10_000)]


@pytest.mark.parametrize("value", HOSTILE)
async def test_r3_r22_threshold_out_of_range_refused_at_create_and_set(
        gov: Governance, value: float) -> None:
    with pytest.raises(SettingRefused, match="match threshold"):
        await gov.deployments.create(_draft(value), "cmd")
    dep = await gov.deployments.create(_draft(None), "cmd")
    with pytest.raises(SettingRefused, match="match threshold"):
        await gov.deployments.set_threshold(dep.id, value, "tech")
    assert (await gov.deployments.get(dep.id)).match_threshold is None


@pytest.mark.parametrize("value", [FLOOR, 0.94, 0.961, 1.0, None])
async def test_r22_admissible_thresholds_accepted_before_live(gov: Governance,
                                                              value: float | None) -> None:
    dep = await gov.deployments.create(_draft(value), "cmd")
    assert dep.match_threshold == value
    assert (await gov.deployments.set_threshold(dep.id, value, "tech")).match_threshold == value


async def test_r3_r19_r22_live_threshold_change_needs_the_commander_and_is_audited(
        gov: Governance, clock: ManualClock) -> None:
    dep_id, _ = await _live(gov, clock)
    await _user(gov, clock, "tech", "technical")
    await _user(gov, clock, "gold", "commander")
    await _user(gov, clock, "former", "commander", enabled=False)
    # The attack of finding 3: a technical user, a live deployment, -1.0.
    with pytest.raises(SettingRefused):
        await gov.deployments.set_threshold(dep_id, -1.0, "tech")
    # Even an admissible value needs the commander on a live deployment.
    for actor in ("tech", "former", "cli", "nobody"):
        with pytest.raises(NotPermitted, match="commander"):
            await gov.deployments.set_threshold(dep_id, 0.95, actor)
    with pytest.raises(SettingRefused):  # the commander cannot go below the floor either
        await gov.deployments.set_threshold(dep_id, 0.5, "gold")
    assert (await gov.deployments.get(dep_id)).match_threshold is None
    rec = await gov.deployments.set_threshold(dep_id, 0.95, "gold")
    assert rec.match_threshold == 0.95
    rows = await _audit(gov)
    refused = [(actor, d) for actor, action, d in rows
               if action == "setting.match_threshold_refused"]
    assert [actor for actor, _ in refused] == ["tech", "tech", "former", "cli", "nobody", "gold"]
    assert refused[0][1]["requested"] == "-1.0" and refused[0][1]["role"] == "technical"
    (change,) = [(actor, d) for actor, action, d in rows if action == "setting.match_threshold"]
    assert change == ("gold", {"old": None, "new": 0.95, "state": "live", "role": "commander"})


class _Pipeline:
    """What MatchingSession uses of the live pipeline: the model id, the executor and the
    watch-list slot."""

    class _Engine:
        model_id = "another-model"  # the fake templates are not searched: thresholds only

    class _Executor:
        async def run(self, fn: Any, *args: Any) -> Any:
            return fn(*args)

    def __init__(self) -> None:
        self.engine = self._Engine()
        self.executor = self._Executor()
        self.watchlist: LiveWatchlist | None = None

    def set_watchlist(self, watchlist: LiveWatchlist | None) -> None:
        self.watchlist = watchlist


@pytest.mark.parametrize("stored", [-1.0, 0.0, 0.5, math.nan, 7.0])
async def test_r3_matcher_never_decides_below_the_floor_whatever_is_stored(
        gov: Governance, clock: ManualClock, stored: float) -> None:
    dep_id, _ = await _live(gov, clock)
    async with gov.store.transaction() as tx:  # a damaged row: the domain is bypassed
        rec = await tx.deployments.get(dep_id)
        assert rec is not None
        rec.match_threshold = stored
        await tx.deployments.update(rec)
    pipeline = _Pipeline()
    session = MatchingSession(gov, pipeline, lambda: ExactIndex(ExactIndex.Config(dim=4)),
                              MatchingConfig())  # type: ignore[arg-type]
    await session.refresh()
    assert pipeline.watchlist is not None
    assert pipeline.watchlist.thresholds[dep_id] >= FLOOR
    assert pipeline.watchlist.thresholds[dep_id] == MatchingConfig().decision_threshold(None)
    # The matcher itself, handed a bad value directly: the floor, or nothing matches.
    wl = LiveWatchlist(ExactIndex(ExactIndex.Config(dim=4)), {"d": stored})
    entry = IndexedEntry("d", "e")
    wl.add([(1, entry, np.ones(4, np.float32) / 2)])
    decided = wl.threshold(entry)
    assert decided == (FLOOR if stored < FLOOR else math.inf)
    assert thresholds.decidable(stored) == decided
    assert MatchingConfig().decision_threshold(stored) >= FLOOR
