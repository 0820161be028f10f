"""kill -9 at every step of candidate → confirm → outbox → sink, with restart (issue 12, fault
suite; R4, R5, R6): 0 accepted candidates or confirmed alerts lost, 0 duplicate records.

A real ``pinchpoint run`` (file camera looping a walk-past clip, the ONNX engine, a real
SQLite file, the HTTP API, the MQTT sink to a private Mosquitto and the Web Push sink to the
local push service) is started with ``PINCHPOINT_CRASH_AT`` naming one step
(:mod:`kernel.crashpoints`); it SIGKILLs itself there, deterministically, and the next start
on the same data directory must recover. After every kill the store is checked: each alert
with both sealed images and exactly one audit row of its creation, no orphan image, a
confirmed alert always with exactly one outbox row and one confirmation audit row, a
candidate never with one (confirmation and outbox row are one transaction).

Delivery is **at least once** on both sinks, and this test measures exactly how much more:
a kill after the sink returned (broker PUBACK / push service 201) and before the outbox
position was written re-sends that notice on restart. Neither sink is idempotent by message
id on the wire (MQTT QoS 1 on a clean session per connection; a Web Push service wakes the
device once per request), so each such kill is one duplicate *delivery* of the same alert id:
the PWA's service worker shows it under the notification tag ``alert-<id>`` (the second
replaces the first) and an MQTT client must fold by ``alert_id`` (the test's device does). A
duplicate delivery, never a duplicate alert. Measured: the alert killed once between publish
and acknowledgement (``after_publish``) arrived twice on each sink (the re-send came in the
next run, killed just after acknowledging it: nothing more was sent after that); the alert
delivered without a kill arrived once.

A match accepted by the matcher but killed before its commit (``candidate.accepted``) was
never acknowledged to anyone (persist before announce): it is in no store and on no screen,
and the walker raises a new candidate on the next pass after restart. That is what "not
lost" can mean for work in memory at a power cut; the test checks nothing half-written
remains.
"""

from __future__ import annotations

import asyncio
import collections
import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from kernel.auth.accounts import Accounts
from kernel.auth.passwords import Passwords
from kernel.clock import SystemClock
from kernel.config import load as load_config
from kernel.delivery import vapid
from kernel.domain.governance import open_governance
from tests.adapters.sink.mosquitto_broker import (
    MOSQUITTO,
    SERVER_PASSWORD,
    SERVER_USER,
    Broker,
    Device,
)
from tests.adapters.sink.push_service import SUBJECT, PushService, serving
from tests.faults.pinchpoint_process import PinchpointProcess
from tests.integration.pipeline_rig import free_port, go_live, make_engine, make_walkpast_clip
from tests.waiting import until

pytestmark = pytest.mark.faults

PASSWORD = "kill-nine-operator-pw"


def write_configs(tmp: Path, models: Path, clip: Path, port: int, broker: int
                  ) -> tuple[Path, Path, Path]:
    """Three configs on one data directory: the whole process (camera, engine, pipeline),
    the API half (store, sinks, HTTP) the confirm steps need, and the sinks half (store and
    sinks only) of the outbox steps. Each leaves out what its steps do not use, so a restart
    does not load models or the web stack it would not touch (under this machine's load a
    start took 13 s with everything, most of it imports)."""
    sinks = f"""
data_dir = "{tmp / 'var'}"
[store]
type = "sqlite"
[retention]
enabled = false
[[sinks]]
type = "mqtt"
port = {broker}
username = "{SERVER_USER}"
password = "{SERVER_PASSWORD}"
url_base = "http://127.0.0.1:{port}"
timeout_s = 2.0
[[sinks]]
type = "webpush"
subject = "{SUBJECT}"
timeout_s = 2.0
"""
    api = f"""
[server]
host = "127.0.0.1"
port = {port}
[[services]]
type = "http"
secure_cookie = false
argon2_time_cost = 1
argon2_memory_kib = 8
argon2_parallelism = 1
"""
    pipeline = f"""
[pipeline]
workers = 2
[[cameras]]
id = "gate-1"
type = "file"
path = "{clip}"
loop = true
realtime = true
[engine]
type = "onnx"
models_dir = "{models}"
[matching]
refresh_s = 0.2
[matching.tracker]
repeat_s = 1.0
# each pass of the clip's person an alert of its own (issue 15's episodes would join them):
# the kill points are walked with two separate candidates
[matching.episodes]
window_s = 1.0
"""
    paths = tmp / "full.toml", tmp / "api.toml", tmp / "sinks.toml"
    for path, text in zip(paths, (sinks + api + pipeline, sinks + api, sinks), strict=True):
        path.write_text(text)
    return paths


