"""Benchmark the mobile API: confirm-to-device latency (MQTT and SSE) and alert-list throughput.

    python bench/bench_api.py [--devices 50] [--alerts 40] [--out bench/results/api.json]

This process is the server: a real :class:`kernel.runtime.Runtime` (SQLite store, ONNX engine,
``[[sinks]] type = "mqtt"`` behind the outbox dispatcher, ``[[services]] type = "http"``: the
API under uvicorn) on 127.0.0.1, with a private Mosquitto (free port, temporary config). It
seeds a live deployment, one operator and ``--devices`` officers, creates ``--alerts``
candidates (plus warm-ups) with ``runtime.governance.alerts.create_candidate`` and small real
JPEGs, and then measures, with every client in a SEPARATE process:

1. confirm-to-device latency (``bench/bench_api_devices.py``): ``--devices`` aiomqtt
   subscribers on the deployment topic and as many SSE clients on ``/api/feed`` (officer
   sessions); the operator confirms each candidate through ``POST
   /api/candidates/{id}/confirm``, ``--spacing`` apart. Latency = device receive time −
   ``time.time()`` just before the confirm request was sent. Named baseline: the broker alone
   (a raw aiomqtt QoS-1 publish straight to the topic, same subscribers, same run).
2. throughput of the officer alert list ``GET /api/alerts?deployment_id=…`` (``--alerts``
   confirmed alerts) with ``wrk`` at ``--conns`` connections, ``--duration`` seconds each.
   Named baselines on the same server: ``GET /manifest.webmanifest`` (a static PWA file, no
   session: the framework's floor) and ``GET /api/auth/me`` (session check only: what
   authentication costs before the handler's query).

Prints a Markdown table (machine, date, figures) and writes JSON to ``--out``. Needs
``mosquitto`` and ``wrk`` (apt) and the model store (``pinchpoint models build``).
Never run in CI (timings).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import io
import json
import logging
import os
import platform
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from demo.scenario import live_deployment  # noqa: E402
from demo.walkpast import DEMO_FACES  # noqa: E402
from kernel import config as config_module  # noqa: E402
from kernel.domain.governance import Governance  # noqa: E402
from kernel.protocols.engine import FaceEngine  # noqa: E402
from kernel.runtime import Runtime  # noqa: E402
from mobile_api.backend import accounts_for  # noqa: E402
from mobile_api.security import COOKIE  # noqa: E402
from mobile_api.settings import ApiSettings  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_api_profile  # noqa: E402

MOSQUITTO = Path("/usr/sbin/mosquitto")
DEVICES_SCRIPT = Path(__file__).resolve().parent / "bench_api_devices.py"
PASSWORD = "bench password 1234567"
TARGET_P95_MS = 250.0
WARMUP = 2
WRK_LUA = """
done = function(summary, latency, requests)
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,'
    .. '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""

log = logging.getLogger("bench.api")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_port(port: int, limit_s: float = 30.0) -> None:
    deadline = time.monotonic() + limit_s
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on 127.0.0.1:{port}") from None
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "loadavg_1m": round(os.getloadavg()[0], 2)}


def pct(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100), nearest rank; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100.0 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(values: list[float]) -> dict[str, float | int]:
    return {"n": len(values), "p50_ms": round(pct(values, 50), 2),
            "p95_ms": round(pct(values, 95), 2), "p99_ms": round(pct(values, 99), 2),
            "max_ms": round(max(values), 2) if values else float("nan"),
            "mean_ms": round(statistics.fmean(values), 2) if values else float("nan")}


# --- the broker ----------------------------------------------------------------------------

