"""R5 through the API and the live feed; SSE resume (Last-Event-ID) and resync; images
(R6, R24): authenticated, decrypted, never cached; signed links."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx

from kernel.delivery.signed_urls import sign
from kernel.images.reencode import reencode_upload
from tests.mobile_api.conftest import FACES, LiveApi
from tests.mobile_api.sse_client import SseReader
from tests.waiting import wait_until


def _new_candidate(api: LiveApi) -> str:
    s = api.seed

    async def make() -> str:
        rec = await api.gov.alerts.create_candidate(s.deployment, s.entry, "gate-2", 0.93,
                                                    api.clock.now(), s.face, s.torso)
        return rec.id

    return api.call(make())


def test_officer_never_sees_candidates_then_gets_confirmed_alert_r5(live_api: LiveApi) -> None:
    """R5: officer list and feed hold no candidate, rejected or test event; after the
    operator confirms through the API, the officer's feed receives the alert."""
    s = live_api.seed
    officer = SseReader(live_api.client("officer"))
    operator = SseReader(live_api.client("operator"))
    try:
        new = _new_candidate(live_api)
        seen = operator.wait_for(lambda e: e.event == "candidate" and new in e.data)
        assert seen is not None, operator.events
        with live_api.client("officer") as c:
            listed = {a["id"] for a in c.get("/api/alerts").json()}
            assert new not in listed and s.rejected not in listed and s.candidate not in listed
            assert s.test_event not in listed and s.confirmed in listed
            # asking for candidates by state does not help an officer (R5 in the query)
            by_state = c.get("/api/alerts", params={"state": "candidate"}).json()
            assert {a["state"] for a in by_state} == {"confirmed"}
            assert c.get(f"/api/alerts/{new}").status_code == 404
            assert c.get(f"/api/alerts/{s.rejected}").status_code == 404
            assert c.get(f"/api/alerts/{new}/images/face").status_code == 404
        with live_api.client("operator") as c:
            queue = {a["id"] for a in c.get("/api/candidates").json()}
            assert new in queue and s.confirmed not in queue
            r = c.post(f"/api/candidates/{new}/confirm")
            assert r.status_code == 200 and r.json()["state"] == "confirmed", r.text
        alert = officer.wait_for(lambda e: e.event == "alert")
        assert alert is not None and json.loads(alert.data)["alert_id"] == new
        assert operator.wait_for(lambda e: e.event == "decision" and new in e.data)
        with live_api.client("operator") as c:
            rejected = _new_candidate(live_api)
            r = c.post(f"/api/candidates/{rejected}/reject", json={"reason": "poor_image"})
            assert r.status_code == 200 and r.json()["state"] == "rejected"
        assert operator.wait_for(lambda e: e.event == "decision" and rejected in e.data)
        assert {e.event for e in officer.events} == {"alert"}
        assert all(rejected not in e.data for e in officer.events)
        with live_api.client("officer") as c:
            r = c.post(f"/api/alerts/{new}/outcome", json={"outcome": "arrested"})
            assert r.status_code == 200 and r.json()["hold"] is True  # R7, R14
    finally:
        officer.close()
        operator.close()


def _publish(api: LiveApi, n: int) -> int:
    async def go() -> int:
        for i in range(n):
            api.backend.events.publish("alert", {"alert"}, {"alert_id": f"x{i}"})
        return api.backend.events.last_seq

    return api.call(go())


def test_sse_resume_with_last_event_id_and_resync(live_api: LiveApi) -> None:
    """Disconnect, publish, reconnect with Last-Event-ID: nothing missed; too old: resync."""
    first = SseReader(live_api.client("officer"))
    last = _publish(live_api, 1)
    assert first.wait_for(lambda e: e.id == str(last))
    first.close()
    end = _publish(live_api, 3)  # while disconnected
    again = SseReader(live_api.client("officer"), last_event_id=last)
    try:
        for seq in range(last + 1, end + 1):
            assert again.wait_for(lambda e, q=seq: e.id == str(q)), (seq, again.events)
        assert [e.event for e in again.events][:3] == ["alert"] * 3
    finally:
        again.close()
    _publish(live_api, 10)  # the test buffer holds 5: ``end`` is now too old
    stale = SseReader(live_api.client("officer"), last_event_id=end)
    try:
        resync = stale.wait_for(lambda e: True)
        assert resync is not None and resync.event == "resync"
    finally:
        stale.close()


def test_images_authenticated_decrypted_no_store_r24(live_api: LiveApi) -> None:
    s = live_api.seed
    path = f"/api/alerts/{s.confirmed}/images"
    with live_api.client() as anon:
        assert anon.get(f"{path}/face").status_code == 401
    with live_api.client("officer") as c:
        for kind, expected in (("face", s.face), ("torso", s.torso),
                               # the enrolled photo as stored: re-encoded (issue 12, finding 10)
                               ("watchlist", reencode_upload((FACES / "obama.jpg").read_bytes()))):
            r = c.get(f"{path}/{kind}")
            assert r.status_code == 200, r.text
            assert r.content == expected
            assert r.headers["cache-control"] == "no-store"
            assert r.headers["content-type"].startswith("image/jpeg")
        signed = sign(f"{path}/torso", 60, live_api.backend.url_secret, live_api.clock.now())
        assert c.get(signed).content == s.torso
        assert c.get(signed[:-2] + "xx").status_code == 403
        live_api.clock.advance(timedelta(seconds=61))
        assert c.get(signed).status_code == 403
    with live_api.client() as anon:  # a signed link alone is not enough
        assert anon.get(sign(f"{path}/face", 60, live_api.backend.url_secret,
                             live_api.clock.now())).status_code == 401


def test_r5_r23_feed_delivers_nothing_after_logout_even_when_events_keep_coming(
        live_api: LiveApi) -> None:
    """issue 12, finding 4: an open feed outlived its session for as long as events came less
    than ``feed_ping_s`` apart. After logout the stream delivers no further event and ends."""
    reader_client = live_api.client("officer")
    same_session = httpx.Client(base_url=live_api.url, headers=reader_client.headers,
                                timeout=10, verify=live_api.verify)
    feed = SseReader(reader_client)
    try:
        first = _publish(live_api, 1)
        assert feed.wait_for(lambda e: e.id == str(first))
        assert same_session.post("/api/auth/logout").status_code in (200, 204)
        _publish(live_api, 10)  # a burst: far closer together than the keep-alive
        wait_until(lambda: not feed._thread.is_alive(), 10, "the stream ended")
        assert [e.id for e in feed.events] == [str(first)]
    finally:
        feed.close()
        same_session.close()
