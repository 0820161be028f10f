"""Quick end-to-end checks of the served API (R5, R23, R24)."""

from __future__ import annotations

from tests.mobile_api.conftest import LiveApi


def test_login_me_and_officer_list_r5(live_api: LiveApi) -> None:
    """R5: the officer's list holds the confirmed alert only."""
    with live_api.client("officer") as c:
        r = c.get("/api/alerts")
        assert r.status_code == 200, r.text
        assert [a["id"] for a in r.json()] == [live_api.seed.confirmed]
