"""Issue 14, done-when 2: an officer's tablet is enrolled with a one-time code from the console
and revoked when lost. Within 5 s of the revocation its session is refused, its Web Push
subscriptions are gone (the local push service hears nothing more for it, while another device
still is woken), and the real Mosquitto (dynamic security) refuses its MQTT login and has cut
its open connection; the audit log holds both actions and verifies (R19, R23). Plus the
hostile cases: wrong, reused and expired codes, brute force throttled, unknown devices, roles
that may not enrol or revoke."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import msgspec
import pytest

from adapters.sink.webpush import WebPushSink
from kernel.delivery.store_subscriptions import StorePushSubscriptions
from kernel.domain.records import AuditRecord
from kernel.executor import BoundedExecutor
from kernel.protocols.adapter import AdapterContext
from kernel.protocols.sink import AlertNotice
from mobile_api.security import COOKIE, DEVICE_COOKIE
from mobile_api.settings import DynsecSettings, OfficerMqttSettings
from tests.adapters.sink.push_service import SUBJECT, PushService, serving
from tests.mobile_api.conftest import PASSWORD, REPO, TEST_SETTINGS, LiveApi, seed
from tests.mosquitto_dynsec import ADMIN_PASSWORD, ADMIN_USER, DynsecBroker, started_broker

REVOKED_WITHIN_S = 5.0


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DynsecBroker]:
    yield from started_broker(tmp_path_factory)


@pytest.fixture(scope="module")
def api(broker: DynsecBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    if not (REPO / "var" / "models" / "models.json").is_file():
        pytest.skip("models not built: run `pinchpoint models build` (var/models)")
    settings = msgspec.structs.replace(TEST_SETTINGS, mqtt=OfficerMqttSettings(
        ws_url=broker.ws_url, accounts=DynsecSettings(
            port=broker.port, username=ADMIN_USER, password=ADMIN_PASSWORD, timeout_s=10)))
    live = LiveApi(tmp_path_factory.mktemp("devices"), settings)
    try:
        live.call(seed(live))
        yield live
    finally:
        live.close()


def issue(api: LiveApi, role: str = "admin", officer: str = "officer") -> str:
    with api.client(role) as console:
        r = console.post("/api/devices/codes", json={"officer": officer, "label": "Tablet 7"})
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    code: str = r.json()["code"]
    assert len(code) == 9 and code[4] == "-"
    return code


def enrol(api: LiveApi, code: str) -> httpx.Response:
    with httpx.Client(base_url=api.url, timeout=10) as tablet:
        return tablet.post("/api/devices/enrol", json={"code": code, "app_version": "shell-v4"})


def tablet_client(api: LiveApi, enrolled: httpx.Response) -> httpx.Client:
    """The tablet after enrolment: its session and device cookies and its CSRF token."""
    return httpx.Client(base_url=api.url, timeout=10, headers={
        "Cookie": f"{COOKIE}={enrolled.cookies[COOKIE]}; "
                  f"{DEVICE_COOKIE}={enrolled.cookies[DEVICE_COOKIE]}",
        "X-CSRF-Token": enrolled.json()["csrf_token"]})


def device_list(api: LiveApi) -> dict[str, dict[str, Any]]:
    with api.client("technical") as tech:
        r = tech.get("/api/devices")
    assert r.status_code == 200, r.text
    return {d["id"]: d for d in r.json()}


def audit_rows(api: LiveApi) -> list[AuditRecord]:
    async def read() -> list[AuditRecord]:
        async with api.gov.store.transaction() as tx:
            return await tx.audit.page(0, 100_000)

    return api.call(read())


def mqtt_login(broker: DynsecBroker, creds: dict[str, Any]) -> aiomqtt.Client:
    return aiomqtt.Client("127.0.0.1", broker.port, username=creds["username"],
                          password=creds["password"], identifier=creds["client_id"], timeout=10)


def test_issue14_enrolled_tablet_revoked_loses_session_push_and_mqtt_within_5_s(
        api: LiveApi, broker: DynsecBroker, tmp_path: Path) -> None:
    dep = api.seed.deployment
    enrolled = enrol(api, issue(api))
    assert enrolled.status_code == 201, enrolled.text
    device_id = enrolled.json()["device_id"]
    assert enrolled.json()["user"] == "officer" and device_id.startswith("dev-")
    cookie = enrolled.headers.get_list("set-cookie")
    assert all("HttpOnly" in c and "samesite=strict" in c.lower() for c in cookie), cookie
    tablet = tablet_client(api, enrolled)
    me = tablet.get("/api/auth/me").json()
    assert me["device_id"] == device_id and me["role"] == "officer"
    assert tablet.put("/api/devices/current",
                      json={"delivery": "mqtt", "app_version": "shell-v4"}).status_code == 204
    creds = tablet.post("/api/mqtt/credentials", json={"deployment_id": dep})
    assert creds.status_code == 201, creds.text
    login = creds.json()

    async def run() -> None:
        service = PushService("")
        async with serving(service):
            executor = BoundedExecutor(1, 1)
            context = AdapterContext(name="webpush", data_dir=tmp_path, executor=executor,
                                     clock=api.clock, log=logging.getLogger("test.webpush"))
            sink = WebPushSink(WebPushSink.Config(subject=SUBJECT, timeout_s=5.0),
                               context, StorePushSubscriptions(api.gov.store))
            service.vapid_public = sink.application_server_key
            # the tablet's own (local) push endpoint, and another officer device's
            for name, device in (("tablet", device_id), ("other", None)):
                keys = service.device(name).subscription()
                await api.gov.push.subscribe("officer", endpoint=keys.endpoint,
                                             p256dh=keys.p256dh, auth=keys.auth, device=name,
                                             deployment_id=dep, device_id=device)
            try:
                async with mqtt_login(broker, login) as mqtt:
                    await mqtt.subscribe(login["topic"], qos=1)
                    await _deliver(sink, 1, dep)
                    assert len(service.received.get("tablet", [])) == 1
                    # one registered by the tablet over the API belongs to it too (a push
                    # service the sink cannot reach here: registered after the first notice)
                    sub = await asyncio.to_thread(tablet.post, "/api/push/subscriptions", json={
                        "endpoint": "https://push.example/tablet-7", "deployment_id": dep,
                        "keys": {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVl"
                                           "Uls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
                                 "auth": "tBHItJI5svbpez7KI4CCXg"}})
                    assert sub.status_code == 201, sub.text
                    listed = (await asyncio.to_thread(device_list, api))[device_id]
                    assert (listed["user"], listed["label"], listed["delivery"],
                            listed["app_version"], listed["web_push"], listed["revoked_at"]
                            ) == ("officer", "Tablet 7", "mqtt", "shell-v4", 2, None)
                    assert "token_hash" not in listed
                    started = time.monotonic()
                    r = await asyncio.to_thread(_revoke, api, device_id)
                    assert r == {"device_id": device_id, "sessions_ended": 1,
                                 "push_deleted": 2, "mqtt_revoked": True}
                    deadline = started + REVOKED_WITHIN_S
                    # the open MQTT connection is cut by the broker
                    with pytest.raises(aiomqtt.MqttError):
                        async with asyncio.timeout(max(0.1, deadline - time.monotonic())):
                            async for _ in mqtt.messages:
                                pass
                status = (await asyncio.to_thread(tablet.get, "/api/auth/me")).status_code
                assert status == 401
                with pytest.raises(aiomqtt.MqttCodeError) as refused:
                    async with mqtt_login(broker, login):
                        pass
                assert refused.value.rc in (4, 5, 134, 135), refused.value
                await _deliver(sink, 2, dep)
                assert time.monotonic() < deadline, "revocation took longer than 5 s"
            finally:
                await sink.close()
                executor.shutdown()
            assert service.errors == []
            assert len(service.received["tablet"]) == 1  # nothing after the revocation
            assert len(service.received["other"]) == 2  # the sink still works for others

    api.call(run(), timeout=60)
    tablet.close()
    listed = device_list(api)[device_id]
    assert listed["revoked_by"] == "technical" and listed["web_push"] == 0

    # the device cookie binds nothing any more: a password login on it is a plain session
    with httpx.Client(base_url=api.url, timeout=10, headers={
            "Cookie": f"{DEVICE_COOKIE}={enrolled.cookies[DEVICE_COOKIE]}"}) as again:
        r = again.post("/api/auth/login", json={"name": "officer", "password": PASSWORD})
        assert r.status_code == 200 and r.json()["device_id"] is None

    rows = audit_rows(api)
    enrol_rows = [r for r in rows if r.action == "device.enrol"
                  and r.subjects.get("device") == device_id]
    revoke_rows = [r for r in rows if r.action == "device.revoke"
                   and r.subjects.get("device") == device_id]
    assert len(enrol_rows) == 1 and len(revoke_rows) == 1
    assert revoke_rows[0].actor == "technical"
    assert revoke_rows[0].details == {"sessions_ended": 1, "push_deleted": 2}
    assert api.call(api.gov.verify_audit()).ok


async def _deliver(sink: WebPushSink, seq: int, dep: str) -> None:
    await sink.deliver(AlertNotice(seq=seq, alert_id=f"alert-{seq}", deployment_id=dep,
                                   category="wanted", camera_id="gate-1",
                                   confirmed_at="2026-03-01T08:00:00+00:00"))


def _revoke(api: LiveApi, device_id: str) -> dict[str, Any]:
    with api.client("technical") as tech:
        r = tech.post(f"/api/devices/{device_id}/revoke")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_issue14_password_login_on_an_enrolled_tablet_belongs_to_it(api: LiveApi) -> None:
    """The device cookie binds the officer's later password logins on the tablet to the
    device, never another user's."""
    enrolled = enrol(api, issue(api, "technical"))
    assert enrolled.status_code == 201, enrolled.text
    device_id = enrolled.json()["device_id"]
    device_cookie = {"Cookie": f"{DEVICE_COOKIE}={enrolled.cookies[DEVICE_COOKIE]}"}
    with httpx.Client(base_url=api.url, timeout=10, headers=device_cookie) as tablet:
        mine = tablet.post("/api/auth/login", json={"name": "officer", "password": PASSWORD})
        assert mine.status_code == 200 and mine.json()["device_id"] == device_id
        other = tablet.post("/api/auth/login", json={"name": "operator", "password": PASSWORD})
        assert other.status_code == 200 and other.json()["device_id"] is None
    assert _revoke(api, device_id)["sessions_ended"] == 2  # enrolment's and the login's


