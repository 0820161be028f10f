"""Issue 14: receipts of officers' enrolled devices over the API. A device gives delivered
(by which path), opened and responding for a confirmed alert of the live deployment it takes;
a replay is answered 200 and recorded once; the operator and the other officers read them
per device. Every hostile client gets a clear 4xx and nothing is recorded: anonymous, wrong
role, a browser session of no device, a device that takes another deployment, an alert not
delivered to this device, an unconfirmed or unknown alert, garbage bodies and ids, no CSRF."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from kernel.domain.deployments import DeploymentDraft
from kernel.domain.watchlists import EntryInput
from tests.mobile_api.conftest import FACES, LiveApi
from tests.mobile_api.test_devices import audit_rows, enrol, issue, tablet_client


def receipt_rows(api: LiveApi) -> list[tuple[str, str, str]]:
    """(alert, device, kind) of every ``alert.receipt`` audit row, oldest first."""
    return [(r.subjects["alert"], r.subjects["device"], str(r.details["kind"]))
            for r in audit_rows(api) if r.action == "alert.receipt"]


def stored(api: LiveApi) -> int:
    async def count() -> int:
        async with api.gov.store.transaction() as tx:
            deployments = await tx.deployments.all()
            return sum([len(await tx.devices.receipts(d.id)) for d in deployments])

    return api.call(count())


def tablet(api: LiveApi, officer: str = "officer") -> tuple[httpx.Client, str]:
    enrolled = enrol(api, issue(api, officer=officer))
    assert enrolled.status_code == 201, enrolled.text
    return tablet_client(api, enrolled), enrolled.json()["device_id"]


def takes(client: httpx.Client, deployment_id: str) -> httpx.Response:
    return client.put("/api/devices/current", json={"delivery": "feed",
                                                     "deployment_id": deployment_id})


def give(client: httpx.Client, alert_id: str, kind: str, path: str | None = None,
         **extra: object) -> httpx.Response:
    body: dict[str, object] = {"kind": kind, **extra}
    if path is not None:
        body["path"] = path
    return client.post(f"/api/alerts/{alert_id}/receipts", json=body)


@pytest.fixture(scope="module")
def other_deployment(live_api: LiveApi) -> Iterator[tuple[str, str]]:
    """A second live deployment and a confirmed alert of it."""
    api, s = live_api, live_api.seed

    async def make() -> tuple[str, str]:
        now = api.clock.now()
        dep = await api.gov.deployments.create(DeploymentDraft(
            name="Other", authorising_officer="Supt B", location="Quay",
            starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=8),
            objectives="test", case_reference="CR-2", command_team=["commander"]),
            "commander")
        r = await api.gov.watchlists.enrol(dep.id, api.engine, (FACES / "obama.jpg").read_bytes(),
                                           actor="commander",
                                           entry=EntryInput(reference="REF-2", category="wanted",
                                                            source="PNC", reason="warrant"))
        assert r.entry_id
        await api.gov.watchlists.review(dep.id, "commander")
        await api.gov.deployments.authorise(dep.id, "commander")
        await api.gov.deployments.go_live(dep.id, "commander")
        a = await api.gov.alerts.create_candidate(dep.id, r.entry_id, "quay-1", 0.9,
                                                  api.clock.now(), s.face, s.torso)
        await api.gov.alerts.confirm(a.id, "operator")
        return dep.id, a.id

    yield api.call(make())


def test_issue14_receipts_per_device_once_each_seen_by_operator_and_officers(
        live_api: LiveApi) -> None:
    api, s = live_api, live_api.seed
    one, one_id = tablet(api)
    two, two_id = tablet(api)
    with one, two:
        assert takes(one, s.deployment).status_code == 204
        assert takes(two, s.deployment).status_code == 204
        r = give(one, s.confirmed, "delivered", "feed")
        assert r.status_code == 201, r.text
        assert r.headers["cache-control"] == "no-store"
        assert r.json()["new"] is True and r.json()["receipt"]["path"] == "feed"
        replay = give(one, s.confirmed, "delivered", "feed")
        assert replay.status_code == 200 and replay.json()["new"] is False
        assert give(one, s.confirmed, "opened").status_code == 201
        assert give(one, s.confirmed, "opened").status_code == 200
        assert give(one, s.confirmed, "responding").status_code == 201
        assert give(two, s.confirmed, "delivered", "mqtt").status_code == 201
        assert receipt_rows(api)[-4:] == [(s.confirmed, one_id, "delivered"),
                                          (s.confirmed, one_id, "opened"),
                                          (s.confirmed, one_id, "responding"),
                                          (s.confirmed, two_id, "delivered")]
        # the other officer's device sees it is taken
        seen = two.get(f"/api/deployments/{s.deployment}/receipts",
                       params={"alert_id": s.confirmed})
        assert seen.status_code == 200, seen.text
        [view] = seen.json()
        assert view["responding"] == ["officer"]
    with api.client("operator") as operator:
        r = operator.get(f"/api/deployments/{s.deployment}/receipts")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    [view] = [v for v in r.json() if v["alert_id"] == s.confirmed]
    devices = {d["device_id"]: d for d in view["devices"]}
    assert devices[one_id]["path"] == "feed" and devices[one_id]["opened_at"]
    assert devices[one_id]["responding_at"] and devices[one_id]["label"] == "Tablet 7"
    assert devices[two_id]["path"] == "mqtt" and devices[two_id]["opened_at"] is None
    assert not (set(r.text.lower().split('"')) & {"face", "torso", "images", "ref-1"})  # R6
    with api.client("commander") as commander:
        report = commander.get(f"/api/deployments/{s.deployment}/report")
        csv = commander.get(f"/api/deployments/{s.deployment}/report",
                            params={"format": "csv"})
    [row] = [a for a in report.json() if a["alert_id"] == s.confirmed]
    # oldest first; these share the manual clock's instant, so any order of devices
    assert sorted((x["device_id"], x["kind"]) for x in row["receipts"]) == sorted([
        (one_id, "delivered"), (one_id, "opened"), (one_id, "responding"),
        (two_id, "delivered")])
    assert f"{one_id} responding feed" in csv.text
    with api.client("admin") as admin:
        assert admin.get("/api/audit/verify").json()["ok"] is True


def test_issue14_hostile_receipts_get_a_4xx_and_record_nothing(
        live_api: LiveApi, other_deployment: tuple[str, str]) -> None:
    api, s = live_api, live_api.seed
    _, other_alert = other_deployment
    mine, _ = tablet(api)
    theirs, _ = tablet(api)
    unbound, _ = tablet(api)
    with mine, theirs, unbound:
        assert takes(mine, s.deployment).status_code == 204
        assert takes(theirs, s.deployment).status_code == 204
        assert give(theirs, s.confirmed, "delivered", "mqtt").status_code in (200, 201)
        before, rows_before = stored(api), receipt_rows(api)
        attempts: list[tuple[str, httpx.Response, int]] = []

        def expect(what: str, r: httpx.Response, status: int) -> None:
            attempts.append((what, r, status))

        with httpx.Client(base_url=api.url, timeout=10) as anonymous:
            expect("anonymous", give(anonymous, s.confirmed, "delivered", "feed"), 401)
        for role in ("operator", "commander", "technical", "admin"):
            with api.client(role) as c:
                expect(role, give(c, s.confirmed, "delivered", "feed"), 403)
        with api.client("officer") as browser:  # a plain login: no enrolled device
            expect("no device", give(browser, s.confirmed, "delivered", "feed"), 403)
        with api.client("admin") as admin:
            expect("admin reads", admin.get(f"/api/deployments/{s.deployment}/receipts"), 403)
        expect("unbound device", give(unbound, s.confirmed, "delivered", "feed"), 403)
        expect("other deployment", give(mine, other_alert, "delivered", "feed"), 403)
        expect("candidate", give(mine, s.candidate, "delivered", "feed"), 404)
        expect("rejected", give(mine, s.rejected, "delivered", "feed"), 404)
        expect("blue test event", give(mine, s.test_event, "delivered", "feed"), 404)
        expect("unknown", give(mine, "no-such-alert", "delivered", "feed"), 404)
        # delivered to the other device, not to this one
        expect("not delivered here (open)", give(mine, s.confirmed, "opened"), 409)
        expect("not delivered here (respond)", give(mine, s.confirmed, "responding"), 409)
        expect("delivered without path", give(mine, s.confirmed, "delivered"), 409)
        expect("open with a path", give(mine, s.confirmed, "opened", "feed"), 409)
        expect("bad kind", give(mine, s.confirmed, "seen", "feed"), 400)
        expect("bad path", give(mine, s.confirmed, "delivered", "pigeon"), 400)
        expect("names another device",
               give(mine, s.confirmed, "delivered", "feed", device_id="dev-x"), 400)
        expect("carries an image",
               give(mine, s.confirmed, "delivered", "feed", face="AAAA"), 400)
        expect("not JSON", mine.post(f"/api/alerts/{s.confirmed}/receipts",
                                     content=b"\xff{{", headers={
                                         "Content-Type": "application/json"}), 400)
        expect("a list", mine.post(f"/api/alerts/{s.confirmed}/receipts", json=[1]), 400)
        expect("bad id", give(mine, "x" * 65, "delivered", "feed"), 400)
        expect("bad id chars", give(mine, "a%20b", "delivered", "feed"), 400)
        no_csrf = httpx.Client(base_url=api.url, timeout=10,
                               headers={"Cookie": mine.headers["Cookie"]})
        with no_csrf:
            expect("no CSRF", give(no_csrf, s.confirmed, "delivered", "feed"), 403)
        # a device cannot take a deployment that is unknown or not live, nor a garbage id
        expect("takes unknown", takes(mine, "no-such-deployment"), 404)
        expect("takes garbage", takes(mine, "../../x"), 400)
        expect("takes another's field", mine.put("/api/devices/current", json={
            "deployment_id": s.deployment, "device_id": "dev-x"}), 400)
        bad = [f"{what}: {r.status_code} (want {status}) {r.text[:120]}"
               for what, r, status in attempts if r.status_code != status]
        assert not bad, "\n".join(bad)
        assert all("detail" in r.json() for _, r, _ in attempts if r.status_code >= 400)
        assert stored(api) == before and receipt_rows(api) == rows_before
        # still its own deployment after the refused switches
        assert give(mine, s.confirmed, "delivered", "feed").status_code == 201
