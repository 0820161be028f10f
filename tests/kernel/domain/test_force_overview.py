"""The force-wide view in the domain (issue 13): two consoles on one PostgreSQL schema (each
its own store pool and key ring, as two processes have) see every deployment of the force,
with the counts the store added up; the cameras of the edges holding a deployment's list are
its cameras too, each named with its edge."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from kernel.clock import ManualClock
from kernel.domain.deployments import DeploymentDraft
from kernel.domain.force_view import FRESH, EdgeCameras, ForceCamera
from kernel.domain.governance import Governance
from kernel.domain.records import EdgeRecord
from kernel.testing.store_contract import alert, entry
from tests import postgres_server as pg
from tests.kernel.domain.conftest import open_governance_at


async def _deployment(gov: Governance, name: str) -> str:
    now = gov.ctx.clock.now()
    dep = await gov.deployments.create(DeploymentDraft(
        name=name, authorising_officer="Supt", location=f"{name} square", starts_at=now,
        ends_at=now + timedelta(hours=2), objectives="o", case_reference="CR-9",
        command_team=["Gold"]), "cmd")
    return dep.id


@asynccontextmanager
async def two_consoles(tmp_path: Path, clock: ManualClock
                       ) -> AsyncIterator[tuple[Governance, Governance]]:
    """Two consoles' governed cores on one PostgreSQL schema, each its own store pool and key
    ring (as two processes have)."""
    async with pg.fresh_schema() as schema:
        a_dir, b_dir = tmp_path / "console-a", tmp_path / "console-b"
        a_dir.mkdir()
        b_dir.mkdir()
        pg.SCHEMAS[a_dir] = pg.SCHEMAS[b_dir] = schema
        try:
            a = await open_governance_at(a_dir, clock)
            b = await open_governance_at(b_dir, clock)
            try:
                yield a, b
            finally:
                await a.close()
                await b.close()
        finally:
            del pg.SCHEMAS[a_dir], pg.SCHEMAS[b_dir]


async def test_issue13_two_consoles_on_one_postgres_see_the_whole_force(
        tmp_path: Path, clock: ManualClock) -> None:
    async with two_consoles(tmp_path, clock) as (a, b):
        van_a = await _deployment(a, "Van A")
        clock.advance(timedelta(seconds=1))
        van_b = await _deployment(b, "Van B")
        await b.deployments.authorise(van_b, "cmd")
        await b.reports.record_face_counts(van_b, "b-cam", clock.now(), 12, 1)
        async with b.store.transaction() as tx:  # candidates as the pipeline stores
            await tx.watchlists.insert_entry(entry("e-b", van_b))
            for i in range(3):
                rec = alert(f"b{i}", "e-b", van_b)
                rec.camera_id = "b-cam"
                rec.state = "confirmed" if i else "candidate"
                await tx.alerts.insert(rec)
        await b.deployments.end(van_b, "cmd")
        edges = [EdgeCameras("edge-a1", ("a-cam-1", "a-cam-2"), (van_a,))]
        seen_by_a = await a.force.overview(edges)
        seen_by_b = await b.force.overview()
    assert [d.deployment_id for d in seen_by_a] == [van_a, van_b]  # oldest first
    first, second = seen_by_a
    assert first.state == "draft" and first.edges == ("edge-a1",)
    assert first.cameras == (ForceCamera("a-cam-1", "edge-a1"), ForceCamera("a-cam-2", "edge-a1"))
    assert (first.candidates, first.faces_seen, first.retention_due) == (0, 0, None)
    # console B's deployment, on console A: counted by the shared store, no edge of A's
    assert second.name == "Van B" and second.state == "ended"
    assert second.cameras == (ForceCamera("b-cam", None),) and second.edges == ()
    assert (second.faces_seen, second.candidates, second.pending, second.confirmed) == (
        12, 3, 1, 2)
    assert second.ended_at is not None
    assert second.retention_due == second.ended_at + timedelta(days=30)
    # B sees the same force, without A's edges (it holds no report of them)
    assert [d.deployment_id for d in seen_by_b] == [van_a, van_b]
    assert seen_by_b[0].cameras == () and seen_by_b[1] == second


async def test_issue13_overview_filters_by_state_and_an_edge_camera_names_one_edge(
        gov: Governance, clock: ManualClock) -> None:
    draft = await _deployment(gov, "Draft")
    clock.advance(timedelta(seconds=1))
    ended = await _deployment(gov, "Ended")
    await gov.deployments.authorise(ended, "cmd")
    await gov.deployments.end(ended, "cmd")
    assert [d.deployment_id for d in await gov.force.overview(state="ended")] == [ended]
    assert [d.deployment_id for d in await gov.force.overview(state="live")] == []
    # one camera reported by two edges (a misconfigured id): named with the first by id, not
    # listed twice
    edges = [EdgeCameras("edge-z", ("cam",), (draft,)), EdgeCameras("edge-m", ("cam",), ())]
    (view,) = await gov.force.overview(edges, state="draft")
    assert view.cameras == (ForceCamera("cam", "edge-m"),) and view.edges == ("edge-z",)


async def test_issue13_each_console_sees_the_edges_the_other_recorded_while_fresh(
        tmp_path: Path, clock: ManualClock) -> None:
    """Two consoles on one PostgreSQL schema: what console A recorded of its edge shows on
    console B (its cameras under the deployment whose list it holds, named with the edge)
    while the record is within FRESH; older, it is left out; an edge a console reads live
    itself is shown as it reads it, not as recorded."""
    async with two_consoles(tmp_path, clock) as (a, b):
        van_a = await _deployment(a, "Van A")
        await a.force.record_edges("van-a", [EdgeRecord(
            node_id="edge-a1", console="ignored", cameras=("a-cam-1", "a-cam-2"),
            deployments=(van_a,), reported_at=clock.now())])
        seen = (await b.force.overview())[0]
        assert seen.edges == ("edge-a1",)
        assert seen.cameras == (ForceCamera("a-cam-1", "edge-a1"),
                                ForceCamera("a-cam-2", "edge-a1"))
        async with b.store.transaction() as tx:  # the console that read it
            assert [r.console for r in await tx.statistics.edges()] == ["van-a"]
        # read live by B itself: B's reading wins over the row
        live = [EdgeCameras("edge-a1", ("a-cam-9",), ())]
        assert (await b.force.overview(live))[0].edges == ()
        clock.advance(FRESH + timedelta(seconds=1))  # silent since
        stale = (await b.force.overview())[0]
        assert stale.edges == () and stale.cameras == ()
