"""The force-wide view (issue 13): ``GET /api/force`` lists every deployment of the store
with its state, cameras (and the edge each is on, from the edges' reports), candidates,
confirmed alerts, outcomes and retention date, for the technical lead, the commander and the
admin; counts and states only, never an image, an entry or a reference."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from kernel.domain.deployments import DeploymentDraft
from kernel.link.list_publisher import EdgeList, EdgeView
from kernel.link.messages import CameraReport
from tests.mobile_api.conftest import LiveApi


def _edge(node_id: str, deployment_id: str, *cameras: str) -> EdgeView:
    return EdgeView(node_id=node_id, reported_at=0.0,
                    lists=(EdgeList(deployment_id=deployment_id, held=3, published=3,
                                    current=True),),
                    cameras=tuple(CameraReport(camera_id=c, state="running", processed=10,
                                               dropped=0) for c in cameras),
                    queued=0, published=1, refused=0)


@pytest.fixture(scope="module")
def force(live_api: LiveApi) -> Iterator[dict[str, str]]:
    """Beside the seeded live deployment: a draft one, and one that ended (made for the
    console "van-b")."""
    gov, now = live_api.gov, live_api.clock.now()

    async def make(name: str, console: str | None = None) -> str:
        live_api.clock.advance(timedelta(seconds=1))  # created after the seed's: listed after
        dep = await gov.deployments.create(DeploymentDraft(
            name=name, authorising_officer="Supt B", location="Square", starts_at=now,
            ends_at=now + timedelta(hours=4), objectives="o", case_reference="CR-SECRET-2",
            command_team=["commander"], console=console), "commander")
        return dep.id

    draft = live_api.call(make("Draft one"))
    ended = live_api.call(make("Ended one", console="van-b"))
    live_api.call(gov.deployments.authorise(ended, "commander"))
    live_api.call(gov.deployments.end(ended, "commander"))
    edges = [_edge("edge-2", live_api.seed.deployment, "gate-1", "gate-2"),
             _edge("edge-9", "another-console-deployment", "far-1")]
    before = live_api.backend.edges
    live_api.backend.edges = lambda: edges
    try:
        yield {"draft": draft, "ended": ended}
    finally:
        live_api.backend.edges = before


def _get(live_api: LiveApi, role: str, query: str = "") -> Any:
    with live_api.client(role) as c:
        r = c.get(f"/api/force{query}")
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    return r.json()


def test_issue13_force_view_counts_every_deployment(live_api: LiveApi,
                                                    force: dict[str, str]) -> None:
    body = _get(live_api, "commander")
    by_id = {d["deployment_id"]: d for d in body}
    seeded = by_id[live_api.seed.deployment]
    assert [d["deployment_id"] for d in body][:1] == [live_api.seed.deployment]  # oldest first
    assert seeded["state"] == "live" and seeded["name"] == "Test"
    # the seed: one confirmed, one rejected, one open candidate; the blue test event is none
    assert (seeded["candidates"], seeded["pending"], seeded["confirmed"],
            seeded["rejected"], seeded["held"]) == (3, 1, 1, 1, 0)
    assert seeded["retention_due"] is None  # live: due 30 days after it ends
    # its cameras: the store's (gate-1) and those of the edge holding its list, each on it
    assert seeded["cameras"] == [{"camera_id": "gate-1", "edge": "edge-2"},
                                 {"camera_id": "gate-2", "edge": "edge-2"}]
    assert seeded["edges"] == ["edge-2"]
    draft = by_id[force["draft"]]
    assert draft["state"] == "draft" and draft["cameras"] == [] and draft["edges"] == []
    assert (draft["candidates"], draft["confirmed"], draft["outcomes"]) == (0, 0, {})
    ended = by_id[force["ended"]]
    assert ended["state"] == "ended"
    assert (datetime.fromisoformat(ended["retention_due"])
            == datetime.fromisoformat(ended["ended_at"]) + timedelta(days=30))


def test_issue13_the_console_a_deployment_runs_on_is_shown(live_api: LiveApi,
                                                          force: dict[str, str]) -> None:
    """``console`` in the force view, the deployment list and the deployment (``None``: made
    with no console, published by every console); the API takes no ``console`` of a client:
    a deployment created through it runs on the console that serves it."""
    seed, ended = live_api.seed.deployment, force["ended"]
    by_id = {d["deployment_id"]: d for d in _get(live_api, "commander")}
    assert (by_id[seed]["console"], by_id[ended]["console"]) == (None, "van-b")
    with live_api.client("commander") as c:
        listed = {d["id"]: d["console"] for d in c.get("/api/deployments").json()}
        assert (listed[seed], listed[ended]) == (None, "van-b")
        assert c.get(f"/api/deployments/{ended}").json()["console"] == "van-b"
        now = live_api.clock.now()
        for console in ("van-a", "", None):
            r = c.post("/api/deployments", json={
                "name": "Chosen console", "authorising_officer": "Supt B", "location": "Sq",
                "starts_at": now.isoformat(), "ends_at": (now + timedelta(hours=1)).isoformat(),
                "objectives": "o", "case_reference": "CR-3", "console": console})
            assert r.status_code == 400 and "console" in r.text, r.text
        assert len(c.get("/api/deployments").json()) == len(listed)  # nothing created


def test_issue13_force_view_records_outcomes_and_holds(live_api: LiveApi,
                                                       force: dict[str, str]) -> None:
    s = live_api.seed
    live_api.call(live_api.gov.alerts.record_outcome(s.confirmed, "arrested", "officer"))
    # an arrest puts the alert on legal hold (R14): kept past the retention date
    seeded = {d["deployment_id"]: d for d in _get(live_api, "technical")}[s.deployment]
    assert seeded["outcomes"] == {"arrested": 1} and seeded["held"] == 1


def test_issue13_force_view_holds_no_image_entry_or_reference(live_api: LiveApi,
                                                              force: dict[str, str]) -> None:
    """Counts and states only: no image link or bytes, no entry id, watch-list reference,
    source or reason, no case reference, authorising officer or command team."""
    with live_api.client("admin") as c:
        r = c.get("/api/force")
    assert r.status_code == 200
    text = r.text
    s = live_api.seed
    for secret in ("/images", "REF-1", "STAFF-1", "PNC", "warrant", "CR-1", "CR-SECRET-2",
                   "Supt", "command_team", "objectives", s.entry, s.blue_entry, s.confirmed,
                   s.candidate, "score", "/9j/", "base64"):
        assert secret not in text, secret
    assert len(text) < 400 * len(r.json())  # numbers, not blobs


def test_issue13_force_view_filters_by_state(live_api: LiveApi, force: dict[str, str]) -> None:
    live = _get(live_api, "commander", "?state=live")
    assert [d["deployment_id"] for d in live] == [live_api.seed.deployment]
    assert [d["deployment_id"] for d in _get(live_api, "commander", "?state=draft")] == [
        force["draft"]]


@pytest.mark.parametrize("query", ["?state=wiped", "?state=", "?state=live%00",
                                   "?state=' OR 1=1 --", "?state=LIVE"])
def test_issue13_force_view_hostile_state_is_refused(live_api: LiveApi, force: dict[str, str],
                                                     query: str) -> None:
    with live_api.client("commander") as c:
        r = c.get(f"/api/force{query}")
    assert r.status_code == 400, (query, r.status_code, r.text)


def test_issue13_force_view_ignores_paging_it_does_not_have(live_api: LiveApi,
                                                            force: dict[str, str]) -> None:
    """No paging: a query that asks to page or filter beyond it changes nothing."""
    whole = _get(live_api, "commander")
    assert _get(live_api, "commander", "?limit=-1&offset=999999999&deployment_id=x") == whole


@pytest.mark.parametrize("role", ["officer", "operator", None])
def test_issue13_force_view_refused_to_other_roles(live_api: LiveApi, force: dict[str, str],
                                                   role: str | None) -> None:
    with live_api.client(role) as c:
        r = c.get("/api/force")
    assert r.status_code == (401 if role is None else 403), r.text
    assert "deployment_id" not in r.text
