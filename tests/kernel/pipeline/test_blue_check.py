"""R21, before going live: while an authorised deployment has a blue-list walk-past open, the
real pipeline (ONNX engine, tracker, matcher, the governed core on SQLite) looks for its
volunteers alone — a volunteer gives a test event scored "before", a watch-listed face gives
nothing, no face is counted for the deployment — and once the window closes frames are
discarded unexamined again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.index.exact import ExactIndex
from demo.walkpast import DEMO_FACES, load_photo
from kernel.clock import ManualClock
from kernel.config import MatchingConfig
from kernel.domain.deployments import DeploymentDraft
from kernel.domain.watchlists import EntryInput
from kernel.executor import BoundedExecutor
from kernel.frames import Frame
from kernel.pipeline.candidates import CandidateRecorder
from kernel.pipeline.live import LivePipeline
from kernel.pipeline.session import MatchingSession
from tests.integration.pipeline_rig import make_engine
from tests.kernel.domain.conftest import open_governance_at


async def test_r21_pre_live_check_matches_the_blue_list_alone(tmp_path: Path,
                                                               models_dir: Path) -> None:
    clock = ManualClock(datetime(2026, 3, 1, 8, 0, tzinfo=UTC))
    gov = await open_governance_at(tmp_path, clock)
    engine = make_engine(models_dir)
    executor = BoundedExecutor(1, 2)
    try:
        now = clock.now()
        dep = await gov.deployments.create(DeploymentDraft(
            name="Op", authorising_officer="Supt", location="Gate",
            starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=8),
            objectives="o", case_reference="C", command_team=["Gold"],
            match_threshold=0.93), "cmd")
        ids = {}
        for photo, kind in (("obama.jpg", "watch"), ("biden.jpg", "blue")):
            res = await gov.watchlists.enrol(dep.id, engine, (DEMO_FACES / photo).read_bytes(),
                                             actor="tech", entry=EntryInput(
                                                 reference=photo, source="s", reason="r",
                                                 category="blue" if kind == "blue" else "wanted",
                                                 list=kind))  # type: ignore[arg-type]
            assert res.ok and res.entry_id
            ids[kind] = res.entry_id
        await gov.deployments.authorise(dep.id, "cmd")
        pipeline = LivePipeline(engine, executor, clock, CandidateRecorder(gov))
        session = MatchingSession(gov, pipeline, lambda: ExactIndex(ExactIndex.Config(
            dim=engine.dim)), MatchingConfig())
        await session.refresh()
        assert pipeline.watchlist is None  # authorised, no walk-past open: nothing looked at

        await gov.watchlists.record_blue_walk(dep.id, ids["blue"], now, "tech",
                                              until=now + timedelta(seconds=60),
                                              camera_id="gate-1")
        await session.refresh()
        assert pipeline.watchlist is not None
        assert {e.blue for e in pipeline.watchlist.entries.values()} == {True}
        volunteer, listed = load_photo(DEMO_FACES / "biden.jpg"), load_photo(
            DEMO_FACES / "obama2.jpg")
        for i in range(4):
            at = now.timestamp() + 1 + i * 0.2
            await pipeline([("gate-1", Frame("gate-1", i, at, 1 + i * 0.2, volunteer)),
                            ("gate-2", Frame("gate-2", i, at, 1 + i * 0.2, listed))])
        alerts = await gov.alerts.list_for(dep.id)
        assert alerts and {(a.list, a.state, a.camera_id) for a in alerts} == {
            ("blue", "test", "gate-1")}  # the watch-listed face on gate-2: nothing (R5)
        (walk,) = await gov.reports.blue_walks(dep.id)
        assert walk.detected and walk.period == "before" and walk.detected_on == "gate-1"
        stats = await gov.reports.stats(dep.id)
        assert [(p.period, p.declared, p.detected) for p in stats.blue_periods] == [
            ("before", 1, 1), ("during", 0, 0), ("after", 0, 0)]
        await session.flush_counts(final=True)
        assert (await gov.reports.stats(dep.id)).faces_seen == 0  # no deployment's faces yet

        clock.advance(timedelta(seconds=61))  # the window closed: back to unexamined frames
        await session.refresh()
        assert pipeline.watchlist is None
    finally:
        await engine.close()
        executor.shutdown()
        await gov.close()
