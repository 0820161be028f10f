"""Soak: the real ``pinchpoint demo`` process with 8 file cameras for 30 minutes, the operator
and officers connected, sampled every minute (issue 12, Done-when 5). Not run in CI.

    python bench/bench_soak.py [--minutes 30] [--cameras 8] [--officers 4]
                               [--warmup-minutes 5] [--out bench/results/soak.json]

What runs: ``python -m kernel.cli.main demo`` (the code ``make demo`` runs) in a temporary
data directory, its config the shipped one with ``--cameras`` file cameras all looping the
demo walk-past clip (the listed person passes every loop, so candidates keep coming), the HTTP
service on a free loopback port, SQLite. This process is the people at work:

- the operator logs in, holds ``/api/feed`` open, and every few seconds lists the candidates
  and decides each one (confirm and reject in turn), as a busy console would;
- ``--officers`` officers log in, each holds ``/api/feed`` open, and on every confirmed alert
  fetches it and its images, as the tablet app does.

Sampled each minute from ``/proc/<pid>``: resident memory (VmRSS), open file descriptors,
threads; from the data directory: the SQLite file and its WAL; from the API: frames analysed
and dropped (``/api/health/cameras``) and the candidates decided.

The baseline is the process itself right after the warm-up (a soak has no peer program to
race): "flat" means the last sample is within 5 % (RSS, descriptors) of the first sample after
the warm-up, and the database grows by a constant number of bytes per stored candidate (each
candidate keeps its encrypted crops for 30 days by design, R14), with the WAL bounded.
Everything is on 127.0.0.1 and bounded by ``--minutes``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.bench_pipeline import machine  # noqa: E402

FLAT = 0.05
"""Largest growth, last sample over the first after the warm-up, still called flat."""
FDS_SLACK = 4
"""Descriptors come and go with the clients' requests (a sample can land mid-request): open
files are flat when the last sample is within 5 % + 4 of the first after the warm-up."""
DECIDE_EVERY_S = 3.0
START_TIMEOUT_S = 600.0
"""The demo makes its clip (about a minute here) and loads the models before it listens."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(data_dir: Path, cameras: int, port: int, models: Path) -> Path:
    """The shipped config.toml, with ``cameras`` file cameras and this run's port/data."""
    text = (REPO / "config.toml").read_text()
    text = re.sub(r'^data_dir = .*$', f'data_dir = "{data_dir}"', text, flags=re.M)
    text = re.sub(r'^port = .*$', f"port = {port}", text, flags=re.M)
    text = re.sub(r'^models_dir = .*$', f'models_dir = "{models}"', text,
                  flags=re.M)
    head, _, rest = text.partition("[[cameras]]")
    _, _, tail = rest.partition("[engine]")
    cams = "".join(f'[[cameras]]\nid = "gate-{i + 1}"\ntype = "file"\n'
                   f'path = "demo/walkpast.mp4"\nloop = true\nrealtime = true\n\n'
                   for i in range(cameras))
    path = data_dir / "soak.toml"
    path.write_text(f"{head}{cams}[engine]{tail}")
    return path


