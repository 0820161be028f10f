"""The officer devices and the operator of ``bench/bench_api.py``, in their own process.

    python bench/bench_api_devices.py < plan.json > result.json

Run by ``bench_api.py`` (not by hand): it reads a :class:`Plan` (JSON) on stdin, connects
``len(plan.officer_cookies)`` MQTT subscribers to the deployment's topic and as many SSE
clients to ``/api/feed`` (one officer session each), waits until every one of them is
connected, then:

1. the named baseline: publishes ``plan.baseline`` raw messages with aiomqtt (QoS 1, PUBACK
   awaited, the sink's own way) straight to the topic, ``plan.spacing_s`` apart;
2. confirms each candidate of ``plan.candidates`` through the API as the operator
   (``POST /api/candidates/{id}/confirm``), ``plan.spacing_s`` apart so each is measured alone.

Every device stamps ``time.time()`` when a message reaches it; the latency is that stamp minus
the ``time.time()`` taken just before the operator's request (or the raw publish) was sent.
Both clocks are the same machine's wall clock, so no synchronisation is needed. The
:class:`Result` (JSON) goes to stdout; progress to stderr. Everything is on 127.0.0.1, and
every loop is bounded by a count and a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from typing import Any

import aiohttp
import aiomqtt
import msgspec

CONNECT_TIMEOUT_S = 30.0
SETTLE_S = 1.5
"""How long to wait after the last send for stragglers before counting losses."""


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    """What the server side tells the device process."""

    url: str
    mqtt_host: str
    mqtt_port: int
    topic: str
    officer_cookies: list[str]
    operator_cookie: str
    operator_csrf: str
    candidates: list[str]
    warmup: int
    baseline: int
    spacing_s: float


class Result(msgspec.Struct, kw_only=True):
    """Latencies in milliseconds, per path, over every (message, device) pair that arrived;
    ``missing`` counts pairs that never arrived within the settle time."""

    mqtt_ms: list[float]
    sse_ms: list[float]
    baseline_mqtt_ms: list[float]
    confirm_http_ms: list[float]
    mqtt_missing: int
    sse_missing: int
    baseline_missing: int
    confirm_errors: int
    devices: int
    connect_s: float


class Arrivals:
    """Receive stamps: key (alert id or baseline tag) → one stamp per device."""

    def __init__(self) -> None:
        self.stamps: dict[str, list[float]] = {}

    def add(self, key: str, stamp: float) -> None:
        self.stamps.setdefault(key, []).append(stamp)

    def latencies(self, sent: dict[str, float], devices: int) -> tuple[list[float], int]:
        out: list[float] = []
        missing = 0
        for key, t0 in sent.items():
            got = self.stamps.get(key, [])
            out.extend((t - t0) * 1000.0 for t in got[:devices])
            missing += max(0, devices - len(got))
        return out, missing


def _log(msg: str) -> None:
    print(f"[devices] {msg}", file=sys.stderr, flush=True)


async def mqtt_device(plan: Plan, index: int, ready: asyncio.Event, counter: list[int],
                      total: int, confirmed: Arrivals, baseline: Arrivals) -> None:
    """One officer device on MQTT: subscribe, stamp every message on arrival."""
    async with aiomqtt.Client(plan.mqtt_host, plan.mqtt_port, identifier=f"bench-dev-{index}",
                              clean_session=True, timeout=10) as client:
        await client.subscribe(plan.topic, qos=1)
        counter[0] += 1
        if counter[0] == total:
            ready.set()
        async for message in client.messages:
            stamp = time.time()  # before any parsing: what the device's socket delivered
            payload = message.payload
            if not isinstance(payload, bytes | bytearray):
                continue
            body: dict[str, Any] = json.loads(payload)
            if "baseline" in body:
                baseline.add(str(body["baseline"]), stamp)
            elif "alert_id" in body:
                confirmed.add(str(body["alert_id"]), stamp)


async def sse_device(plan: Plan, cookie: str, ready: asyncio.Event, counter: list[int],
                     total: int, confirmed: Arrivals) -> None:
    """One officer device on the live feed: stamp an ``alert`` event when its first line
    arrives."""
    headers = {"Cookie": cookie, "Accept": "text/event-stream"}
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=None)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(),
                                     timeout=timeout) as session, \
            session.get(plan.url + "/api/feed", headers=headers) as resp:
        if resp.status != 200:
            raise RuntimeError(f"feed answered {resp.status}")
        event = ""
        stamp = 0.0
        data = ""
        connected = False
        async for raw in resp.content:
            now = time.time()
            line = raw.decode().rstrip("\r\n")
            if not line:
                if event == "alert" and data:
                    confirmed.add(str(json.loads(data)["alert_id"]), stamp)
                event, data, stamp = "", "", 0.0
                continue
            if line.startswith(":"):
                if not connected:
                    connected = True
                    counter[0] += 1
                    if counter[0] == total:
                        ready.set()
                continue
            if not stamp:
                stamp = now  # the event's first line: when it reached the device
            key, _, value = line.partition(":")
            if key == "event":
                event = value.strip()
            elif key == "data":
                data = value.lstrip(" ")


async def run(plan: Plan) -> Result:
    """Connect every device, run the baseline and the confirmations, collect latencies."""
    n = len(plan.officer_cookies)
    confirmed_mqtt, confirmed_sse, baseline = Arrivals(), Arrivals(), Arrivals()
    mqtt_ready, sse_ready = asyncio.Event(), asyncio.Event()
    mqtt_count, sse_count = [0], [0]
    started = time.monotonic()
    tasks = [asyncio.create_task(mqtt_device(plan, i, mqtt_ready, mqtt_count, n,
                                             confirmed_mqtt, baseline)) for i in range(n)]
    tasks += [asyncio.create_task(sse_device(plan, c, sse_ready, sse_count, n, confirmed_sse))
              for c in plan.officer_cookies]
    try:
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while not (mqtt_ready.is_set() and sse_ready.is_set()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"devices not connected: mqtt {mqtt_count[0]}/{n}, "
                                   f"sse {sse_count[0]}/{n}")
            for t in tasks:
                if t.done():
                    t.result()  # a device failed or hung up: raise its error
                    raise RuntimeError("a device stopped before the run")
            await asyncio.sleep(0.05)
        connect_s = time.monotonic() - started
        _log(f"{n} MQTT + {n} SSE devices connected in {connect_s:.1f}s")
        await asyncio.sleep(0.5)

        # 1. the named baseline: the broker alone, raw publish -> 50 subscribers
        sent_base: dict[str, float] = {}
        async with aiomqtt.Client(plan.mqtt_host, plan.mqtt_port, identifier="bench-raw-pub",
                                  clean_session=True, timeout=10) as pub:
            pad = "x" * 560  # about the size of a sink notice (signed links included)
            for k in range(plan.baseline):
                payload = json.dumps({"v": 1, "baseline": k, "pad": pad}).encode()
                sent_base[str(k)] = time.time()
                await pub.publish(plan.topic, payload, qos=1, timeout=10)
                await asyncio.sleep(plan.spacing_s)
        _log(f"baseline: {plan.baseline} raw publishes")

        # 2. the operator confirms, one candidate at a time
        sent: dict[str, float] = {}
        confirm_ms: list[float] = []
        errors = 0
        headers = {"Cookie": plan.operator_cookie, "X-CSRF-Token": plan.operator_csrf}
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(),
                                         timeout=aiohttp.ClientTimeout(total=10)) as op:
            for i, alert_id in enumerate(plan.candidates):
                t0 = time.time()
                async with op.post(f"{plan.url}/api/candidates/{alert_id}/confirm",
                                   headers=headers) as resp:
                    await resp.read()
                    ok = resp.status == 200
                t1 = time.time()
                if i >= plan.warmup:
                    if ok:
                        sent[alert_id] = t0
                        confirm_ms.append((t1 - t0) * 1000.0)
                    else:
                        errors += 1
                await asyncio.sleep(plan.spacing_s)
        await asyncio.sleep(SETTLE_S)
        _log(f"confirmed {len(plan.candidates)} candidates ({plan.warmup} warm-up)")
        mqtt_ms, mqtt_missing = confirmed_mqtt.latencies(sent, n)
        sse_ms, sse_missing = confirmed_sse.latencies(sent, n)
        base_ms, base_missing = baseline.latencies(sent_base, n)
        return Result(mqtt_ms=mqtt_ms, sse_ms=sse_ms, baseline_mqtt_ms=base_ms,
                      confirm_http_ms=confirm_ms, mqtt_missing=mqtt_missing,
                      sse_missing=sse_missing, baseline_missing=base_missing,
                      confirm_errors=errors, devices=n, connect_s=connect_s)
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(BaseException):
                await t


def main() -> None:
    plan = msgspec.json.decode(sys.stdin.buffer.read(), type=Plan)
    result = asyncio.run(run(plan))
    sys.stdout.buffer.write(msgspec.json.encode(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
