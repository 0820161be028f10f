"""The officers' browsers, the baseline devices and the operator of ``bench/bench_browser.py``,
in their own process.

    python bench/bench_browser_devices.py < plan.json > result.json

Run by ``bench_browser.py`` (not by hand). It reads a :class:`Plan` (JSON) on stdin, then:

1. logs every officer session in to the broker the PWA's way: ``POST /api/mqtt/credentials``
   (one account per session, made in Mosquitto's dynamic-security plugin by the server);
2. the browser path: Debian's Chromium under Playwright, ``plan.pages`` browser contexts (one
   page each, on the server's own origin, under its CSP), each page running the PWA's own
   ``/js/mqtt_feed.js`` (``loadMqtt`` + ``openMqtt``, the vendored MQTT.js the officer app
   uses) once per officer of its share: each client its own WebSocket, account, client id,
   persistent session and QoS-1 subscription to ``plan.browser_deployment``'s topic;
3. the named baseline: as many aiomqtt subscribers (the server-side MQTT path of
   ``bench_api.py``) on the plain MQTT listener of the same broker, with officer accounts of
   their own, subscribed to ``plan.baseline_deployment``'s topic;
4. the operator confirms ``plan.candidates`` through ``POST /api/candidates/{id}/confirm``,
   alternating the two deployments, ``plan.spacing_s`` apart: each confirm reaches the 50
   devices of its own path only, and both paths see the same server, broker and load.

A browser client stamps ``Date.now()`` when ``openMqtt`` hands it the parsed notice (what
the app's alert handler receives); a baseline device stamps ``time.time()`` on arrival. The
latency is that stamp minus ``time.time()`` just before the confirm request was sent: one
machine, one wall clock. The :class:`Result` (JSON) goes to stdout, progress to stderr. Every
loop is bounded by a count and a timeout; everything is on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any, Literal

import aiohttp
import aiomqtt
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api_devices import Arrivals

CONNECT_TIMEOUT_S = 60.0
SETTLE_S = 1.5
"""How long to wait after the last confirm for stragglers before counting losses."""
# As tests/pwa/conftest.py launches it, and with the app in the foreground as an officer's
# tablet has it: the 50 clients share a few pages, none of which may be throttled as a
# background tab would be.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-background-timer-throttling",
                 "--disable-renderer-backgrounding"]

# The page's side: the PWA's own module and bundle (same origin, so the same CSP and the same
# module the app imports), one openMqtt per officer login, stamps kept in the page until read.
CONNECT_JS = """async ({logins, deploymentId}) => {
  const {loadMqtt, openMqtt} = await import('/js/mqtt_feed.js');
  const lib = await loadMqtt();
  if (!lib) throw new Error('the vendored MQTT.js bundle did not load');
  const bench = {up: new Set(), downs: 0, refused: [], arrivals: [], closers: []};
  window.__bench = bench;
  for (const login of logins) {
    bench.closers.push(openMqtt(lib, login, deploymentId, {
      alert: (data) => { bench.arrivals.push([login.client_id, data.alert_id, Date.now()]); },
      up: () => { bench.up.add(login.client_id); },
      down: () => { bench.downs += 1; },
      refused: (why) => { bench.refused.push(String(why)); },
    }));
  }
  return logins.length;
}"""
STATE_JS = """() => ({up: window.__bench.up.size, downs: window.__bench.downs,
                     refused: window.__bench.refused})"""
COLLECT_JS = """() => { const b = window.__bench; b.closers.forEach((close) => close());
                        return {arrivals: b.arrivals, downs: b.downs, refused: b.refused}; }"""


class Officer(msgspec.Struct, frozen=True, kw_only=True):
    cookie: str
    csrf: str


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    path: Literal["browser", "baseline"]


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    """What the server side tells the device process."""

    url: str
    mqtt_host: str
    mqtt_port: int
    browser_deployment: str
    baseline_deployment: str
    browser_officers: list[Officer]
    baseline_officers: list[Officer]
    operator_cookie: str
    operator_csrf: str
    candidates: list[Candidate]
    """In confirm order; the first ``warmup`` are not counted."""
    warmup: int
    spacing_s: float
    pages: int
    chromium: str
    trust_spki: str | None = None
    """Base64 SHA-256 of the broker's certificate key: Chromium trusts that key alone for
    ``wss://`` (``--ignore-certificate-errors-spki-list``), as on a site with the local CA."""


