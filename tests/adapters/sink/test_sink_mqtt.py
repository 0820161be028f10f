"""sink.mqtt against a real, private Mosquitto, fed by the dispatcher from a real SQLite
outbox (R5, R6, R24)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import subprocess
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import aiomqtt
import pytest
from mosquitto_broker import (
    OFFICER_PASSWORD,
    OFFICER_USER,
    SERVER_PASSWORD,
    SERVER_USER,
    Broker,
    free_port,
    write_passwords,
)

from adapters.sink.mqtt import PAYLOAD_KEYS, MqttSink
from kernel import tls
from kernel.clock import SystemClock
from kernel.delivery import signed_urls
from kernel.delivery.dispatcher import Dispatcher, RetryPolicy
from kernel.executor import BoundedExecutor
from kernel.protocols.adapter import AdapterContext
from kernel.protocols.sink import AlertNotice, AlertSink, DeliveryRetry

TOPIC = "pinchpoint/dep-1/alerts"
FAST = RetryPolicy(initial=0.05, maximum=0.2, poll=5.0)


class Officer:
    """An officer's device: a persistent MQTT session that reconnects by itself."""

    def __init__(self, port: int, transport: Literal["tcp", "websockets"] = "tcp",
                 user: str = OFFICER_USER, tls_context: ssl.SSLContext | None = None) -> None:
        self.port = port
        self.transport = transport
        self.user = user
        self.tls_context = tls_context
        self.messages: list[dict[str, Any]] = []
        self.raw: list[bytes] = []
        self.subscribed = asyncio.Event()
        self.arrived = asyncio.Event()

    async def run(self) -> None:
        while True:
            try:
                async with aiomqtt.Client(
                    "127.0.0.1", self.port, username=self.user, password=OFFICER_PASSWORD,
                    identifier=f"{self.user}-tablet", clean_session=False,
                    transport=self.transport, tls_context=self.tls_context,
                    websocket_path="/mqtt" if self.transport == "websockets" else None,
                ) as client:
                    await client.subscribe(TOPIC, qos=1)
                    self.subscribed.set()
                    async for message in client.messages:
                        assert isinstance(message.payload, bytes)
                        self.raw.append(message.payload)
                        self.messages.append(json.loads(message.payload))
                        self.arrived.set()
            except aiomqtt.MqttError:
                await asyncio.sleep(0.05)

    def seqs(self) -> list[int]:
        """Distinct seqs in order of first arrival (QoS 1 may repeat a message)."""
        out: list[int] = []
        for m in self.messages:
            if m["seq"] not in out:
                out.append(m["seq"])
        return out

    async def wait_for(self, count: int, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.seqs()) < count:
                self.arrived.clear()
                await self.arrived.wait()


@contextlib.asynccontextmanager
async def running(coro: Any) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.ensure_future(coro)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def make_sink(data_dir: Path, port: int, **extra: Any) -> tuple[MqttSink, BoundedExecutor]:
    executor = BoundedExecutor(1, 1)
    context = AdapterContext(name="mqtt", data_dir=data_dir, executor=executor,
                             clock=SystemClock(), log=logging.getLogger("test.sink.mqtt"))
    settings: dict[str, Any] = {"host": "127.0.0.1", "port": port, "username": SERVER_USER,
                                "password": SERVER_PASSWORD,
                                "url_base": "https://pp.local:8443", "timeout_s": 1.0}
    config = MqttSink.Config(**(settings | extra))
    return MqttSink(config, context), executor


def check_payload(raw: bytes, message: dict[str, Any], secret: bytes) -> None:
    """R6/R24: identifiers and signed links only, no image bytes, no names or references."""
    assert set(message) == PAYLOAD_KEYS
    assert len(raw) < 1200  # three links and a few ids; an image would be kilobytes
    assert set(message["images"]) == {"face", "torso", "watchlist"}
    now = datetime.now(UTC)
    for kind, url in message["images"].items():
        parts = urlsplit(url)
        assert parts.scheme == "https" and parts.netloc == "pp.local:8443"
        assert parts.path == f"/api/alerts/{message['alert_id']}/images/{kind}"
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        assert set(query) == {"exp", "sig"}
        assert signed_urls.verify(parts.path, query["exp"], query["sig"], secret, now)
    assert message["category"] == "wanted" and message["camera_id"] == "gate-1"