def test_issue14_enrolment_refuses_wrong_reused_expired_codes_and_throttles(
        api: LiveApi) -> None:
    """Hostile cases: who may issue codes; codes that are wrong, used or expired are all
    refused alike; after 5 failures the client is throttled (429, Retry-After) even for a
    valid code, until the lock passes; every failure is audited."""
    for role in ("officer", "operator", "commander"):
        with api.client(role) as c:
            assert c.post("/api/devices/codes", json={"officer": "officer"}).status_code == 403
            assert c.get("/api/devices").status_code == 403
            assert c.post("/api/devices/dev-x/revoke").status_code == 403
    with api.client() as anonymous:
        assert anonymous.post("/api/devices/codes", json={"officer": "officer"}
                              ).status_code == 401
        assert anonymous.get("/api/devices").status_code == 401
    with api.client("admin", csrf=False) as c:
        assert c.post("/api/devices/codes", json={"officer": "officer"}).status_code == 403
    with api.client("admin") as admin:
        for bad in ({"officer": "operator"}, {"officer": "nobody"}, {"officer": "a/b"},
                    {"officer": "officer", "label": "x" * 65}, {"officer": "officer", "x": 1},
                    {}):
            assert admin.post("/api/devices/codes", json=bad).status_code == 400, bad
        assert admin.post("/api/devices/dev-none/revoke").status_code == 404
        assert admin.post("/api/devices/dev%20x/revoke").status_code == 400
    with api.client("officer") as plain:  # a session that is no enrolled device
        assert plain.put("/api/devices/current", json={"delivery": "mqtt"}).status_code == 404
        assert plain.put("/api/devices/current", json={"delivery": "pigeon"}).status_code == 400

    failed_before = sum(r.action == "device.enrol_failed" for r in audit_rows(api))
    used = issue(api)
    assert enrol(api, used.lower().replace("-", " ")).status_code == 201  # typed loosely
    assert enrol(api, used).status_code == 400  # reused
    assert enrol(api, "ABCD-EFGH").status_code == 400  # wrong
    devices = api.backend.devices
    ttl, devices.code_ttl = devices.code_ttl, timedelta(seconds=5)
    try:
        stale = issue(api)
    finally:
        devices.code_ttl = ttl
    api.clock.advance(timedelta(seconds=6))
    assert enrol(api, stale).status_code == 400  # expired
    for body in ({"code": ""}, {"code": "x" * 33}, {"code": 7}, {}):
        with httpx.Client(base_url=api.url, timeout=10) as c:
            assert c.post("/api/devices/enrol", json=body).status_code == 400, body
    assert enrol(api, "2345-6789").status_code == 400  # the 4th wrong code
    assert enrol(api, "2345-678A").status_code == 400  # the 5th: the lock starts
    valid = issue(api)
    throttled = enrol(api, valid)
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) >= 1
    api.clock.advance(timedelta(seconds=31))  # the lock passes: the valid code works
    assert enrol(api, valid).status_code == 201
    failed = sum(r.action == "device.enrol_failed" for r in audit_rows(api))
    assert failed - failed_before == 5
    assert api.call(api.gov.verify_audit()).ok


