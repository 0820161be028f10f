"""Confirmations made through the API reach an officer's device over a real Mosquitto; with
the broker down they wait in the outbox and arrive, in order, when it returns (R5, R6)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from pipeline_rig import free_port, runtime_config, wait_for

from demo.scenario import live_deployment
from kernel.auth.accounts import Accounts
from kernel.auth.passwords import Passwords
from kernel.runtime import Runtime
from tests.adapters.sink.mosquitto_broker import (
    MOSQUITTO,
    SERVER_PASSWORD,
    SERVER_USER,
    Broker,
    Device,
)

PASSWORD = "operator-password-1"


def jpeg(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(out, "JPEG")
    return out.getvalue()


async def test_api_confirmations_reach_mqtt_and_survive_a_broker_outage(
    models_dir: Path, tmp_path: Path
) -> None:
    if not MOSQUITTO.exists():
        pytest.skip("mosquitto not installed (apt-get install -y mosquitto)")
    (tmp_path / "broker").mkdir()
    broker = Broker(tmp_path / "broker", "+")
    await broker.start()
    port = free_port()
    cfg = runtime_config(tmp_path, models_dir, f"""
[server]
port = {port}
[[services]]
type = "http"
secure_cookie = false
[[sinks]]
type = "mqtt"
port = {broker.port}
username = "{SERVER_USER}"
password = "{SERVER_PASSWORD}"
url_base = "http://127.0.0.1:{port}"
timeout_s = 1.0
""")
    rt = Runtime(cfg)
    await rt.start()
    device: Device | None = None
    tasks: list[asyncio.Task[None]] = []
    try:
        assert rt.governance and rt.engine
        gov = rt.governance
        dep = await live_deployment(gov, rt.engine, ["obama.jpg"])
        entry = (await gov.watchlists.entries(dep))[0].id
        await Accounts(gov.store, gov.ctx.clock, Passwords(1, 8, 1)).add_user(
            "op", "operator", PASSWORD, "test")
        device = Device(broker.port, f"pinchpoint/{dep}/alerts")
        tasks.append(asyncio.create_task(device.run()))
        await asyncio.wait_for(device.subscribed.wait(), 10)

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(50):  # the service starts alongside the runtime
                with contextlib.suppress(httpx.TransportError):
                    login = await http.post("/api/auth/login",
                                            json={"name": "op", "password": PASSWORD})
                    break
                await asyncio.sleep(0.1)
            assert login.status_code == 200, login.text
            headers = {"X-CSRF-Token": login.json()["csrf_token"]}

            async def confirm_new() -> str:
                rec = await gov.alerts.create_candidate(dep, entry, "gate-1", 0.97, 0.0,
                                                        jpeg((200, 60, 60)), jpeg((60, 60, 200)))
                done = await http.post(f"/api/candidates/{rec.id}/confirm", headers=headers)
                assert done.status_code == 200, done.text
                return rec.id

            first = await confirm_new()
            await wait_for(lambda: device is not None and device.alert_ids() == [first], 10,
                           "the first alert on the device")

            await broker.stop()
            queued = [await confirm_new() for _ in range(3)]  # accepted while the broker is down
            # The health route names the outage while it lasts (issue 12, fault suite).
            outage: dict[str, Any] = {}
            for _ in range(100):
                outage = (await http.get("/api/health/sinks")).json()[0]
                if outage["state"] == "retrying":
                    break
                await asyncio.sleep(0.1)
            assert outage["sink"] == "mqtt" and outage["state"] == "retrying", outage
            assert "DeliveryRetry" in outage["last_error"] and outage["next_delay"] > 0
            assert device.alert_ids() == [first]  # nothing could be delivered meanwhile
            await broker.start()
            await wait_for(lambda: device is not None and len(device.alert_ids()) == 4, 20,
                           "the queued alerts after the broker came back")
            healed = (await http.get("/api/health/sinks")).json()[0]
            assert healed["last_error"] is None and healed["state"] != "retrying", healed
        assert device.alert_ids() == [first, *queued]  # in order, none lost
        for payload in device.payloads:
            assert set(payload) >= {"alert_id", "seq", "category", "camera_id"}
            assert "obama" not in json.dumps(payload).lower()  # no names (R6)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await rt.stop()
        await broker.stop()