class Mosquitto:
    """A private Mosquitto on a free 127.0.0.1 port, anonymous, no persistence."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.conf = workdir / "mosquitto.conf"
        self.logfile = workdir / "mosquitto.log"
        user = os.environ.get("USER") or "root"
        with contextlib.suppress(KeyError, ImportError):
            import pwd
            user = pwd.getpwuid(os.getuid()).pw_name
        self.conf.write_text(
            f"user {user}\nper_listener_settings false\nallow_anonymous true\n"
            f"persistence false\nlog_dest file {self.logfile}\n"
            f"max_queued_messages 10000\nlistener {self.port} 127.0.0.1\nprotocol mqtt\n")
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            str(MOSQUITTO), "-c", str(self.conf),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        await wait_port(self.port, 10)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()


# --- the server ------------------------------------------------------------------------------

def write_config(tmp: Path, http_port: int, mqtt_port: int, *, pwa_dir: Path | None = None,
                 sink_login: tuple[str, str] | None = None,
                 service_extra: str = "") -> config_module.Config:
    """The server's config. ``pwa_dir``: the PWA to serve (default: a stub of two files, all
    the throughput rows need); ``sink_login``: the sink's broker account (username, password)
    on a broker that wants one; ``service_extra``: more keys of the http service (e.g. its
    ``mqtt`` table for the officers' MQTT over WebSockets, ``bench/bench_browser.py``)."""
    pwa = pwa_dir
    if pwa is None:
        pwa = tmp / "pwa"
        pwa.mkdir()
        (pwa / "manifest.webmanifest").write_text(json.dumps(
            {"name": "Pinchpoint", "short_name": "Pinchpoint", "start_url": "/",
             "display": "standalone", "icons": []}))
        (pwa / "index.html").write_text("<!doctype html><title>Pinchpoint</title>")
    login = "" if sink_login is None else (
        f'username = "{sink_login[0]}"\npassword = "{sink_login[1]}"\n')
    text = f"""
data_dir = "{tmp / 'var'}"
[logging]
level = "warning"
[pipeline]
workers = 2
[engine]
type = "onnx"
models_dir = "{REPO / 'var' / 'models'}"
[store]
type = "sqlite"
[[sinks]]
id = "mqtt"
type = "mqtt"
host = "127.0.0.1"
port = {mqtt_port}
client_id = "bench-server"
{login}[[services]]
type = "http"
host = "127.0.0.1"
port = {http_port}
secure_cookie = false
pwa_dir = "{pwa}"
argon2_time_cost = 1
argon2_memory_kib = 8
argon2_parallelism = 1
{service_extra}
"""
    path = tmp / "config.toml"
    path.write_text(text)
    return config_module.load(path, environ={})


def pass_times(n: int, window_s: float) -> list[float]:
    """Capture times (epoch seconds, oldest first, the last one now) of ``n`` sightings of one
    entry that are ``n`` separate passes: each more than the episode window (``[matching.
    episodes] window_s``) after the one before, so each opens an episode of its own and is
    confirmed on its own. Sightings within the window are one episode: confirming the first
    confirms them all, and the rest then answer 409 (issue 15)."""
    now, gap = time.time(), window_s + 1.0
    return [now - (n - 1 - i) * gap for i in range(n)]


def small_jpegs() -> tuple[bytes, bytes]:
    """A face crop and a torso image as a camera would store them: small real JPEGs."""
    from PIL import Image

    with Image.open(DEMO_FACES / "obama2.jpg") as im:
        rgb = im.convert("RGB")
        w, h = rgb.size
        face = rgb.crop((w // 4, h // 8, 3 * w // 4, 5 * h // 8)).resize((112, 112))
        torso = rgb.resize((240, int(240 * h / w)))
    out = []
    for img in (face, torso):
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=85)
        out.append(buf.getvalue())
    return out[0], out[1]


async def go_live(gov: Governance, engine: FaceEngine) -> tuple[str, str]:
    """A live deployment with one watch-list entry; returns (deployment id, entry id)."""
    dep = await live_deployment(gov, engine, ["obama.jpg"], name="bench", actor="bench")
    return dep, (await gov.watchlists.entries(dep))[0].id


class Seeded(msgspec.Struct, kw_only=True):
    deployment: str
    candidates: list[str]
    officer_cookies: list[str]
    operator_cookie: str
    operator_csrf: str


async def seed(rt: Runtime, devices: int, alerts: int) -> Seeded:
    gov, engine = rt.governance, rt.engine
    assert gov is not None and engine is not None
    cheap = ApiSettings(argon2_time_cost=1, argon2_memory_kib=8, argon2_parallelism=1)
    accounts = accounts_for(gov, cheap)
    await accounts.add_user("operator-1", "operator", PASSWORD, "bench")
    op = await accounts.create_session("operator-1")
    cookies = []
    for i in range(devices):
        name = f"officer-{i:03d}"
        await accounts.add_user(name, "officer", PASSWORD, "bench")
        cookies.append(f"{COOKIE}={(await accounts.create_session(name)).token}")
    dep, entry = await go_live(gov, engine)
    face, torso = await asyncio.to_thread(small_jpegs)
    ids = []
    for at in pass_times(alerts + WARMUP, rt.config.matching.episodes.window_s):
        rec = await gov.alerts.create_candidate(dep, entry, "gate-1", 0.95, at, face, torso)
        ids.append(rec.id)
    return Seeded(deployment=dep, candidates=ids, officer_cookies=cookies,
                  operator_cookie=f"{COOKIE}={op.token}", operator_csrf=op.csrf)


# --- part 1: confirm to device -------------------------------------------------------------

async def run_devices(plan: dict[str, Any], limit_s: float) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(DEVICES_SCRIPT), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=None)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(json.dumps(plan).encode()), limit_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"device process failed (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(out)
    return result


# --- part 2: throughput --------------------------------------------------------------------

async def wrk(url: str, conns: int, duration: float, headers: dict[str, str],
              lua: Path) -> dict[str, Any]:
    args = ["wrk", "-t1", f"-c{conns}", f"-d{duration:g}s", "--timeout", "5s", "-s", str(lua)]
    for k, v in headers.items():
        args += ["-H", f"{k}: {v}"]
    cpu0, wall0 = time.process_time(), time.monotonic()
    proc = await asyncio.create_subprocess_exec(*args, url, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), duration + 30)
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    line = next((ln for ln in out.decode().splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result: {out.decode()} {err.decode()}")
    raw = json.loads(line.removeprefix("WRKJSON "))
    seconds = raw["duration_us"] / 1e6
    errors = sum(raw[k] for k in ("connect", "read", "write", "status", "timeout"))
    return {"conns": conns, "requests": raw["requests"], "errors": errors,
            "rps": round(raw["requests"] / seconds, 1),
            "p50_ms": round(raw["p50_us"] / 1000, 2), "p95_ms": round(raw["p95_us"] / 1000, 2),
            "p99_ms": round(raw["p99_us"] / 1000, 2),
            "server_cpu_pct": round(100 * cpu / wall, 1)}


async def throughput(base: str, seeded: Seeded, conns: list[int], duration: float,
                     tmp: Path, profile_at: int | None = None
                     ) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any] | None]:
    """wrk rows per endpoint and connection count; with ``profile_at``, a py-spy profile of
    this (the server's) process while the alert list is loaded at that many connections."""
    import httpx

    lua = tmp / "report.lua"
    lua.write_text(WRK_LUA)
    officer = {"Cookie": seeded.officer_cookies[0]}
    endpoints = {
        "alerts": (f"{base}/api/alerts?deployment_id={seeded.deployment}", officer),
        "auth_me": (f"{base}/api/auth/me", officer),
        "static_manifest": (f"{base}/manifest.webmanifest", {}),
    }
    async with httpx.AsyncClient() as client:
        for name, (url, headers) in endpoints.items():
            r = await client.get(url, headers=headers)
            if r.status_code != 200:
                raise RuntimeError(f"{name}: {url} answered {r.status_code}")
            if name == "alerts":
                log.info("officer alert list: %d alerts, %d bytes", len(r.json()),
                            len(r.content))
    out: dict[str, list[dict[str, Any]]] = {}
    profile: dict[str, Any] | None = None
    for name, (url, headers) in endpoints.items():
        out[name] = []
        for c in conns:
            row = await wrk(url, c, duration, headers, lua)
            log.info("%s c=%d: %.0f req/s p50 %.1f ms p95 %.1f ms (server CPU %.0f%%)",
                        name, c, row["rps"], row["p50_ms"], row["p95_ms"],
                        row["server_cpu_pct"])
            out[name].append(row)
    if profile_at is not None:
        # an extra run, so that the sampler's pauses do not touch the figures above
        url, headers = endpoints["alerts"]
        spy = await bench_api_profile.record(duration, tmp / "profile.txt")
        await asyncio.sleep(0.5)  # py-spy attaches
        row = await wrk(url, profile_at, duration, headers, lua)
        await asyncio.wait_for(spy.wait(), 30)
        profile = {"endpoint": "alerts", "conns": profile_at, "rps_while_profiled": row["rps"],
                   **await asyncio.to_thread(bench_api_profile.summarise,
                                             tmp / "profile.txt", REPO)}
    return out, profile