def test_issue14_disabled_officer_loses_every_mqtt_login_at_once(
        api: LiveApi, broker: DynsecBroker) -> None:
    """R23: disabling a user ends their sessions and deletes their broker accounts (the
    enrolled tablet's and a plain browser session's), as revoking a device does: the real
    Mosquitto cuts the open connection and refuses both logins; the audit row says so."""
    dep = api.seed.deployment
    api.call(api.backend.accounts.add_user("officer2", "officer", PASSWORD, "test"))
    enrolled = enrol(api, issue(api, officer="officer2"))
    assert enrolled.status_code == 201, enrolled.text
    tablet = tablet_client(api, enrolled)
    logins = [tablet.post("/api/mqtt/credentials", json={"deployment_id": dep})]
    with httpx.Client(base_url=api.url, timeout=10) as browser:
        me = browser.post("/api/auth/login", json={"name": "officer2", "password": PASSWORD})
        assert me.status_code == 200 and me.json()["device_id"] is None
        logins.append(browser.post("/api/mqtt/credentials", json={"deployment_id": dep},
                                   headers={"X-CSRF-Token": me.json()["csrf_token"],
                                            "Cookie": f"{COOKIE}={me.cookies[COOKIE]}"}))
    assert [r.status_code for r in logins] == [201, 201], [r.text for r in logins]
    creds = [r.json() for r in logins]
    assert creds[0]["username"] != creds[1]["username"]

    async def run() -> None:
        async with mqtt_login(broker, creds[0]) as mqtt:
            await mqtt.subscribe(creds[0]["topic"], qos=1)
            r = await asyncio.to_thread(_disable, api, "officer2")
            assert r == {"user": "officer2", "action": "disable", "sessions_ended": 2}
            with pytest.raises(aiomqtt.MqttError):  # the open connection is cut
                async with asyncio.timeout(REVOKED_WITHIN_S):
                    async for _ in mqtt.messages:
                        pass
        for login in creds:
            with pytest.raises(aiomqtt.MqttCodeError) as refused:
                async with mqtt_login(broker, login):
                    pass
            assert refused.value.rc in (4, 5, 134, 135), refused.value

    try:
        api.call(run(), timeout=60)
        assert tablet.get("/api/auth/me").status_code == 401
        rows = [r for r in audit_rows(api) if r.action == "user.disable"
                and r.subjects == {"user": "officer2"}]
        assert len(rows) == 1 and rows[0].actor == "admin"
        assert rows[0].details == {"sessions_ended": 2, "mqtt_deleted": 2,
                                   "mqtt_revoked": True}
        # the device is not revoked: re-enabled, the officer's tablet works again
        assert device_list(api)[enrolled.json()["device_id"]]["revoked_at"] is None
    finally:
        tablet.close()
        with api.client("admin") as admin:
            assert admin.post("/api/users/officer2/enable").status_code == 200
    assert api.call(api.gov.verify_audit()).ok