class People:
    """The operator and the officers, over the real API."""

    def __init__(self, url: str, passwords: dict[str, str]) -> None:
        self.url = url
        self.passwords = passwords
        self.confirmed = 0
        self.rejected = 0
        self.fetched = 0
        self.errors: list[str] = []

    async def login(self, session: aiohttp.ClientSession, name: str) -> str:
        async with session.post(f"{self.url}/api/auth/login",
                                json={"name": name, "password": self.passwords[name]}) as r:
            if r.status != 200:
                raise RuntimeError(f"login {name}: {r.status} {await r.text()}")
            return str((await r.json())["csrf_token"])

    async def feed(self, session: aiohttp.ClientSession, on_alert: Any = None) -> None:
        """Hold the live feed open; call ``on_alert(alert_id)`` for each confirmed alert."""
        while True:
            try:
                async with session.get(f"{self.url}/api/feed",
                                       headers={"Accept": "text/event-stream"}) as resp:
                    event = ""
                    async for raw in resp.content:
                        line = raw.decode().rstrip("\r\n")
                        if line.startswith("event:"):
                            event = line.partition(":")[2].strip()
                        elif line.startswith("data:") and event == "alert" and on_alert:
                            await on_alert(json.loads(line.partition(":")[2])["alert_id"])
                        elif not line:
                            event = ""
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.errors.append(f"feed: {exc!r}")
            await asyncio.sleep(1.0)  # the server restarted the stream: reconnect, bounded

    async def operator(self) -> None:
        async with client() as s:
            csrf = await self.login(s, "operator")
            feed = asyncio.create_task(self.feed(s))
            headers = {"X-CSRF-Token": csrf}
            try:
                while True:
                    await asyncio.sleep(DECIDE_EVERY_S)
                    async with s.get(f"{self.url}/api/candidates") as r:
                        pending = await r.json() if r.status == 200 else []
                    for cand in pending:
                        confirm = (self.confirmed + self.rejected) % 2 == 0
                        verb = "confirm" if confirm else "reject"
                        body = None if confirm else {"reason": "not_the_person"}
                        async with s.post(f"{self.url}/api/candidates/{cand['id']}/{verb}",
                                          json=body, headers=headers) as r:
                            if r.status == 200:
                                self.confirmed += confirm
                                self.rejected += not confirm
                            else:
                                self.errors.append(f"{verb}: {r.status} {await r.text()}")
            finally:
                feed.cancel()

    async def officer(self, name: str) -> None:
        async with client() as s:
            await self.login(s, name)

            async def fetch(alert_id: str) -> None:
                async with s.get(f"{self.url}/api/alerts/{alert_id}") as r:
                    if r.status != 200:
                        self.errors.append(f"alert: {r.status}")
                        return
                    alert = await r.json()
                for link in (alert.get("images") or {}).values():
                    async with s.get(f"{self.url}{link}") as r:
                        await r.read()
                self.fetched += 1

            await self.feed(s, fetch)


def client() -> aiohttp.ClientSession:
    """A browser-like session: keeps the server's cookie (aiohttp's default jar refuses cookies
    from an IP address such as 127.0.0.1), no read timeout on the live feed."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                 timeout=aiohttp.ClientTimeout(sock_read=None))


def proc_sample(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    threads = int(re.search(r"Threads:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    fds = sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir())
    return {"rss_kb": rss, "fds": fds, "threads": threads}


def size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


async def sample_api(session: aiohttp.ClientSession, url: str) -> dict[str, int]:
    """Frames analysed and dropped so far, all cameras (the technical user's session)."""
    async with session.get(f"{url}/api/health/cameras") as r:
        r.raise_for_status()
        cams = await r.json()
    return {"processed": sum(c["processed"] for c in cams),
            "dropped": sum(c["dropped"] for c in cams)}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="pinchpoint-soak-"))
    port = free_port()
    config = write_config(tmp, args.cameras, port, args.models.resolve())
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kernel.cli.main", "demo", "--config", str(config),
        "--data", str(args.data), "--seconds", str(args.minutes * 60 + 120),
        cwd=tmp, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    assert proc.stdout is not None
    out = proc.stdout
    passwords: dict[str, str] = {}
    started = time.monotonic()
    while len(passwords) < 4:
        if time.monotonic() - started > START_TIMEOUT_S:
            raise RuntimeError("the demo did not print its accounts in time")
        line = (await out.readline()).decode()
        if not line:
            raise RuntimeError(f"the demo exited with {await proc.wait()} before it listened")
        print("demo:", line.rstrip(), file=sys.stderr)
        m = re.match(r"\s+log in as (\S+)\s+password (\S+)", line)
        if m:
            passwords[m.group(1)] = m.group(2)

    async def drain() -> None:
        while await out.readline():
            pass

    draining = asyncio.create_task(drain())
    url = f"http://127.0.0.1:{port}"
    officers = [n for n in passwords if n.startswith("officer")]
    people = People(url, passwords)
    # The demo has one officer account; more devices are more sessions of it.
    tasks = [asyncio.create_task(people.operator())]
    tasks += [asyncio.create_task(people.officer(officers[0])) for _ in range(args.officers)]
    db = tmp / "pinchpoint.db"
    samples: list[dict[str, Any]] = []
    t0 = time.monotonic()
    technical = client()
    try:
        await people.login(technical, "technical")
        for minute in range(args.minutes + 1):
            wake = t0 + minute * args.sample_s
            await asyncio.sleep(max(0.0, wake - time.monotonic()))
            if proc.returncode is not None:
                raise RuntimeError(f"the demo exited with {proc.returncode} at minute {minute}")
            row: dict[str, Any] = {"minute": minute, **proc_sample(proc.pid),
                                   "db_bytes": size(db), "wal_bytes": size(Path(f"{db}-wal")),
                                   **await sample_api(technical, url),
                                   "confirmed": people.confirmed, "rejected": people.rejected,
                                   "officer_fetches": people.fetched}
            samples.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    finally:
        await technical.close()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        await proc.wait()
        await draining
    return summarise(args, samples, people.errors)