async def test_mqtt_delivery_survives_broker_restart(  # R5 R6
    broker: Broker, sqlite_outbox: Any, tmp_path: Path
) -> None:
    """Notices reach an officer's device in order; while the broker is down they wait in the
    outbox (DeliveryRetry, position unchanged); after a restart all arrive, none lost."""
    officer = Officer(broker.port)
    sink, executor = make_sink(tmp_path, broker.port)
    assert isinstance(sink, AlertSink)
    dispatcher = Dispatcher(sqlite_outbox, {"mqtt": sink}, FAST)
    try:
        async with running(officer.run()), running(dispatcher.run_sink("mqtt")):
            await asyncio.wait_for(officer.subscribed.wait(), 5)
            first = await sqlite_outbox.confirm(3)
            started = time.perf_counter()
            dispatcher.notify()
            await officer.wait_for(3)
            logging.getLogger("test").info("3 notices outbox→device in %.1f ms",
                                           (time.perf_counter() - started) * 1000)
            assert officer.seqs() == first
            assert await sqlite_outbox.wait_position("mqtt", first[-1]) == first[-1]

            await broker.stop()
            second = await sqlite_outbox.confirm(3)
            dispatcher.notify()
            progress = dispatcher.progress["mqtt"]
            async with asyncio.timeout(10):
                while progress.retries < 3:
                    await asyncio.sleep(0.02)
            # Nothing moved while the broker was down: the outbox still holds all three.
            assert await sqlite_outbox.position("mqtt") == first[-1]
            assert [n.seq for n in await sqlite_outbox.pending("mqtt", 10)] == second
            assert progress.last_error is not None and "DeliveryRetry" in progress.last_error

            await broker.start()  # same port, same persisted sessions
            await officer.wait_for(6, timeout=15)
            assert officer.seqs() == first + second
            assert await sqlite_outbox.wait_position("mqtt", second[-1]) == second[-1]
            assert await sqlite_outbox.pending("mqtt", 10) == []
    finally:
        await sink.close()
        executor.shutdown()
    secret = signed_urls.load_or_create_secret(tmp_path / "keys")
    for raw, message in zip(officer.raw, officer.messages, strict=True):
        check_payload(raw, message, secret)


async def test_mqtt_over_websockets(  # R6
    broker: Broker, sqlite_outbox: Any, tmp_path: Path
) -> None:
    """The PWA's path: server and device both on the broker's websockets listener."""
    officer = Officer(broker.ws_port, transport="websockets")
    sink, executor = make_sink(tmp_path, broker.ws_port, transport="websockets")
    dispatcher = Dispatcher(sqlite_outbox, {"mqtt": sink}, FAST)
    try:
        async with running(officer.run()), running(dispatcher.run_sink("mqtt")):
            await asyncio.wait_for(officer.subscribed.wait(), 5)
            seqs = await sqlite_outbox.confirm(2)
            dispatcher.notify()
            await officer.wait_for(2)
            assert officer.seqs() == seqs
    finally:
        await sink.close()
        executor.shutdown()


async def test_mqtt_broker_down_raises_delivery_retry(tmp_path: Path) -> None:  # R6
    """No broker at all: deliver raises DeliveryRetry (the outbox keeps the notice)."""
    sink, executor = make_sink(tmp_path, free_port())
    notice = AlertNotice(seq=1, alert_id="a", deployment_id="dep-1", category="wanted",
                         camera_id="gate-1", confirmed_at="2026-01-01T00:00:00+00:00")
    try:
        with pytest.raises(DeliveryRetry):
            await sink.deliver(notice)
    finally:
        await sink.close()
        executor.shutdown()