def _disable(api: LiveApi, name: str) -> dict[str, Any]:
    with api.client("admin") as admin:
        r = admin.post(f"/api/users/{name}/disable")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_issue14_r19_officer_mutes_and_unmutes_the_alarm_audited(api: LiveApi) -> None:
    """The alarm's mute is the session's own device's, audited each way (R19); a session of
    no enrolled device is recorded for its user."""
    enrolled = enrol(api, issue(api))
    assert enrolled.status_code == 201, enrolled.text
    device_id = enrolled.json()["device_id"]
    with tablet_client(api, enrolled) as tablet:
        for muted in (True, False):
            r = tablet.post("/api/devices/current/alarm", json={"muted": muted})
            assert r.status_code == 200, r.text
            assert r.json() == {"muted": muted, "device_id": device_id}
            assert r.headers["cache-control"] == "no-store"
    with api.client("officer") as plain:
        r = plain.post("/api/devices/current/alarm", json={"muted": True})
        assert r.status_code == 200 and r.json() == {"muted": True, "device_id": None}
    rows = [r for r in audit_rows(api) if r.action.startswith("device.alarm_")]
    assert [(r.action, r.actor, r.subjects) for r in rows[-3:]] == [
        ("device.alarm_muted", "officer", {"user": "officer", "device": device_id}),
        ("device.alarm_unmuted", "officer", {"user": "officer", "device": device_id}),
        ("device.alarm_muted", "officer", {"user": "officer"})]
    assert api.call(api.gov.verify_audit()).ok