def growth(samples: list[dict[str, Any]], key: str) -> float:
    first, last = samples[0][key], samples[-1][key]
    return (last - first) / first if first else 0.0


def summarise(args: argparse.Namespace, samples: list[dict[str, Any]],
              errors: list[str]) -> dict[str, Any]:
    after = [s for s in samples if s["minute"] >= args.warmup_minutes]
    decided = [s["confirmed"] + s["rejected"] for s in after]
    stored = decided[-1] - decided[0]
    on_disk = [s["db_bytes"] + s["wal_bytes"] for s in after]
    per_candidate = (on_disk[-1] - on_disk[0]) / stored if stored else 0.0
    rss, fds = growth(after, "rss_kb"), growth(after, "fds")
    minutes = after[-1]["minute"] - after[0]["minute"]
    frames = after[-1]["processed"] - after[0]["processed"]
    drops = after[-1]["dropped"] - after[0]["dropped"]
    lines = [
        f"{args.cameras} file cameras, the operator deciding every candidate and "
        f"{args.officers} officer devices on the live feed, for {args.minutes} minutes "
        f"(warm-up {args.warmup_minutes}). Baseline: the same process at minute "
        f"{args.warmup_minutes}.",
        "",
        "| minute | RSS MB | open files | threads | DB MB | WAL MB | frames analysed | "
        "dropped | decided |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in samples:
        lines.append(f"| {s['minute']} | {s['rss_kb'] / 1024:.0f} | {s['fds']} | {s['threads']} "
                     f"| {s['db_bytes'] / 2**20:.1f} | {s['wal_bytes'] / 2**20:.1f} | "
                     f"{s['processed']} | {s['dropped']} | {s['confirmed'] + s['rejected']} |")
    fds_flat = after[-1]["fds"] <= after[0]["fds"] * (1 + FLAT) + FDS_SLACK
    verdict = "flat" if rss <= FLAT and fds_flat else "GROWING"
    lines += [
        "",
        f"After the warm-up ({minutes} min): RSS {rss:+.1%}, open files {fds:+.1%} "
        f"(**{verdict}**: limit +{FLAT:.0%}, files +{FLAT:.0%} + {FDS_SLACK}); database and WAL "
        f"+{per_candidate / 1024:.0f} KiB per "
        f"decided candidate ({stored} decided; each keeps its encrypted crops, R14); WAL at most "
        f"{max(s['wal_bytes'] for s in after) / 2**20:.1f} MB; "
        f"{frames / max(minutes * 60, 1):.1f} frames/s analysed in total, {drops} dropped; "
        f"{len(errors)} client errors.",
    ]
    return {"machine": machine(), "date": dt.datetime.now(dt.UTC).isoformat(),
            "samples": samples, "errors": errors[:50], "rss_growth": rss, "fd_growth": fds,
            "db_bytes_per_candidate": per_candidate, "verdict": verdict,
            "markdown": "\n".join(lines)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=int, default=30)
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--officers", type=int, default=4)
    parser.add_argument("--warmup-minutes", type=int, default=5)
    parser.add_argument("--sample-s", type=float, default=60.0,
                        help="seconds between samples (a 'minute' of the table)")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--models", type=Path, default=REPO / "var" / "models",
                        help="built models (`pinchpoint models build`)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "soak.json")
    args = parser.parse_args()
    if args.warmup_minutes >= args.minutes:
        parser.error("--warmup-minutes must be less than --minutes")
    result = asyncio.run(run(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(result["markdown"])


if __name__ == "__main__":
    main()