async def test_officer_cannot_publish_alerts(broker: Broker) -> None:  # R6 R23
    """The ACL shape of deploy/mosquitto: an officer's device may read, never publish, so a
    stolen tablet cannot push a false alert to colleagues."""
    officer = Officer(broker.port)
    async with running(officer.run()):
        await asyncio.wait_for(officer.subscribed.wait(), 5)
        async with aiomqtt.Client("127.0.0.1", broker.port, username=OFFICER_USER,
                                  password=OFFICER_PASSWORD, identifier="officer-1-rogue",
                                  ) as rogue:
            # Mosquitto acknowledges and drops a publish the ACL denies (MQTT 3.1.1).
            await rogue.publish(TOPIC, b'{"seq": 999}', qos=1)
        async with aiomqtt.Client("127.0.0.1", broker.port, username=SERVER_USER,
                                  password=SERVER_PASSWORD, identifier="srv") as server:
            await server.publish(TOPIC, b'{"seq": 1}', qos=1)
        await officer.wait_for(1)
        await asyncio.sleep(0.2)
    assert officer.seqs() == [1]


DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "mosquitto"


async def test_deploy_config_tls_end_to_end(  # R6 R23
    broker: Broker, sqlite_outbox: Any, tmp_path: Path
) -> None:
    """The shipped deploy/mosquitto config and ACL, with only paths, ports and the AP address
    changed: the server publishes over TLS on loopback, an officer's PWA path (secure
    WebSockets) receives, both trusting only the CA from ``pinchpoint tls init``."""
    await broker.stop()  # reuse its directory and helpers, not its config
    work = tmp_path / "deploy"
    (work / "db").mkdir(parents=True)
    files = tls.init_tls(work / "tls", ["pinchpoint.local"], ["127.0.0.1"])
    passwd = work / "passwd"
    await asyncio.to_thread(write_passwords, passwd, {"pinchpoint-server": SERVER_PASSWORD,
                                                      "officer-0001": OFFICER_PASSWORD})
    (work / "acl").write_text((DEPLOY / "acl").read_text().replace("dep-2026-0001", "dep-1"))
    await asyncio.to_thread(subprocess.run, [
        "/usr/bin/mosquitto_ctrl", "dynsec", "init", str(work / "dynamic-security.json"),
        "pinchpoint-admin", "admin-secret-1"], check=True, capture_output=True)
    mqtt_port, wss_port = free_port(), free_port()
    conf = (DEPLOY / "mosquitto.conf").read_text()
    for old, new in [("/etc/mosquitto/pinchpoint/", f"{work}/"),
                     ("/var/lib/pinchpoint/tls/", f"{work}/tls/"),
                     ("/var/lib/mosquitto/", f"{work}/db/"),
                     ("listener 8883 127.0.0.1", f"listener {mqtt_port} 127.0.0.1"),
                     ("listener 8884 10.8.0.1", f"listener {wss_port} 127.0.0.1"),
                     ("log_dest stderr", f"log_dest file {work}/mosquitto.log")]:
        assert old in conf
        conf = conf.replace(old, new)
    broker.conf = work / "mosquitto.conf"
    broker.conf.write_text(f"user {broker.user}\n" + conf)
    broker.port, broker.ws_port = mqtt_port, wss_port
    await broker.start()

    device_tls = ssl.create_default_context(cafile=str(files.ca_cert))
    officer = Officer(wss_port, transport="websockets", user="officer-0001",
                      tls_context=device_tls)
    sink, executor = make_sink(tmp_path, mqtt_port, ca_file=str(files.ca_cert),
                               username="pinchpoint-server")
    dispatcher = Dispatcher(sqlite_outbox, {"mqtt": sink}, FAST)
    try:
        async with running(officer.run()), running(dispatcher.run_sink("mqtt")):
            await asyncio.wait_for(officer.subscribed.wait(), 5)
            seqs = await sqlite_outbox.confirm(2)
            dispatcher.notify()
            await officer.wait_for(2)
            assert officer.seqs() == seqs
    finally:
        await sink.close()
        executor.shutdown()