class Login(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /api/mqtt/credentials``'s answer (mobile_api.schemas.MqttCredentialsOut)."""

    ws_url: str
    username: str
    password: str
    client_id: str
    topic: str


class Result(msgspec.Struct, kw_only=True):
    """Latencies in milliseconds over every (confirm, device) pair that arrived; ``missing``
    counts pairs that never arrived within the settle time; ``duplicates`` repeated QoS-1
    deliveries to a browser client (the app drops them by id; not counted as latencies)."""

    browser_ms: list[float]
    baseline_ms: list[float]
    confirm_http_ms: list[float]
    browser_missing: int
    baseline_missing: int
    browser_duplicates: int
    browser_reconnects: int
    confirm_errors: int
    devices: int
    pages: int
    browser_version: str
    credentials_s: float
    connect_s: float


def _log(msg: str) -> None:
    print(f"[browser-devices] {msg}", file=sys.stderr, flush=True)


async def logins(plan: Plan, officers: list[Officer], deployment: str) -> list[Login]:
    """Each officer session's broker login, asked for as the PWA asks (one at a time: the
    server makes them one after another anyway, under one lock)."""
    out = []
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(),
                                     timeout=aiohttp.ClientTimeout(total=30)) as http:
        for o in officers:
            async with http.post(f"{plan.url}/api/mqtt/credentials",
                                 json={"deployment_id": deployment},
                                 headers={"Cookie": o.cookie, "X-CSRF-Token": o.csrf}) as r:
                body = await r.read()
                if r.status != 201:
                    raise RuntimeError(f"/api/mqtt/credentials answered {r.status}: {body!r}")
            out.append(msgspec.json.decode(body, type=Login))
    return out


async def baseline_device(plan: Plan, login: Login, ready: list[int],
                          confirmed: Arrivals) -> None:
    """One baseline device: aiomqtt on the plain listener with an officer's account."""
    async with aiomqtt.Client(plan.mqtt_host, plan.mqtt_port, identifier=login.client_id,
                              username=login.username, password=login.password,
                              clean_session=True, timeout=10) as client:
        await client.subscribe(login.topic, qos=1)
        ready[0] += 1
        async for message in client.messages:
            stamp = time.time()  # before any parsing: what the device's socket delivered
            payload = message.payload
            if isinstance(payload, bytes | bytearray):
                confirmed.add(str(json.loads(payload)["alert_id"]), stamp)


def _split(items: list[Login], parts: int) -> list[list[Login]]:
    """``items`` dealt round-robin into ``parts`` non-empty shares."""
    parts = max(1, min(parts, len(items)))
    return [items[i::parts] for i in range(parts)]


def _console(message: Any) -> None:
    # the app's boot asks GET /api/auth/me with no session (401: it then shows the login
    # screen, which these pages never use); anything else the page complains of is shown
    if message.type in ("error", "warning") and "status of 401" not in message.text:
        _log(f"page console: {message.text}")


async def connect_pages(browser: Any, plan: Plan, shares: list[list[Login]]) -> list[Any]:
    """One context and page per share, every client connected and subscribed (``up``)."""
    pages = []
    for share in shares:
        context = await browser.new_context(viewport={"width": 1280, "height": 800})
        page = await context.new_page()
        page.on("console", _console)
        await page.goto(f"{plan.url}/", wait_until="load")
        await page.evaluate(CONNECT_JS, {"logins": [msgspec.to_builtins(x) for x in share],
                                         "deploymentId": plan.browser_deployment})
        pages.append(page)
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    while True:
        states = [await p.evaluate(STATE_JS) for p in pages]
        refused = [r for s in states for r in s["refused"]]
        if refused:
            raise RuntimeError(f"the broker refused a browser client: {refused[:3]}")
        up = sum(s["up"] for s in states)
        if up == sum(len(s) for s in shares):
            return pages
        if time.monotonic() > deadline:
            raise TimeoutError(f"browser clients not subscribed: {up}/{sum(map(len, shares))}")
        await asyncio.sleep(0.1)  # a poll of the pages' state, bounded by the deadline


