"""Issue 14: an officer session's MQTT login (``POST /api/mqtt/credentials``) against a real
Mosquitto with the dynamic-security plugin: it reads its deployment's alert topic and nothing
else, cannot publish, and logout deletes it (the broker refuses it and drops its connection)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import msgspec
import pytest

from mobile_api.settings import ApiSettings, DynsecSettings, OfficerMqttSettings
from tests.mobile_api.conftest import REPO, TEST_SETTINGS, LiveApi, seed
from tests.mosquitto_dynsec import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    SERVER_PASSWORD,
    SERVER_USER,
    DynsecBroker,
    started_broker,
)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DynsecBroker]:
    yield from started_broker(tmp_path_factory)


@pytest.fixture(scope="module")
def mqtt_api(broker: DynsecBroker, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[LiveApi]:
    if not (REPO / "var" / "models" / "models.json").is_file():
        pytest.skip("models not built: run `pinchpoint models build` (var/models)")
    settings = msgspec.structs.replace(TEST_SETTINGS, mqtt=OfficerMqttSettings(
        ws_url=broker.ws_url, accounts=DynsecSettings(
            port=broker.port, username=ADMIN_USER, password=ADMIN_PASSWORD, timeout_s=10)))
    api = LiveApi(tmp_path_factory.mktemp("api"), settings)
    try:
        api.call(seed(api))
        yield api
    finally:
        api.close()


def grant(api: LiveApi, client: httpx.Client) -> dict[str, Any]:
    r = client.post("/api/mqtt/credentials", json={"deployment_id": api.seed.deployment})
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    body: dict[str, Any] = r.json()
    return body


def device(broker: DynsecBroker, login: dict[str, Any]) -> aiomqtt.Client:
    return aiomqtt.Client("127.0.0.1", broker.port, username=login["username"],
                          password=login["password"], identifier=login["client_id"],
                          timeout=10)


def server(broker: DynsecBroker) -> aiomqtt.Client:
    return aiomqtt.Client("127.0.0.1", broker.port, username=SERVER_USER,
                          password=SERVER_PASSWORD, identifier="test-server", timeout=10)


async def next_payload(client: aiomqtt.Client) -> bytes:
    async for message in client.messages:
        assert isinstance(message.payload, bytes)
        return message.payload
    raise AssertionError("no message")


def test_issue14_officer_login_reads_its_deployment_topic_only(
        mqtt_api: LiveApi, broker: DynsecBroker) -> None:
    """The officer's account subscribes to its deployment's topic; another deployment's
    topic and a wildcard are refused by the broker's ACL (SUBACK 0x80)."""
    with mqtt_api.client("officer") as officer:
        login = grant(mqtt_api, officer)
    assert login["ws_url"] == broker.ws_url
    assert login["topic"] == f"pinchpoint/{mqtt_api.seed.deployment}/alerts"

    async def run() -> None:
        async with device(broker, login) as dev, server(broker) as srv:
            ok = await dev.subscribe(login["topic"], qos=1)
            other = await dev.subscribe("pinchpoint/dep-other/alerts", qos=1)
            wild = await dev.subscribe("pinchpoint/+/alerts", qos=1)
            everything = await dev.subscribe("#", qos=1)
            assert _granted(ok) == [1]
            for refused in (other, wild, everything):
                assert _granted(refused) == [128]
            await srv.publish("pinchpoint/dep-other/alerts", b'{"alert_id":"B"}', qos=1)
            await srv.publish(login["topic"], b'{"alert_id":"A"}', qos=1)
            got = await asyncio.wait_for(next_payload(dev), 10)
            assert json.loads(got) == {"alert_id": "A"}  # B's never reached this device

    mqtt_api.call(run())


def test_issue14_officer_account_cannot_publish(mqtt_api: LiveApi, broker: DynsecBroker) -> None:
    """A lost tablet cannot raise a false alert: the broker drops the officer's publish (the
    subscriber then gets the server's marker first, which was sent after it)."""
    with mqtt_api.client("officer") as officer:
        login = grant(mqtt_api, officer)

    async def run() -> None:
        async with device(broker, login) as dev, server(broker) as srv:
            await dev.subscribe(login["topic"], qos=1)
            await dev.publish(login["topic"], b'{"alert_id":"forged"}', qos=1)  # PUBACK'd
            await srv.publish(login["topic"], b'{"alert_id":"marker"}', qos=1)
            got = await asyncio.wait_for(next_payload(dev), 10)
            assert json.loads(got) == {"alert_id": "marker"}

    mqtt_api.call(run())