# --- report --------------------------------------------------------------------------------

def table(report: dict[str, Any]) -> str:
    m = report["machine"]
    lat = report["latency"]
    load = report["load_before"], m["loadavg_1m"]
    busy = " — MACHINE BUSY: other processes compete for the cores" if max(load) > (
        m["nproc"] or 1) else ""
    lines = [f"Machine: {m['nproc']} cores, {m['cpu']}, Python {m['python']}; {m['date']}; "
             f"load average (1 min) {load[0]:.1f} before, {load[1]:.1f} after{busy}",
             f"{lat['devices']} officer devices per path, {lat['confirms']} confirms "
             f"{report['params']['spacing_s'] * 1000:.0f} ms apart (+{WARMUP} warm-up), "
             "everything on 127.0.0.1; clients in a separate process", "",
             "| confirm → device (ms) | samples | lost | p50 | p95 | p99 | max | "
             f"target p95 ≤ {TARGET_P95_MS:.0f} |",
             "|---|---|---|---|---|---|---|---|"]
    rows = [("MQTT (sink.mqtt via outbox dispatcher)", "mqtt", True),
            ("SSE /api/feed", "sse", True),
            ("baseline: raw aiomqtt publish → broker → devices", "baseline_mqtt", False),
            ("operator's confirm POST round trip", "confirm_http", False)]
    for label, key, target in rows:
        s = lat[key]
        verdict = ("met" if s["p95_ms"] <= TARGET_P95_MS else "MISSED") if target else "—"
        lines.append(f"| {label} | {s['n']} | {s.get('lost', 0)} | {s['p50_ms']:.1f} | "
                     f"{s['p95_ms']:.1f} | {s['p99_ms']:.1f} | {s['max_ms']:.1f} | {verdict} |")
    ratio = lat["ratio_mqtt_vs_broker_p50"]
    lines.append(f"\nMQTT path / broker alone (p50): {ratio:.1f}×; "
                 f"(p95): {lat['ratio_mqtt_vs_broker_p95']:.1f}×")
    tp = report["throughput"]
    lines += ["", f"| GET ({report['params']['duration_s']:g} s per row, wrk -t1) | conns | "
              "req/s | p50 ms | p95 ms | p99 ms | errors | server CPU % | × alerts req/s |",
              "|---|---|---|---|---|---|---|---|---|"]
    labels = {"alerts": f"/api/alerts?deployment_id (officer, {report['params']['alerts']} "
                        "alerts)",
              "auth_me": "baseline: /api/auth/me (session check only)",
              "static_manifest": "baseline: /manifest.webmanifest (static, no session)"}
    for name, rows_ in tp.items():
        for i, r in enumerate(rows_):
            base = tp["alerts"][i]["rps"]
            lines.append(f"| {labels[name]} | {r['conns']} | {r['rps']:.0f} | {r['p50_ms']:.1f} "
                         f"| {r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} | "
                         f"{r['server_cpu_pct']:.0f} | {r['rps'] / base:.2f} |")
    prof = report.get("profile")
    if prof and prof.get("samples"):
        lines += ["", f"py-spy, server process, GET /api/alerts at {prof['conns']} conns "
                  f"({prof['samples']} samples, % of samples):", "",
                  "| where | % |", "|---|---|"]
        for k, v in prof["threads"].items():
            lines.append(f"| thread {k} | {v} |")
        for k, v in prof["layers_inclusive"].items():
            lines.append(f"| {k} (inclusive) | {v} |")
        for k, v in prof["ours_inclusive"].items():
            lines.append(f"| {k} (inclusive) | {v} |")
        for k, v in prof["self_top"].items():
            lines.append(f"| self: {k} | {v} |")
    return "\n".join(lines)


