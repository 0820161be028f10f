"""R21 with R12/R17: after the end the blue list's templates go, but every volunteer's entry —
a missed one too — and so its declared walk-pasts stay as long as the test events (30 days):
the published detection rate does not rise when retention runs. Then all of it goes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from kernel.clock import ManualClock
from kernel.domain.governance import Governance
from kernel.domain.retention import RETENTION
from kernel.domain.watchlists import EntryInput
from tests.kernel.domain.test_governance_safeguards import _live, _OneFunctionEngine, photo


async def test_r21_missed_walks_survive_the_end_until_the_test_events_go(
        gov: Governance, clock: ManualClock) -> None:
    dep, ids = await _live(gov, clock)
    res = await gov.watchlists.enrol(dep, _OneFunctionEngine(), photo(b"zz" * 8),  # type: ignore[arg-type]
                                     actor="tech", entry=EntryInput(
                                         reference="blue2", source="s", reason="r",
                                         category="blue", list="blue"))
    assert res.entry_id
    now = clock.now()
    for entry in (ids["blue"], res.entry_id):
        await gov.watchlists.record_blue_walk(dep, entry, now, "tech",
                                              until=now + timedelta(seconds=60),
                                              camera_id="gate-1")
    clock.advance(timedelta(seconds=5))
    await gov.alerts.create_candidate(dep, ids["blue"], "gate-1", 0.97, clock.now(),
                                      b"\xff\xd8face", b"\xff\xd8torso")
    before: Any = await gov.reports.stats(dep)
    assert (before.blue_walks_declared, before.blue_walks_detected) == (2, 1)
    ended = (await gov.deployments.end(dep, "cmd")).ended_at
    assert ended is not None

    clock.set(ended + timedelta(days=1))
    await gov.retention.run()
    after = await gov.reports.stats(dep)
    assert (after.blue_walks_declared, after.blue_walks_detected) == (2, 1)
    assert await gov.watchlists.templates(dep) == []  # matching is over (R12)
    assert {e.id for e in await gov.watchlists.entries(dep, "blue")} == {ids["blue"],
                                                                        res.entry_id}

    clock.set(ended + RETENTION)
    await gov.retention.run()
    gone = await gov.reports.stats(dep)
    assert (gone.blue_walks_declared, gone.blue_walks_detected) == (0, 0)
