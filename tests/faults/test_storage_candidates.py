"""The held-candidate buffer on a real full disk (issue 12, finding 7): bounded, refusing and
counting beyond its size with health saying so, then storing what it held in order, once."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kernel.config import load as load_config
from kernel.domain.governance import Governance, open_governance
from kernel.health import system_health
from kernel.pipeline.candidates import CandidateRecorder
from kernel.pipeline.live import CandidateEvidence
from tests.integration.pipeline_rig import go_live, make_engine
from tests.storage_faults_rig import fill, tmpfs
from tests.waiting import until

pytestmark = pytest.mark.faults

FACES = Path(__file__).resolve().parents[2] / "demo" / "faces"
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def evidence(dep: str, entry: str, i: int) -> CandidateEvidence:
    return CandidateEvidence(
        deployment_id=dep, entry_id=entry, blue=False, camera_id="gate-1", score=0.97,
        captured_at=T0 + timedelta(seconds=i), face_jpeg=(FACES / "obama2.jpg").read_bytes(),
        torso_jpeg=(FACES / "obama3.jpg").read_bytes(), frame_monotonic=float(i))


async def _live(models_dir: Path, data: Path, tmp_path: Path) -> tuple[Governance, str, str]:
    config = tmp_path / "config.toml"
    config.write_text(f'data_dir = "{data}"\n[store]\ntype = "sqlite"\n')
    gov = await open_governance(load_config(config, environ={}))
    engine = make_engine(models_dir)
    try:
        dep = await go_live(gov, engine)
    finally:
        await engine.close()
        # its CPU thread would outlive the test (test_stop_leaves_no_task_or_thread counts them)
        await asyncio.to_thread(engine.context.executor.shutdown)
    entry = (await gov.watchlists.entries(dep))[0].id
    return gov, dep, entry


async def test_issue12_finding7_full_buffer_refuses_counts_then_stores_in_order_once(
        models_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with tmpfs(tmp_path / "small", 16 * 1024) as data:
        gov, dep, entry = await _live(models_dir, data, tmp_path)
        recorder = CandidateRecorder(gov, capacity=2, retry_s=0.05, retry_max_s=0.2)
        runner = asyncio.create_task(recorder.run())
        try:
            await gov.store.compact()
            filler = fill(data)
            try:
                for i in range(4):
                    await recorder.raise_candidate(evidence(dep, entry, i))
                held = recorder.health()
                assert (held.held, held.refused, held.refusing) == (2, 2, True)
                health = system_health(gov.faults.current, held)
                assert health.status == "failed" and health.store.startswith("disk full: ")
                full = [r for r in caplog.records if "buffer full" in r.getMessage()]
                assert len(full) == 1  # once for the spell, not per refused candidate
                assert await gov.alerts.list_for(dep) == []
            finally:
                filler.unlink()
            await until(lambda: recorder.health().held == 0, 30, "the held two stored")
            alerts = await gov.alerts.list_for(dep)
            assert [a.captured_at for a in sorted(alerts, key=lambda a: a.created_at)] == [
                T0, T0 + timedelta(seconds=1)]  # the first two accepted, in order
            assert recorder.stored_late == 2 and recorder.refused == 2
            assert system_health(gov.faults.current, recorder.health()).status == "ok"
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
            await gov.close()


async def test_issue12_finding7_retried_candidate_write_stores_nothing_twice(
        models_dir: Path, tmp_path: Path) -> None:
    """A retry after an ambiguous failure (the COMMIT raised though the rows reached the WAL)
    writes the same sealed candidate again: its alert id, assigned at acceptance, makes the
    second write find the first."""
    gov, dep, entry = await _live(models_dir, tmp_path / "var", tmp_path)
    try:
        ev = evidence(dep, entry, 0)
        sealed = await gov.alerts.seal_candidate(ev.deployment_id, ev.entry_id, ev.camera_id,
                                                 ev.score, ev.captured_at, ev.face_jpeg,
                                                 ev.torso_jpeg)
        first = await gov.alerts.store_candidate(sealed)
        again = await gov.alerts.store_candidate(sealed)
        assert again.id == first.id == sealed.id
        assert [a.id for a in await gov.alerts.list_for(dep)] == [sealed.id]
        report = await gov.verify_audit()
        assert report.ok
    finally:
        await gov.close()
