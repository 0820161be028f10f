"""Issue 15, episodes through the API: the console's episode view lists every sighting; an
officer never sees an unconfirmed sighting (R5) — not in the officer routes, not on the SSE
feed, not in the outbox every MQTT and push payload is built from; a later sighting reaches
officers as an update of the one alert only after the operator's confirm; hostile clients
(wrong role, another deployment's episode id, a double confirm) get nothing."""

from __future__ import annotations

import json
from datetime import timedelta

from adapters.sink.webpush import push_payload
from kernel.domain.deployments import DeploymentDraft
from tests.mobile_api.conftest import LiveApi
from tests.mobile_api.sse_client import SseReader

LATER = timedelta(hours=2)
"""Sightings here are captured well after the seed's, so they are an episode of their own."""


def _sight(api: LiveApi, camera: str, after_s: float) -> str:
    s = api.seed

    async def make() -> str:
        rec = await api.gov.alerts.create_candidate(
            s.deployment, s.entry, camera, 0.93,
            api.clock.now() + LATER + timedelta(seconds=after_s), s.face, s.torso)
        return rec.id

    return api.call(make())


def _outbox(api: LiveApi) -> list[str]:
    return [n.alert_id for n in api.call(api.gov.outbox.pending(0))]


def test_episode_view_and_seen_again_reach_officers_only_once_confirmed(
        live_api: LiveApi) -> None:
    s = live_api.seed
    officer = SseReader(live_api.client("officer"))
    operator = SseReader(live_api.client("operator"))
    try:
        before = set(_outbox(live_api))
        first, second, third = (_sight(live_api, cam, t) for cam, t in
                                (("gate-1", 0), ("gate-2", 30), ("gate-3", 60)))
        assert operator.wait_for(lambda e: e.event == "candidate" and third in e.data)
        with live_api.client("operator") as c:
            listed = c.get(f"/api/deployments/{s.deployment}/episodes").json()
            [ep] = [e for e in listed if e["id"] == first]
            assert (ep["state"], ep["pending"], ep["alert_id"]) == ("open", 3, None)
            assert [(x["id"], x["camera_id"]) for x in ep["sightings"]] == [
                (first, "gate-1"), (second, "gate-2"), (third, "gate-3")]
            assert all(x["images"]["face"].endswith(f"/{x['id']}/images/face")
                       for x in ep["sightings"])
            crop = c.get(ep["sightings"][2]["images"]["face"])
            assert crop.status_code == 200 and crop.content == s.face
            one = c.get(f"/api/deployments/{s.deployment}/episodes/{first}").json()
            assert one == ep
        # R5: nothing of an undecided episode exists for an officer
        with live_api.client("officer") as c:
            ids = {a["id"] for a in c.get("/api/alerts").json()}
            assert not ids & {first, second, third}
            for x in (first, second, third):
                assert c.get(f"/api/alerts/{x}").status_code == 404
                assert c.get(f"/api/alerts/{x}/sightings").status_code == 404
        assert not set(_outbox(live_api)) - before

        with live_api.client("operator") as c:
            r = c.post(f"/api/candidates/{first}/confirm")
            assert r.status_code == 200 and r.json()["episode_id"] == first, r.text
            # decided once: the other sightings were confirmed with it
            assert c.post(f"/api/candidates/{second}/confirm").status_code == 409
            assert c.post(f"/api/candidates/{first}/confirm").status_code == 409
        alert = officer.wait_for(lambda e: e.event == "alert" and first in e.data)
        assert alert is not None and "update_of" not in json.loads(alert.data)
        assert set(_outbox(live_api)) - before == {first}

        again = _sight(live_api, "gate-2", 120)
        seen = operator.wait_for(lambda e: e.event == "candidate" and again in e.data)
        assert seen is not None and json.loads(seen.data)["seen_again"] is True
        with live_api.client("officer") as c:
            assert [a["id"] for a in c.get("/api/alerts").json()].count(first) == 1
            assert c.get(f"/api/alerts/{again}").status_code == 404
            assert c.get(f"/api/alerts/{again}/images/face").status_code == 404
            shown = [x["id"] for x in c.get(f"/api/alerts/{first}/sightings").json()]
            assert shown == [first, second, third]
        # the outbox (every MQTT and push payload comes from it) holds no held sighting
        assert set(_outbox(live_api)) - before == {first}
        assert not any(e.event == "alert" and again in e.data for e in officer.events)

        with live_api.client("operator") as c:  # the one-key confirm
            ep = c.get(f"/api/deployments/{s.deployment}/episodes/{first}").json()
            assert (ep["state"], ep["pending"], ep["alert_id"]) == ("confirmed", 1, first)
            assert c.post(f"/api/candidates/{again}/confirm").status_code == 200
            assert c.post(f"/api/candidates/{again}/confirm").status_code == 409
        update = officer.wait_for(lambda e: e.event == "alert" and again in e.data)
        assert update is not None
        data = json.loads(update.data)
        assert (data["update_of"], data["camera_id"]) == (first, "gate-2")
        notices = [n for n in live_api.call(live_api.gov.outbox.pending(0))
                   if n.alert_id == again]
        assert len(notices) == 1 and set(json.loads(push_payload(notices[0]))) == {
            "alert_id", "seq"}  # R6: ids only
        with live_api.client("officer") as c:
            assert [a["id"] for a in c.get("/api/alerts").json()].count(first) == 1
            assert again not in {a["id"] for a in c.get("/api/alerts").json()}
            shown = [x["id"] for x in c.get(f"/api/alerts/{first}/sightings").json()]
            assert shown == [first, second, third, again]
            assert c.get(f"/api/alerts/{again}").json()["seen_again"] is True
    finally:
        officer.close()
        operator.close()


def test_hostile_episode_requests(live_api: LiveApi) -> None:
    s = live_api.seed
    first = _sight(live_api, "gate-1", 3600)

    async def other() -> str:
        dep = await live_api.gov.deployments.create(DeploymentDraft(
            name="Other", authorising_officer="Supt B", location="Elsewhere",
            starts_at=live_api.clock.now(), ends_at=live_api.clock.now() + timedelta(hours=2),
            objectives="o", case_reference="CR-2", command_team=["commander"]), "commander")
        return dep.id

    elsewhere = live_api.call(other())
    path = f"/api/deployments/{s.deployment}/episodes"
    for role in ("officer", "technical", "commander", "admin"):
        with live_api.client(role) as c:
            assert c.get(path).status_code == 403, role
            assert c.get(f"{path}/{first}").status_code == 403, role
    with live_api.client("operator") as c:
        # another deployment's episode id, an unknown id, a blue-list event's id: nothing
        assert c.get(f"/api/deployments/{elsewhere}/episodes/{first}").status_code == 404
        assert c.get(f"/api/deployments/{elsewhere}/episodes").json() == []
        assert c.get(f"{path}/no-such-episode").status_code == 404
        assert c.get(f"{path}/{s.test_event}").status_code == 404
        assert c.get(f"{path}/{'x' * 5000}").status_code in (404, 414)
    with live_api.client() as c:
        assert c.get(path).status_code == 401
