"""Issue 15: the published deployment record over the API (R20): JSON and CSV of one record,
the same numbers as ``/stats``, no person's name or reference and no image; hostile queries
are 400/404, never 500."""

from __future__ import annotations

import csv
import io

from tests.mobile_api.conftest import LiveApi


def test_issue15_r20_published_route_matches_stats_and_holds_nothing_personal(
        live_api: LiveApi) -> None:
    dep = live_api.seed.deployment
    with live_api.client("commander") as c:
        stats = c.get(f"/api/deployments/{dep}/stats").json()
        record = c.get(f"/api/deployments/{dep}/published").json()
        raw = c.get(f"/api/deployments/{dep}/published", params={"format": "csv"})
    assert raw.status_code == 200 and raw.headers["content-type"].startswith("text/csv")
    assert raw.headers["cache-control"] == "no-store"
    [row] = list(csv.DictReader(io.StringIO(raw.text)))
    for key, stat in (("faces_seen", "faces_seen"), ("candidates", "candidates"),
                      ("alerts_confirmed", "confirmed"), ("candidates_rejected", "rejected"),
                      ("blue_walks_declared", "blue_walks_declared")):
        assert int(row[key]) == record[key] == stats[stat], key
    assert record["watchlist_by_category"]["wanted"] == 1  # the seed's one watch entry
    assert record["threshold_set_by"] == "default" and record["calibrated_fpir"] is None
    for text in (raw.text, str(record)):
        for secret in ("REF-1", "STAFF-1", "Supt A", "CR-1", "warrant", "PNC", "obama",
                       "commander", "/9j/", "base64"):
            assert secret not in text, secret


def test_issue15_r20_published_route_refuses_odd_queries(live_api: LiveApi) -> None:
    dep = live_api.seed.deployment
    with live_api.client("admin") as c:
        assert c.get(f"/api/deployments/{dep}/published",
                     params={"format": "xml"}).status_code == 400
        assert c.get("/api/deployments/no-such/published").status_code == 404
        assert c.get(f"/api/deployments/{'x' * 5000}/published").status_code == 404
    with live_api.client("officer") as c:
        assert c.get(f"/api/deployments/{dep}/published").status_code == 403