class StoreView:
    """The SQLite file as the next start finds it (read after the kill, nothing running)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.path) as db:
            return db.execute(sql).fetchall()

    def alerts(self) -> dict[str, str]:
        return dict(self._rows("SELECT id, state FROM alerts ORDER BY created_at"))  # type: ignore[arg-type]

    def outbox(self) -> list[tuple[int, str]]:
        return [(int(s), str(a)) for s, a in self._rows(
            "SELECT seq, alert_id FROM outbox ORDER BY seq")]

    def positions(self) -> dict[str, int]:
        return {str(n): int(s) for n, s in self._rows("SELECT sink_name, seq FROM sink_positions")}

    def check(self) -> dict[str, str]:
        """Every invariant a kill must not break; the alerts (id → state)."""
        alerts = self.alerts()
        audit = collections.Counter(
            (str(action), str(alert)) for action, alert in self._rows(
                "SELECT action, json_extract(subjects, '$.alert') FROM audit "
                "WHERE action IN ('alert.candidate', 'alert.confirm')"))
        orphans = self._rows(
            "SELECT id FROM blobs WHERE kind IN ('face', 'torso') AND id NOT IN "
            "(SELECT face_blob FROM alerts UNION SELECT torso_blob FROM alerts)")
        missing = self._rows(
            "SELECT id FROM alerts WHERE face_blob NOT IN (SELECT id FROM blobs) "
            "OR torso_blob NOT IN (SELECT id FROM blobs)")
        assert orphans == [] and missing == [], (orphans, missing)
        outbox = collections.Counter(a for _, a in self.outbox())
        # issue 15: sightings confirmed with their episode are named in its confirm row and
        # have no outbox row of their own (officers get the one alert)
        with_episode = collections.Counter(str(a) for (a,) in self._rows(
            "SELECT j.value FROM audit, json_each(audit.details, '$.sightings') j "
            "WHERE audit.action = 'alert.confirm'"))
        for alert, state in alerts.items():
            assert audit[("alert.candidate", alert)] == 1, (alert, audit)
            if with_episode[alert]:
                assert state == "confirmed" and with_episode[alert] == 1, (alert, state)
                assert audit[("alert.confirm", alert)] == 0 and outbox[alert] == 0, alert
                continue
            confirmed = int(state == "confirmed")
            assert audit[("alert.confirm", alert)] == confirmed, (alert, state, audit)
            assert outbox[alert] == confirmed, (alert, state, outbox)
        assert set(outbox) <= set(alerts)
        return alerts


class Operator:
    """The operator at the console: logs in over HTTP, lists and confirms candidates."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=10)
        self.headers: dict[str, str] = {}

    async def login(self) -> None:
        r = await self.http.post("/api/auth/login", json={"name": "op", "password": PASSWORD})
        assert r.status_code == 200, r.text
        self.headers = {"X-CSRF-Token": r.json()["csrf_token"]}

    async def candidates(self) -> list[str]:
        r = await self.http.get("/api/candidates")
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()]

    async def confirm_dies(self, alert_id: str) -> None:
        """Confirm; the process is armed to die inside the call, so no answer comes."""
        with pytest.raises(httpx.TransportError):
            await self.http.post(f"/api/candidates/{alert_id}/confirm", headers=self.headers)

    async def close(self) -> None:
        await self.http.aclose()