async def confirm_all(plan: Plan) -> tuple[dict[str, float], dict[str, float], list[float],
                                           int]:
    """The operator's confirms, alternating the paths; (sent per path, RTTs, errors)."""
    sent: dict[str, dict[str, float]] = {"browser": {}, "baseline": {}}
    rtt: list[float] = []
    errors = 0
    headers = {"Cookie": plan.operator_cookie, "X-CSRF-Token": plan.operator_csrf}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(),
                                     timeout=aiohttp.ClientTimeout(total=10)) as op:
        for i, c in enumerate(plan.candidates):
            t0 = time.time()
            async with op.post(f"{plan.url}/api/candidates/{c.id}/confirm",
                               headers=headers) as resp:
                body = await resp.read()
                ok = resp.status == 200
            t1 = time.time()
            if not ok and errors == 0:  # the first refusal says why (the rest are counted)
                print(f"[browser-devices] confirm {c.id} answered {resp.status}: "
                      f"{body[:300]!r}", file=sys.stderr, flush=True)
            if i >= plan.warmup:
                if ok:
                    sent[c.path][c.id] = t0
                    rtt.append((t1 - t0) * 1000.0)
                else:
                    errors += 1
            await asyncio.sleep(plan.spacing_s)
    return sent["browser"], sent["baseline"], rtt, errors


async def run(plan: Plan) -> Result:
    from playwright.async_api import async_playwright

    n = len(plan.browser_officers)
    started = time.monotonic()
    browser_logins = await logins(plan, plan.browser_officers, plan.browser_deployment)
    baseline_logins = await logins(plan, plan.baseline_officers, plan.baseline_deployment)
    credentials_s = time.monotonic() - started
    _log(f"{n + len(baseline_logins)} broker logins in {credentials_s:.1f}s")

    baseline_seen = Arrivals()
    ready = [0]
    tasks = [asyncio.create_task(baseline_device(plan, lg, ready, baseline_seen))
             for lg in baseline_logins]
    try:
        async with async_playwright() as pw:
            trust = ([] if plan.trust_spki is None
                     else [f"--ignore-certificate-errors-spki-list={plan.trust_spki}"])
            browser = await pw.chromium.launch(executable_path=plan.chromium, headless=True,
                                               args=[*CHROMIUM_ARGS, *trust])
            try:
                started = time.monotonic()
                pages = await connect_pages(browser, plan, _split(browser_logins, plan.pages))
                deadline = time.monotonic() + CONNECT_TIMEOUT_S
                while ready[0] < len(baseline_logins):
                    for t in tasks:
                        if t.done():
                            t.result()  # a baseline device failed: raise its error
                            raise RuntimeError("a baseline device stopped before the run")
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"baseline devices: {ready[0]}/{len(tasks)}")
                    await asyncio.sleep(0.05)
                connect_s = time.monotonic() - started
                _log(f"{n} browser clients on {len(pages)} pages + {len(tasks)} baseline "
                     f"devices subscribed in {connect_s:.1f}s")
                await asyncio.sleep(0.5)  # let the connection bursts settle before measuring

                sent_browser, sent_baseline, rtt, errors = await confirm_all(plan)
                await asyncio.sleep(SETTLE_S)
                _log(f"confirmed {len(plan.candidates)} candidates ({plan.warmup} warm-up)")
                collected = [await p.evaluate(COLLECT_JS) for p in pages]
                version = str(browser.version)
            finally:
                await browser.close()
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(BaseException):
                await t

    browser_seen = Arrivals()
    first: set[tuple[str, str]] = set()
    duplicates = 0
    for page_result in collected:
        for client_id, alert_id, stamp_ms in page_result["arrivals"]:
            if (client_id, alert_id) in first:
                duplicates += 1
                continue
            first.add((client_id, alert_id))
            browser_seen.add(str(alert_id), float(stamp_ms) / 1000.0)
    browser_ms, browser_missing = browser_seen.latencies(sent_browser, n)
    baseline_ms, baseline_missing = baseline_seen.latencies(sent_baseline, len(tasks))
    return Result(browser_ms=browser_ms, baseline_ms=baseline_ms, confirm_http_ms=rtt,
                  browser_missing=browser_missing, baseline_missing=baseline_missing,
                  browser_duplicates=duplicates,
                  browser_reconnects=sum(int(c["downs"]) for c in collected),
                  confirm_errors=errors, devices=n, pages=len(collected),
                  browser_version=version, credentials_s=credentials_s, connect_s=connect_s)


def main() -> None:
    plan = msgspec.json.decode(sys.stdin.buffer.read(), type=Plan)
    result = asyncio.run(run(plan))
    sys.stdout.buffer.write(msgspec.json.encode(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