def test_issue14_alarm_route_refuses_other_roles_devices_bodies_and_no_csrf(
        api: LiveApi) -> None:
    """Hostile: only an officer's session; no CSRF token, 403; the device cannot be named
    (another device's id in the body is refused, the path has none); bodies that are not
    ``{"muted": <bool>}`` are 400 (Litestar's lax decoding takes ``"true"`` for true, as in
    every route); nothing of these is audited."""
    before = sum(r.action.startswith("device.alarm_") for r in audit_rows(api))
    for role in ("operator", "technical", "commander", "admin"):
        with api.client(role) as c:
            assert c.post("/api/devices/current/alarm", json={"muted": True}
                          ).status_code == 403, role
    with api.client() as anonymous:
        assert anonymous.post("/api/devices/current/alarm", json={"muted": True}
                              ).status_code == 401
    with api.client("officer", csrf=False) as c:
        assert c.post("/api/devices/current/alarm", json={"muted": True}).status_code == 403
    other = enrol(api, issue(api)).json()["device_id"]
    with api.client("officer") as c:
        for bad in ({"muted": True, "device_id": other}, {"muted": "maybe"}, {"muted": 2},
                    {"muted": None}, {"muted": [True]}, {}, [], {"mute": True}):
            assert c.post("/api/devices/current/alarm", json=bad).status_code == 400, bad
        assert c.post("/api/devices/current/alarm", content=b"{",
                      headers={"Content-Type": "application/json"}).status_code == 400
        assert c.post(f"/api/devices/{other}/alarm", json={"muted": True}
                      ).status_code in (403, 404, 405)
        assert c.get("/api/devices/current/alarm").status_code in (403, 404, 405)
    assert sum(r.action.startswith("device.alarm_") for r in audit_rows(api)) == before
