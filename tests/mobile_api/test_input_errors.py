"""Bad input gets a 4xx with a clear message, never a 5xx (R10): malformed JSON, oversized
upload, non-image upload; per-image enrolment results."""

from __future__ import annotations

from datetime import timedelta

from kernel.domain.records import AuditRecord
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


def _small_face() -> bytes:
    """obama.jpg scaled to 12 %: a ~30 px face, soft-refused as too small (R10)."""
    import io

    from PIL import Image

    with Image.open(FACES / "obama.jpg") as img:
        small = img.convert("RGB").resize((img.width * 12 // 100, img.height * 12 // 100))
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=95)
    return buf.getvalue()


def test_r10_r19_soft_refusal_accepted_with_reason(live_api: LiveApi) -> None:
    """R10, R19: a soft refusal is 422 with its measurements and cost, marked acceptable; sent
    again with ``accept_reason`` it is enrolled, the entry shows it below the gate and the
    audit log records the reason."""
    dep = _draft(live_api)
    fields = {"reference": "R-SOFT", "category": "wanted", "source": "S", "reason": "Q"}
    small = _small_face()
    with live_api.client("technical") as c:
        r = c.post(f"/api/deployments/{dep}/watchlist", data=fields,
                   files={"photos": ("small.jpg", small, "image/jpeg")})
        assert r.status_code == 422, r.text
        [res] = r.json()["results"]
        assert res["rejection"] == "too_small" and res["acceptable"] is True
        assert "too_small" in res["gates"] and res["measurements"]["face_px"] < 40
        assert "TPIR" in res["cost"] and "TPIR" in res["message"]
        r = c.post(f"/api/deployments/{dep}/watchlist",
                   data={**fields, "accept_reason": "  only custody photo held "},
                   files={"photos": ("small.jpg", small, "image/jpeg")})
        assert r.status_code == 201, r.text
        [res] = r.json()["results"]
        assert res["ok"] and res["accepted"] and "below the enrolment gate" in res["message"]
        [entry] = c.get(f"/api/deployments/{dep}/watchlist").json()
        assert entry["photos"] == 1
        assert entry["photo_gates"] == [{"found": "direct", "below_gate": ["too_small"],
                                         "accept_reason": "only custody photo held"}]
    rows = live_api.call(_audit(live_api))
    [accepted] = [x for x in rows if x.action == "watchlist.enrol_accepted_below_gate"]
    assert accepted.details["accept_reason"] == "only custody photo held"
    assert accepted.details["gates"] == ["too_small"]


async def _audit(api: LiveApi) -> list[AuditRecord]:
    async with api.gov.store.transaction() as tx:
        return list(await tx.audit.page(0, 100_000))


def test_r10_hostile_accept_reasons_are_4xx_never_500(live_api: LiveApi) -> None:
    """R10: an empty, blank or 10 kB accept reason is 400 with a message before any photo is
    checked; accepting a hard refusal is 422 saying it cannot be accepted."""
    dep = _draft(live_api)
    fields = {"reference": "R-H", "category": "wanted", "source": "S", "reason": "Q"}
    small = _small_face()
    with live_api.client("technical") as c:
        for hostile in ("", "   \t ", "x" * 10_240, "bad\x00byte"):
            r = c.post(f"/api/deployments/{dep}/watchlist",
                       data={**fields, "accept_reason": hostile},
                       files={"photos": ("small.jpg", small, "image/jpeg")})
            assert r.status_code == 400, (hostile[:10], r.text)
            assert "accept_reason" in r.json()["detail"], r.text
        r = c.post(f"/api/deployments/{dep}/watchlist",
                   data={**fields, "accept_reason": "please"},
                   files={"photos": ("notes.txt", b"hello", "text/plain")})
        assert r.status_code == 422, r.text
        [res] = r.json()["results"]
        assert res["rejection"] == "not_an_image" and res["acceptable"] is False
        assert "cannot be accepted" in res["message"]
        assert c.get(f"/api/deployments/{dep}/watchlist").json() == []


def test_r8_r19_second_photo_added_to_an_entry(live_api: LiveApi) -> None:
    """R8, R19: ``POST /api/watchlist/entries/{id}/photos`` adds a photo to an entry: its
    photo count is 2, both templates reach the matcher, the audit says ``new_entry: false``."""
    dep = _draft(live_api)
    fields = {"reference": "R-TWO", "category": "wanted", "source": "S", "reason": "Q"}
    with live_api.client("technical") as c:
        r = c.post(f"/api/deployments/{dep}/watchlist", data=fields,
                   files={"photos": ("a.jpg", (FACES / "obama.jpg").read_bytes(), "image/jpeg")})
        assert r.status_code == 201, r.text
        entry_id = r.json()["entry_id"]
        r = c.post(f"/api/watchlist/entries/{entry_id}/photos",
                   files={"photos": ("b.jpg", (FACES / "obama2.jpg").read_bytes(),
                                     "image/jpeg")})
        assert r.status_code == 201, r.text
        assert r.json()["entry_id"] == entry_id
        [entry] = c.get(f"/api/deployments/{dep}/watchlist").json()
        assert entry["photos"] == 2 and len(entry["photo_gates"]) == 2
        r = c.post(f"/api/watchlist/entries/{entry_id}/photos", data={"accept_reason": ""},
                   files={"photos": ("b.jpg", b"x", "image/jpeg")})
        assert r.status_code == 400 and "accept_reason" in r.json()["detail"]
    templates = live_api.call(live_api.gov.watchlists.templates(dep))
    assert [t.entry_id for t in templates] == [entry_id, entry_id]
    enrols = [x for x in live_api.call(_audit(live_api)) if x.action == "watchlist.enrol"
              and x.subjects.get("entry") == entry_id]
    assert [x.details["new_entry"] for x in enrols] == [True, False]
