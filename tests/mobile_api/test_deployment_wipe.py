"""Issue 15, admin screens: wipe a deployment from the app (R16, R24, R19). The commander types
the deployment's name and says why; the domain's wipe (the CLI's) destroys everything, a live
deployment too, and audits the reason. Wrong name, wrong role, no CSRF, odd bodies: refused,
nothing destroyed, never 500."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from kernel.domain.deployments import DeploymentDraft
from kernel.domain.watchlists import EntryInput
from tests.mobile_api.conftest import FACES, LiveApi


def _deployment(api: LiveApi, name: str, live: bool) -> str:
    async def make() -> str:
        gov, now = api.gov, api.clock.now()
        dep = await gov.deployments.create(DeploymentDraft(
            name=name, authorising_officer="Supt W", location="Yard", starts_at=now,
            ends_at=now + timedelta(hours=2), objectives="wipe test", case_reference="CR-W",
            command_team=[]), "commander")
        if live:
            photo = (FACES / "obama.jpg").read_bytes()
            enrolled = await gov.watchlists.enrol(
                dep.id, api.engine, photo, actor="commander",
                entry=EntryInput(reference="REF-W", category="wanted", source="PNC",
                                 reason="warrant"))
            assert enrolled.ok
            await gov.deployments.authorise(dep.id, "commander")
            await gov.watchlists.review(dep.id, "commander")
            await gov.deployments.go_live(dep.id, "commander")
        return dep.id

    return api.call(make())


@pytest.mark.parametrize(("body", "status"), [
    ({"confirm_name": "Wipe me", "reason": "duplicate deployment"}, 422),  # not its name
    ({"confirm_name": "wipe me now", "reason": "duplicate deployment"}, 422),  # case differs
    ({"confirm_name": "Wipe me now ", "reason": "duplicate deployment"}, 422),
    ({"confirm_name": "Wipe me now", "reason": ""}, 400),
    ({"confirm_name": "Wipe me now", "reason": "   "}, 422),
    ({"confirm_name": "Wipe me now", "reason": "x" * 501}, 400),
    ({"confirm_name": "Wipe me now" + "x" * 200, "reason": "r"}, 400),
    ({"confirm_name": "Wipe me now"}, 400),
    ({"reason": "duplicate deployment"}, 400),
    ({"confirm_name": "Wipe me now", "reason": "r", "force": True}, 400),
    ({"confirm_name": ["Wipe me now"], "reason": "r"}, 400),
])
def test_issue15_r16_wipe_refuses_a_wrong_name_or_odd_body_and_destroys_nothing(
        live_api: LiveApi, body: dict[str, Any], status: int) -> None:
    dep = _deployment(live_api, "Wipe me now", live=False)
    with live_api.client("commander") as c:
        r = c.post(f"/api/deployments/{dep}/wipe", json=body)
        assert r.status_code == status, r.text
        assert c.get(f"/api/deployments/{dep}").status_code == 200


def test_issue15_r16_only_the_commander_wipes_and_csrf_is_required(live_api: LiveApi) -> None:
    dep = _deployment(live_api, "Not yours", live=False)
    body = {"confirm_name": "Not yours", "reason": "test of the guard"}
    for role in ("officer", "operator", "technical", "admin"):
        with live_api.client(role) as c:
            assert c.post(f"/api/deployments/{dep}/wipe", json=body).status_code == 403, role
    with live_api.client("commander", csrf=False) as c:
        r = c.post(f"/api/deployments/{dep}/wipe", json=body)
        assert r.status_code == 403 and "CSRF" in r.text
    with live_api.client() as anon:
        assert anon.post(f"/api/deployments/{dep}/wipe", json=body).status_code == 401
    with live_api.client("commander") as c:
        assert c.get(f"/api/deployments/{dep}").status_code == 200
        missing = c.post("/api/deployments/no-such-deployment/wipe", json=body)
        assert missing.status_code == 404


def test_issue15_r16_r19_commander_wipes_a_live_deployment_with_the_reason_audited(
        live_api: LiveApi) -> None:
    """The domain wipes in any state (R16: at once), a live deployment too; the disposal
    counts come back, the deployment is gone, its key destroyed, and the audit row names the
    commander, the state it was in and the reason; the chain still verifies."""
    dep = _deployment(live_api, "Gate (live)", live=True)
    with live_api.client("commander") as c:
        r = c.post(f"/api/deployments/{dep}/wipe",
                   json={"confirm_name": "Gate (live)", "reason": "authorisation withdrawn"})
        assert r.status_code == 200, r.text
        kinds = {d["kind"] for d in r.json()["disposals"]}
        assert {"deployment", "data_key"} <= kinds
        assert c.get(f"/api/deployments/{dep}").status_code == 404
        assert c.post(f"/api/deployments/{dep}/wipe", json={
            "confirm_name": "Gate (live)", "reason": "again"}).status_code == 404
        assert c.get("/api/audit/verify").json()["ok"] is True
    assert not (live_api.data_dir / "keys" / "deployments" / f"{dep}.key").exists()

    async def rows() -> list[Any]:
        async with live_api.gov.store.transaction() as tx:
            return [r for r in await tx.audit.page(0, 100_000) if r.action == "deployment.wipe"
                    and r.subjects == {"deployment": dep}]

    [row] = live_api.call(rows())
    assert row.actor == "commander"
    assert row.details["reason"] == "authorisation withdrawn"
    assert row.details["state"] == "live"