def test_issue14_logout_revokes_the_sessions_mqtt_account(
        mqtt_api: LiveApi, broker: DynsecBroker) -> None:
    """Logout deletes the account: the open connection is dropped and the same login is
    refused afterwards. A second grant of a session replaces the first password."""
    officer = mqtt_api.client("officer")
    first = grant(mqtt_api, officer)
    login = grant(mqtt_api, officer)
    assert login["username"] == first["username"] and login["password"] != first["password"]

    async def refused(creds: dict[str, Any]) -> None:
        with pytest.raises(aiomqtt.MqttCodeError) as err:
            async with device(broker, creds):
                pass
        assert err.value.rc in (4, 5, 134, 135), err.value  # bad login / not authorised

    async def run() -> None:
        await refused(first)
        async with device(broker, login) as dev:
            await dev.subscribe(login["topic"], qos=1)
            out = await asyncio.to_thread(officer.post, "/api/auth/logout")
            assert out.status_code == 204
            with pytest.raises(aiomqtt.MqttError):  # the broker cut the connection
                await asyncio.wait_for(next_payload(dev), 20)
        await refused(login)

    try:
        mqtt_api.call(run(), timeout=60)
    finally:
        officer.close()


def test_issue14_credentials_route_refuses_what_it_must(mqtt_api: LiveApi) -> None:
    """Only an officer gets a login; no CSRF, a wildcard or separator in the id, an unknown
    field, an unknown deployment are refused before the broker is asked."""
    dep = mqtt_api.seed.deployment
    for role in ("operator", "technical", "commander", "admin"):
        with mqtt_api.client(role) as c:
            assert c.post("/api/mqtt/credentials", json={"deployment_id": dep}
                          ).status_code == 403
    with mqtt_api.client() as anonymous:
        assert anonymous.post("/api/mqtt/credentials", json={"deployment_id": dep}
                              ).status_code == 401
    with mqtt_api.client("officer", csrf=False) as c:
        assert c.post("/api/mqtt/credentials", json={"deployment_id": dep}).status_code == 403
    with mqtt_api.client("officer") as c:
        for bad in ({"deployment_id": "+"}, {"deployment_id": "#"},
                    {"deployment_id": f"{dep}/#"}, {"deployment_id": ""},
                    {"deployment_id": "x" * 129}, {"deployment_id": dep, "extra": 1},
                    {"deployment_id": 7}, {}):
            assert c.post("/api/mqtt/credentials", json=bad).status_code == 400, bad
        assert c.post("/api/mqtt/credentials", json={"deployment_id": "dep-none"}
                      ).status_code == 404


def test_issue14_mqtt_settings_refuse_bad_values_by_key() -> None:
    for bad, key in (({"ws_url": "http://broker/mqtt"}, "$.mqtt.ws_url"),
                     ({"ws_url": "ws://broker/mqtt?x=1"}, "$.mqtt.ws_url"),
                     ({"ws_url": "ws://user:pw@broker/mqtt"}, "$.mqtt.ws_url"),
                     ({"ws_url": "wss://b", "topic": "pinchpoint/#"}, "$.mqtt.topic"),
                     ({"ws_url": "wss://b", "accounts": {"port": 0}}, "$.mqtt.accounts.port"),
                     ({"ws_url": "wss://b", "accounts": {"timeout_s": 0}},
                      "$.mqtt.accounts.timeout_s"),
                     ({"ws_url": "wss://b", "accounts": {"type": "file"}},
                      "$.mqtt.accounts.type"),
                     ({"ws_url": "wss://b", "nope": 1}, "$.mqtt")):
        with pytest.raises(msgspec.ValidationError, match=key.replace("$", r"\$")):
            msgspec.convert({"mqtt": bad}, ApiSettings)
    ok = msgspec.convert({"mqtt": {"ws_url": "wss://pinchpoint.local:8884/mqtt"}}, ApiSettings)
    assert ok.mqtt is not None and ok.mqtt.ws_origin == "wss://pinchpoint.local:8884"
    secret = OfficerMqttSettings(ws_url="wss://b", accounts=DynsecSettings(password="hunter2"))
    assert "hunter2" not in repr(secret) and "hunter2" not in str(secret)


def _granted(result: Any) -> list[int]:
    """SUBACK granted QoS values (paho gives ReasonCode objects or ints by protocol)."""
    return [int(getattr(r, "value", r)) for r in result]


def test_issue14_csp_allows_the_broker_origin(mqtt_api: LiveApi, tmp_path: Path) -> None:
    """The PWA's CSP connect-src names the broker's ws origin (else the browser blocks it)."""
    assert mqtt_api.backend.settings.mqtt is not None
    r = httpx.get(f"{mqtt_api.url}/index.html", timeout=10)
    if r.status_code == 404:
        pytest.skip("no PWA index served from this test's working directory")
    assert f"connect-src 'self' {mqtt_api.backend.settings.mqtt.ws_origin};" in \
        r.headers["content-security-policy"]
    api = httpx.get(f"{mqtt_api.url}/api/auth/me", timeout=10)  # every response, errors too
    assert api.status_code == 401
    assert mqtt_api.backend.settings.mqtt.ws_origin in api.headers["content-security-policy"]
