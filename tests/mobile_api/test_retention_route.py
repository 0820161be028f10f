"""The retention status a commander or technical lead sees (R12–R17): what is kept, when it
falls due, and every disposal record — with no personal data in it."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.mobile_api.conftest import LiveApi


def test_retention_status_before_and_after_the_rules_ran(live_api: LiveApi) -> None:
    dep = live_api.seed.deployment
    with live_api.client("commander") as c:
        before = c.get(f"/api/deployments/{dep}/retention")
        assert before.status_code == 200, before.text
        body = before.json()
        assert body["state"] == "live" and body["ended_at"] is None
        assert body["no_further_action_due"] is None
        assert body["retained_alerts"] >= 1 and body["disposals"] == []

    live_api.call(live_api.gov.deployments.end(dep, "commander"))
    live_api.clock.advance(timedelta(days=31))
    live_api.call(live_api.gov.retention.run())

    with live_api.client("technical") as c:
        after = c.get(f"/api/deployments/{dep}/retention").json()
    ended = datetime.fromisoformat(after["ended_at"])
    assert datetime.fromisoformat(after["no_further_action_due"]) == ended + timedelta(days=30)
    assert after["retained_alerts"] == 0  # nothing was held: every alert fell due (R13)
    rules = {d["rule"] for d in after["disposals"]}
    assert any(rule.startswith("R13") for rule in rules), rules
    assert all(d["count"] > 0 and d["kind"] for d in after["disposals"])
    text = str(after).lower()
    assert "obama" not in text and "ref" not in text  # no names or references (R17)
