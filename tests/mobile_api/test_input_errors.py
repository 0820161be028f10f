"""Bad input gets a 4xx with a clear message, never a 5xx (R10): malformed JSON, oversized
upload, non-image upload; per-image enrolment results."""

from __future__ import annotations

from datetime import timedelta

from tests.mobile_api.conftest import FACES, LiveApi


def _draft(api: LiveApi) -> str:
    now = api.clock.now()
    with api.client("commander") as c:
        r = c.post("/api/deployments", json={
            "name": "Upload test", "authorising_officer": "Supt B", "location": "Square",
            "starts_at": (now + timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(hours=5)).isoformat(), "objectives": "o",
            "case_reference": "CR-2", "command_team": ["commander"]})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


def test_malformed_json_is_400_with_message(live_api: LiveApi) -> None:
    with live_api.client("commander") as c:
        r = c.post("/api/deployments", content=b"{not json",
                   headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["detail"], r.text
        r = c.post("/api/deployments", json={"name": "x"})
        assert r.status_code == 400 and "required" in r.json()["detail"].lower(), r.text
    with live_api.client("officer") as c:
        r = c.post(f"/api/alerts/{live_api.seed.confirmed}/outcome",
                   json={"outcome": "teleported"})
        assert r.status_code == 400 and "outcome" in r.text


def test_oversized_upload_is_413_with_message_r10(live_api: LiveApi) -> None:
    dep = _draft(live_api)
    big = b"\xff" * (live_api.backend.settings.max_upload_bytes + 1)
    with live_api.client("commander") as c:
        r = c.post(f"/api/deployments/{dep}/watchlist",
                   data={"reference": "R", "category": "wanted", "source": "S", "reason": "Q"},
                   files={"photos": ("big.jpg", big, "image/jpeg")})
        assert r.status_code == 413, r.text
        assert "upload too large" in r.json()["detail"]


def test_upload_results_per_image_and_non_image_is_422_r10(live_api: LiveApi) -> None:
    dep = _draft(live_api)
    fields = {"reference": "R-9", "category": "wanted", "source": "S", "reason": "Q"}
    with live_api.client("technical") as c:
        r = c.post(f"/api/deployments/{dep}/watchlist", data=fields,
                   files={"photos": ("notes.txt", b"hello", "text/plain")})
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["enrolled"] == 0 and body["results"][0]["rejection"] == "not_an_image"
        assert "notes.txt" in body["results"][0]["message"]
        good = (FACES / "obama.jpg").read_bytes()
        r = c.post(f"/api/deployments/{dep}/watchlist", data=fields,
                   files=[("photos", ("a.jpg", good, "image/jpeg")),
                          ("photos", ("b.bin", b"\x00" * 50, "image/jpeg"))])
        assert r.status_code == 201, r.text
        body = r.json()
        assert [x["ok"] for x in body["results"]] == [True, False]
        assert body["entry_id"]
        entries = c.get(f"/api/deployments/{dep}/watchlist").json()
        assert [(e["reference"], e["photos"]) for e in entries] == [("R-9", 1)]
        r = c.post(f"/api/deployments/{dep}/watchlist", data=fields)
        assert r.status_code == 400 and r.json()["detail"]  # not multipart at all