def preflight() -> None:
    if not MOSQUITTO.exists():
        raise SystemExit("mosquitto is not installed (apt-get install -y mosquitto)")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    if not (REPO / "var" / "models" / "models.json").is_file():
        raise SystemExit("models not built: run `pinchpoint models build`")


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    conns = [int(c) for c in args.conns.split(",")]
    load_before = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmpdir:
        tmp = Path(tmpdir)
        broker = Mosquitto(tmp)
        await broker.start()
        http_port = free_port()
        cfg = write_config(tmp, http_port, broker.port)
        rt = Runtime(cfg)
        try:
            await rt.start()
            await wait_port(http_port)
            base = f"http://127.0.0.1:{http_port}"
            seeded = await seed(rt, args.devices, args.alerts)
            log.info("seeded: %d officers, %d candidates", args.devices,
                        len(seeded.candidates))
            plan = {"url": base, "mqtt_host": "127.0.0.1", "mqtt_port": broker.port,
                    "topic": f"pinchpoint/{seeded.deployment}/alerts",
                    "officer_cookies": seeded.officer_cookies,
                    "operator_cookie": seeded.operator_cookie,
                    "operator_csrf": seeded.operator_csrf, "candidates": seeded.candidates,
                    "warmup": WARMUP, "baseline": args.alerts, "spacing_s": args.spacing}
            cpu0, wall0 = time.process_time(), time.monotonic()
            res = await run_devices(plan, limit_s=120 + 2 * args.alerts * args.spacing)
            server_cpu = 100 * (time.process_time() - cpu0) / (time.monotonic() - wall0)
            lat: dict[str, Any] = {
                "devices": res["devices"], "confirms": len(res["confirm_http_ms"]),
                "mqtt": {**summary_ms(res["mqtt_ms"]), "lost": res["mqtt_missing"]},
                "sse": {**summary_ms(res["sse_ms"]), "lost": res["sse_missing"]},
                "baseline_mqtt": {**summary_ms(res["baseline_mqtt_ms"]),
                                  "lost": res["baseline_missing"]},
                "confirm_http": summary_ms(res["confirm_http_ms"]),
                "confirm_errors": res["confirm_errors"], "connect_s": round(res["connect_s"], 2),
                "server_cpu_pct_during": round(server_cpu, 1)}
            b = lat["baseline_mqtt"]
            lat["ratio_mqtt_vs_broker_p50"] = round(lat["mqtt"]["p50_ms"] / b["p50_ms"], 2)
            lat["ratio_mqtt_vs_broker_p95"] = round(lat["mqtt"]["p95_ms"] / b["p95_ms"], 2)
            lat["target_p95_ms"] = TARGET_P95_MS
            lat["met"] = {k: lat[k]["p95_ms"] <= TARGET_P95_MS and lat[k]["lost"] == 0
                          for k in ("mqtt", "sse")}
            profile_at = None
            if args.profile:
                profile_at = conns[len(conns) // 2]
            tp, prof = await throughput(base, seeded, conns, args.duration, tmp, profile_at)
        finally:
            await rt.stop()
            await broker.stop()
    return {"machine": machine(), "load_before": load_before,
            "params": {"devices": args.devices, "alerts": args.alerts,
                       "spacing_s": args.spacing, "duration_s": args.duration,
                       "conns": conns},
            "latency": lat, "throughput": tp, "profile": prof}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--alerts", type=int, default=40)
    parser.add_argument("--spacing", type=float, default=0.15,
                        help="seconds between confirms (and raw publishes)")
    parser.add_argument("--conns", default="1,16,64", help="wrk connection counts")
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per wrk row")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy the server while wrk loads the alert list (middle conns)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "api.json")
    args = parser.parse_args()
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