async def test_faults_kill9_at_every_step_loses_nothing_and_duplicates_no_record(
    models_dir: Path, tmp_path: Path
) -> None:
    if not MOSQUITTO.exists():
        pytest.skip("mosquitto not installed (apt-get install -y mosquitto)")
    engine = make_engine(models_dir)  # composes the clip and enrols, in this process
    clip = make_walkpast_clip(tmp_path / "walkpast.mp4", engine)
    (tmp_path / "broker").mkdir()
    broker = Broker(tmp_path / "broker", "+")
    await broker.start()
    push = PushService(vapid.load_or_create(tmp_path / "var" / "keys").public_key_b64url)
    port = free_port()
    full, api, sinks = write_configs(tmp_path, models_dir, clip, port, broker.port)
    base = f"http://127.0.0.1:{port}"
    proc = PinchpointProcess(full, base, tmp_path / "pinchpoint.log")
    store = StoreView(tmp_path / "var" / "pinchpoint.db")
    tasks: list[asyncio.Task[None]] = []
    operator = Operator(base)
    try:
        async with serving(push):
            gov = await open_governance(load_config(full, environ={}), SystemClock())
            try:
                dep = await go_live(gov, engine)
                accounts = Accounts(gov.store, gov.ctx.clock, Passwords(1, 8, 1))
                await accounts.add_user("op", "operator", PASSWORD, "test")
                await accounts.add_user("ofc", "officer", PASSWORD, "test")
                tablet = push.device("tablet").subscription()
                await gov.push.subscribe("ofc", endpoint=tablet.endpoint, p256dh=tablet.p256dh,
                                         auth=tablet.auth, device="tablet", deployment_id=dep)
            finally:
                await gov.close()
                await engine.close()
            device = Device(broker.port, f"pinchpoint/{dep}/alerts")
            tasks.append(asyncio.create_task(device.run()))
            await asyncio.wait_for(device.subscribed.wait(), 10)

            def mqtt() -> collections.Counter[str]:
                return collections.Counter(p["alert_id"] for p in device.payloads)

            def pushed() -> collections.Counter[str]:
                return collections.Counter(json.loads(p)["alert_id"]
                                           for p in push.received.get("tablet", []))

            async def kill_at(point: str, config: Path = sinks) -> dict[str, str]:
                await proc.start(point, config, serves_http=config != sinks)
                return await killed()

            async def killed() -> dict[str, str]:
                await proc.killed()
                return store.check()

            # -- the candidate steps: the pipeline on the clip raises them -----------------
            assert await kill_at("candidate.accepted", full) == {}  # nothing half-written
            after = await kill_at("candidate.committed", full)
            assert list(after.values()) == ["candidate"]
            after = await kill_at("candidate.announced", full)
            assert list(after.values()) == ["candidate", "candidate"]
            c1, c2 = after

            # -- the confirmation: alert and outbox row commit together or not at all ------
            await proc.start("confirm.in_transaction", api)
            await operator.login()
            assert await operator.candidates() == [c1, c2]  # announced after the restart
            await operator.confirm_dies(c1)
            assert await killed() == {c1: "candidate", c2: "candidate"}
            assert store.outbox() == []
            await proc.start("confirm.committed", api)
            await operator.login()
            await operator.confirm_dies(c1)
            assert await killed() == {c1: "confirmed", c2: "candidate"}
            assert store.outbox() == [(1, c1)] and store.positions() == {}
            assert mqtt() == {} and pushed() == {}  # no sink heard of it

            # -- MQTT steps (the push service failing meanwhile, so only MQTT reaches them) -
            push.outage = 503
            await kill_at("outbox.taken:mqtt")
            assert store.positions().get("mqtt", 0) == 0 and mqtt() == {}
            await kill_at("outbox.after_publish:mqtt")
            await until(lambda: mqtt() == {c1: 1}, 10, "the published notice")
            assert store.positions().get("mqtt", 0) == 0  # published, not acknowledged
            await kill_at("outbox.acked:mqtt")
            await until(lambda: mqtt() == {c1: 2}, 10, "the notice re-sent")
            assert store.positions()["mqtt"] == 1

            # -- Web Push steps (MQTT has nothing left to send) ----------------------------
            push.outage = None
            await kill_at("outbox.taken:webpush")
            assert store.positions().get("webpush", 0) == 0 and pushed() == {}
            await kill_at("outbox.after_publish:webpush")
            assert pushed() == {c1: 1} and store.positions().get("webpush", 0) == 0
            await kill_at("outbox.acked:webpush")
            assert pushed() == {c1: 2} and store.positions()["webpush"] == 1

            # -- a clean run: the next confirmation goes through once; a clean stop --------
            await proc.start(None, api)  # no camera: c2 stays the last candidate
            await operator.login()
            assert await operator.candidates() == [c2]
            r = await operator.http.post(f"/api/candidates/{c2}/confirm",
                                         headers=operator.headers)
            assert r.status_code == 200, r.text
            await until(lambda: mqtt()[c2] == 1 and pushed()[c2] == 1, 15, "c2 delivered")
            assert await proc.stop() == 0, proc.tail()
            assert store.check() == {c1: "confirmed", c2: "confirmed"}
            assert store.outbox() == [(1, c1), (2, c2)]
            assert store.positions() == {"mqtt": 2, "webpush": 2}
            # at least once, and exactly the duplicates the kills between publish and
            # acknowledgement predict: c1 twice per sink, c2 once; no alert id missing
            assert device.alert_ids() == [c1, c2]
            assert mqtt() == {c1: 2, c2: 1} and pushed() == {c1: 2, c2: 1}
            assert push.errors == []
    except BaseException:
        print(proc.tail(80))
        raise
    finally:
        await proc.stop()
        await operator.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await broker.stop()
