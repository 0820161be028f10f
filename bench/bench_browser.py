"""Benchmark confirm → officer's browser over MQTT over secure WebSockets (R6, issue 14).

    python bench/bench_browser.py [--devices 50] [--pages 5] [--alerts 40] [--out …/browser.json]

The browser path end to end, with the code the officers' tablets run: this process is the
server, a real :class:`kernel.runtime.Runtime` (SQLite, ONNX engine, ``sink.mqtt`` with its own
broker account behind the outbox dispatcher, the HTTP service serving the real ``pwa/`` with
its ``mqtt`` table, so ``POST /api/mqtt/credentials`` makes per-session accounts) on 127.0.0.1,
and a private Mosquitto with the dynamic-security plugin and a WebSockets listener over TLS
(:class:`tests.mosquitto_dynsec.DynsecBroker`, as the PWA's MQTT tests start it: no anonymous
access, per-account ACLs, ``wss://`` with a certificate from ``pinchpoint tls init``'s code,
which Chromium trusts by its key alone). It seeds two live deployments, an operator and ``2 ×
--devices`` officer sessions, and candidates with small real JPEGs; then
``bench/bench_browser_devices.py`` (a SEPARATE process) puts ``--devices`` MQTT.js clients in
headless Chromium, spread over ``--pages`` browser contexts, on one deployment's topic, and
``--devices`` aiomqtt subscribers (the named baseline: the server-side MQTT path of
``bench_api.py``) on the other's, and the operator confirms through the API, alternating the
two, ``--spacing`` apart.

Why ``--devices`` clients on a few pages stand for as many tablets, for the broker and the
server: each is its own WebSocket connection, MQTT session (persistent, QoS 1) and account
(its own officer session's ``POST /api/mqtt/credentials``, audited, ACL'd to the one topic),
so the broker authenticates, keeps, ACL-checks and writes one copy per device and waits for
one PUBACK per device, exactly as for tablets, and the server makes one account per device and
publishes once per alert (fan-out is the broker's). What is not a tablet's: the clients of a
page share its one JavaScript thread (each page handles its share of the copies one after
another, which only adds to the figure) and everything shares two cores; and there is no
radio link (loopback only).

Prints a Markdown table (machine, date, load, figures, ratio to the baseline) and writes JSON
to ``--out``. Needs ``mosquitto`` with its dynsec plugin, ``/usr/bin/chromium``, Playwright
(the ``dev`` extra), the vendored MQTT.js (``scripts/vendor_pwa.sh``) and the model store.
Never run in CI (timings).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

import msgspec

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_api  # noqa: E402
from bench_api import (  # noqa: E402
    free_port,
    go_live,
    machine,
    pass_times,
    small_jpegs,
    summary_ms,
    wait_port,
)
from bench_browser_devices import Candidate, Officer, Plan  # noqa: E402

from kernel.runtime import Runtime  # noqa: E402
from kernel.tls import init_tls  # noqa: E402
from mobile_api.backend import accounts_for  # noqa: E402
from mobile_api.security import COOKIE  # noqa: E402
from mobile_api.settings import ApiSettings  # noqa: E402
from tests import mosquitto_dynsec  # noqa: E402
from tests.mosquitto_dynsec import (  # noqa: E402
    ADMIN_PASSWORD,
    ADMIN_USER,
    SERVER_PASSWORD,
    SERVER_USER,
    DynsecBroker,
)

CHROMIUM = Path("/usr/bin/chromium")
DEVICES_SCRIPT = Path(__file__).resolve().parent / "bench_browser_devices.py"
BUNDLE = REPO / "pwa" / "vendor" / "mqtt" / "mqtt.esm.js"
PASSWORD = bench_api.PASSWORD
TARGET_P95_MS = 250.0
WARMUP = 2
"""Confirms per path not counted (the first connection's and route's cold start)."""
BUSY_LOAD = 1.5
"""A 1-minute load average from which the figures are marked as taken under load (on 2
cores, other work then takes a large share of the CPU the path needs)."""

log = logging.getLogger("bench.browser")


class Seeded(msgspec.Struct, kw_only=True):
    browser_deployment: str
    baseline_deployment: str
    browser_officers: list[Officer]
    baseline_officers: list[Officer]
    candidates: list[Candidate]
    operator_cookie: str
    operator_csrf: str


async def seed(rt: Runtime, devices: int, alerts: int) -> Seeded:
    """Two live deployments (one per path), an operator, ``devices`` officer sessions per
    path, and ``alerts + WARMUP`` candidates per deployment in alternating confirm order."""
    gov, engine = rt.governance, rt.engine
    assert gov is not None and engine is not None
    cheap = ApiSettings(argon2_time_cost=1, argon2_memory_kib=8, argon2_parallelism=1)
    accounts = accounts_for(gov, cheap)
    await accounts.add_user("operator-1", "operator", PASSWORD, "bench")
    op = await accounts.create_session("operator-1")
    officers: list[list[Officer]] = [[], []]
    for k, group in enumerate(officers):
        for i in range(devices):
            name = f"officer-{k}-{i:03d}"
            await accounts.add_user(name, "officer", PASSWORD, "bench")
            s = await accounts.create_session(name)
            group.append(Officer(cookie=f"{COOKIE}={s.token}", csrf=s.csrf))
    (browser_dep, browser_entry), (base_dep, base_entry) = [await go_live(gov, engine)
                                                            for _ in range(2)]
    face, torso = await asyncio.to_thread(small_jpegs)
    paths: tuple[tuple[Literal["browser", "baseline"], str, str], ...] = (
        ("browser", browser_dep, browser_entry), ("baseline", base_dep, base_entry))
    candidates = []
    for at in pass_times(alerts + WARMUP, rt.config.matching.episodes.window_s):
        for path, dep, entry in paths:
            rec = await gov.alerts.create_candidate(dep, entry, "gate-1", 0.95, at, face, torso)
            candidates.append(Candidate(id=rec.id, path=path))
    return Seeded(browser_deployment=browser_dep, baseline_deployment=base_dep,
                  browser_officers=officers[0], baseline_officers=officers[1],
                  candidates=candidates, operator_cookie=f"{COOKIE}={op.token}",
                  operator_csrf=op.csrf)


async def run_devices(plan: Plan, limit_s: float) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(DEVICES_SCRIPT), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=None, cwd=REPO)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(msgspec.json.encode(plan)), limit_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"device process failed (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(out)
    return result


def table(report: dict[str, Any]) -> str:
    m, lat, p = report["machine"], report["latency"], report["params"]
    load = report["load_before"], m["loadavg_1m"]
    busy = (f" — TAKEN UNDER LOAD (1-min load average ≥ {BUSY_LOAD:g} on {m['nproc']} cores: "
            "other processes competed for the CPU; re-run on a quiet machine)"
            if max(load) >= BUSY_LOAD else "")
    lines = [f"Machine: {m['nproc']} cores, {m['cpu']}, Python {m['python']}, "
             f"{lat['browser_version']}; {m['date']}; load average (1 min) "
             f"{load[0]:.2f} before, {load[1]:.2f} after{busy}",
             f"{lat['devices']} devices per path ({lat['devices']} MQTT.js clients on "
             f"{lat['pages']} Chromium pages), {p['alerts']} confirms per path alternating, "
             f"{p['spacing_s'] * 1000:.0f} ms apart (+{WARMUP} warm-up each), everything on "
             "127.0.0.1; clients in a separate process", "",
             "| confirm → device (ms) | samples | lost | p50 | p95 | p99 | max | "
             f"target p95 ≤ {TARGET_P95_MS:.0f} |",
             "|---|---|---|---|---|---|---|---|"]
    ws = "secure WebSockets (wss://)" if lat.get("transport") == "wss" else "WebSockets (ws://)"
    rows = [(f"officer's browser: PWA's MQTT.js in Chromium, MQTT over {ws}, "
             "handled in the page", "browser", True),
            ("baseline: aiomqtt devices, MQTT over TCP, same broker and sink", "baseline", True),
            ("operator's confirm POST round trip", "confirm_http", False)]
    for label, key, target in rows:
        s = lat[key]
        verdict = ("met" if s["p95_ms"] <= TARGET_P95_MS and s.get("lost", 0) == 0
                   else "MISSED") if target else "—"
        lines.append(f"| {label} | {s['n']} | {s.get('lost', 0)} | {s['p50_ms']:.1f} | "
                     f"{s['p95_ms']:.1f} | {s['p99_ms']:.1f} | {s['max_ms']:.1f} | {verdict} |")
    lines.append(f"\nBrowser path / baseline (p50): {lat['ratio_browser_vs_baseline_p50']:.1f}×; "
                 f"(p95): {lat['ratio_browser_vs_baseline_p95']:.1f}×. Browser clients: "
                 f"{lat['browser_duplicates']} repeated deliveries (dropped by id, as the app "
                 f"does), {lat['browser_reconnects']} reconnects; {lat['confirm_errors']} "
                 f"confirm errors; {lat['devices'] * 2} broker logins made through the API in "
                 f"{lat['credentials_s']:.1f} s.")
    return "\n".join(lines)


def preflight() -> None:
    if not mosquitto_dynsec.available():
        raise SystemExit("mosquitto with its dynamic-security plugin is not installed "
                         "(apt-get install -y mosquitto mosquitto-clients)")
    if not CHROMIUM.is_file() or shutil.which(str(CHROMIUM)) is None:
        raise SystemExit("no /usr/bin/chromium (apt-get install -y chromium)")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        raise SystemExit("Playwright is not installed (scripts/setup.sh bench)") from None
    if not BUNDLE.is_file():
        raise SystemExit(f"the vendored MQTT.js is missing ({BUNDLE}): run scripts/vendor_pwa.sh")
    if not (REPO / "var" / "models" / "models.json").is_file():
        raise SystemExit("models not built: run `pinchpoint models build`")


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    load_before = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory(prefix="bench-browser-") as tmpdir:
        tmp = Path(tmpdir)
        # WSS as on a site (issue 14, done-when 5): `pinchpoint tls init`'s own code makes the
        # certificate; Chromium is told to trust exactly its key (tests/pwa/test_pwa_mqtt.py)
        tls = init_tls(tmp / "tls")
        broker = DynsecBroker(tmp, tls)
        transport = broker.ws_url.split(":", 1)[0]
        await asyncio.to_thread(broker.start)
        http_port = free_port()
        service = (f'mqtt = {{ws_url = "{broker.ws_url}", accounts = {{port = {broker.port}, '
                   f'username = "{ADMIN_USER}", password = "{ADMIN_PASSWORD}"}}}}')
        cfg = bench_api.write_config(tmp, http_port, broker.port, pwa_dir=REPO / "pwa",
                                     sink_login=(SERVER_USER, SERVER_PASSWORD),
                                     service_extra=service)
        rt = Runtime(cfg)
        try:
            await rt.start()
            await wait_port(http_port)
            seeded = await seed(rt, args.devices, args.alerts)
            log.info("seeded: %d officers per path, %d candidates", args.devices,
                     len(seeded.candidates))
            plan = Plan(url=f"http://127.0.0.1:{http_port}", mqtt_host="127.0.0.1",
                        mqtt_port=broker.port, browser_deployment=seeded.browser_deployment,
                        baseline_deployment=seeded.baseline_deployment,
                        browser_officers=seeded.browser_officers,
                        baseline_officers=seeded.baseline_officers,
                        operator_cookie=seeded.operator_cookie,
                        operator_csrf=seeded.operator_csrf, candidates=seeded.candidates,
                        warmup=2 * WARMUP, spacing_s=args.spacing, pages=args.pages,
                        chromium=str(CHROMIUM),
                        trust_spki=mosquitto_dynsec.spki_sha256(tls.server_cert))
            cpu0, wall0 = time.process_time(), time.monotonic()
            res = await run_devices(plan, limit_s=180 + 2 * len(seeded.candidates) * args.spacing)
            server_cpu = 100 * (time.process_time() - cpu0) / (time.monotonic() - wall0)
        finally:
            await rt.stop()
            await asyncio.to_thread(broker.stop)
    lat: dict[str, Any] = {
        "devices": res["devices"], "pages": res["pages"],
        "browser_version": f"Chromium {res['browser_version']}",
        "browser": {**summary_ms(res["browser_ms"]), "lost": res["browser_missing"]},
        "baseline": {**summary_ms(res["baseline_ms"]), "lost": res["baseline_missing"]},
        "confirm_http": summary_ms(res["confirm_http_ms"]),
        "browser_duplicates": res["browser_duplicates"],
        "browser_reconnects": res["browser_reconnects"],
        "confirm_errors": res["confirm_errors"], "credentials_s": round(res["credentials_s"], 2),
        "connect_s": round(res["connect_s"], 2), "transport": transport,
        "server_cpu_pct_during": round(server_cpu, 1), "target_p95_ms": TARGET_P95_MS}
    b, w = lat["baseline"], lat["browser"]
    lat["ratio_browser_vs_baseline_p50"] = round(w["p50_ms"] / b["p50_ms"], 2)
    lat["ratio_browser_vs_baseline_p95"] = round(w["p95_ms"] / b["p95_ms"], 2)
    lat["met"] = w["p95_ms"] <= TARGET_P95_MS and w["lost"] == 0
    return {"machine": machine(), "load_before": load_before,
            "params": {"devices": args.devices, "pages": args.pages, "alerts": args.alerts,
                       "spacing_s": args.spacing},
            "latency": lat}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=50, help="devices per path")
    parser.add_argument("--pages", type=int, default=5,
                        help="Chromium contexts (one page each) the browser clients share")
    parser.add_argument("--alerts", type=int, default=40, help="confirms per path")
    parser.add_argument("--spacing", type=float, default=0.15, help="seconds between confirms")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "browser.json")
    args = parser.parse_args()
    if not (1 <= args.devices <= 200 and 1 <= args.pages <= args.devices
            and 1 <= args.alerts <= 500 and 0.02 <= args.spacing <= 5):
        parser.error("bounds: 1 ≤ devices ≤ 200, 1 ≤ pages ≤ devices, 1 ≤ alerts ≤ 500, "
                     "0.02 ≤ spacing ≤ 5")
    logging.basicConfig(level=logging.WARNING, format="[%(name)s] %(message)s")
    log.setLevel(logging.INFO)
    preflight()
    report = asyncio.run(bench(args))
    report["markdown"] = table(report)
    print(report["markdown"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    main()
