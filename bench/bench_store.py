"""PostgreSQL against SQLite for the two store operations issue 13 names, and asyncpg against
psycopg 3 for the choice of driver, in one run (bounded by ``--budget``, 50 s).

- **Candidate commit**: the transaction :meth:`kernel.domain.alerts.Alerts.create_candidate`
  runs (read the deployment and the entry, insert the two sealed crops and the alert, read the
  audit head and append the audit row), committed durably, one after another.
- **Officer alert list**: ``alerts.in_states(deployment, ["confirmed"])`` in its own
  transaction (what ``GET /api/alerts`` does for an officer, R5), with 100 confirmed alerts
  among 500 in the deployment, rows made into :class:`AlertRecord`.

The store rows run the real adapters (``store.sqlite`` on a file in a temporary directory,
``store.postgres`` on asyncpg). The driver rows run the same SQL with each driver directly on
one connection (BEGIN with the advisory lock, the statements, COMMIT), so they differ by
driver only. PostgreSQL is the test server of ``scripts/setup.sh test`` (role and database
``pinchpoint_test``), in a schema of the bench's own, dropped afterwards.

    python bench/bench_store.py [--out bench/results/store.json] [--commits 300] [--lists 100]
                                [--budget 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import asyncpg  # noqa: E402
from bench_pipeline import machine, write_report  # noqa: E402

from adapters.store import rows  # noqa: E402
from adapters.store.postgres import PostgresStore  # noqa: E402
from adapters.store.sqlite import SqliteStore  # noqa: E402
from kernel.clock import ManualClock  # noqa: E402
from kernel.domain import audit  # noqa: E402
from kernel.domain.records import (  # noqa: E402
    AlertRecord,
    BlobRecord,
    DeploymentRecord,
    EntryRecord,
)
from kernel.executor import BoundedExecutor  # noqa: E402
from kernel.protocols.adapter import AdapterContext  # noqa: E402
from kernel.protocols.store import Store  # noqa: E402

HOST = os.environ.get("PINCHPOINT_TEST_PG_HOST", "127.0.0.1")
PORT = int(os.environ.get("PINCHPOINT_TEST_PG_PORT", "5432"))
NAME = "pinchpoint_test"
PASSWORD = os.environ.get("PINCHPOINT_TEST_PG_PASSWORD", "pinchpoint_test")
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
# sealed crops as the pipeline stores them: a 112 px face JPEG and a torso JPEG, measured on
# the demo clip at about 5 kB and 14 kB (AES-GCM adds 16 bytes)
FACE, TORSO = os.urandom(5_000), os.urandom(14_000)
ALERTS, CONFIRMED = 500, 100


def _deployment() -> DeploymentRecord:
    return DeploymentRecord(id="dep", name="bench", authorising_officer="a", location="l",
                            starts_at=T0, ends_at=T0 + timedelta(hours=8), objectives="o",
                            case_reference="c", command_team=["g"], state="live",
                            created_at=T0, created_by="bench")


def _entry() -> EntryRecord:
    return EntryRecord(id="entry", deployment_id="dep", list="watch", category="wanted",
                       marking="OFFICIAL", details_blob="details", created_at=T0,
                       created_by="bench")


def _alert(n: int, state: str) -> AlertRecord:
    return AlertRecord(id=f"a{n:06d}-{uuid.uuid4().hex[:6]}", deployment_id="dep",
                       entry_id="entry", list="watch", category="wanted", camera_id="cam-1",
                       score=0.71, captured_at=T0 + timedelta(seconds=n),
                       created_at=T0 + timedelta(seconds=n), state=state,  # type: ignore[arg-type]
                       face_blob=f"f{n}", torso_blob=f"t{n}")


# --- through a Store (the real adapters) ------------------------------------------------------

async def store_commit(store: Store, clock: ManualClock, n: int, state: str) -> None:
    rec = _alert(n, state)
    async with store.transaction() as tx:
        await tx.deployments.get("dep")
        await tx.watchlists.get_entry("entry")
        await tx.blobs.insert(BlobRecord(id=rec.face_blob, deployment_id="dep", kind="face",
                                         nonce=b"n" * 12, ciphertext=FACE))
        await tx.blobs.insert(BlobRecord(id=rec.torso_blob, deployment_id="dep", kind="torso",
                                         nonce=b"n" * 12, ciphertext=TORSO))
        await tx.alerts.insert(rec)
        await audit.append(tx, clock, "pipeline", "alert.candidate",
                           {"alert": rec.id, "deployment": "dep"}, {"score": 0.71})


async def store_list(store: Store) -> int:
    async with store.transaction() as tx:
        return len(await tx.alerts.in_states("dep", ["confirmed"]))


async def store_setup(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.deployments.insert(_deployment())
        await tx.watchlists.insert_entry(_entry())


# --- one driver, the same SQL (the driver rows) -----------------------------------------------

ALERT_COLS = ("id, deployment_id, entry_id, list, category, camera_id, score, captured_at,"
              " created_at, state, face_blob, torso_blob, hold")
SQL = {
    "dep": "SELECT * FROM deployments WHERE id=$1",
    "entry": "SELECT * FROM entries WHERE id=$1",
    "blob": "INSERT INTO blobs (id, deployment_id, kind, nonce, ciphertext)"
            " VALUES ($1,$2,$3,$4,$5)",
    "alert": f"INSERT INTO alerts ({ALERT_COLS}) VALUES"
             f" ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
    "last": "SELECT * FROM audit ORDER BY seq DESC LIMIT 1",
    "audit": "INSERT INTO audit (seq, at, actor, action, subjects, details, prev_hash, hash)"
             " VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
    "list": "SELECT * FROM alerts WHERE list=$1 AND state = ANY($2::text[])"
            ' AND deployment_id=$3 ORDER BY created_at, id COLLATE "C"',
}


def _alert_params(rec: AlertRecord) -> tuple[Any, ...]:
    return (rec.id, rec.deployment_id, rec.entry_id, rec.list, rec.category, rec.camera_id,
            rec.score, rec.captured_at, rec.created_at, rec.state, rec.face_blob,
            rec.torso_blob, rec.hold)


def _audit_params(last: Any, clock: ManualClock, rec: AlertRecord) -> tuple[Any, ...]:
    seq = 1 if last is None else last["seq"] + 1
    prev = audit.GENESIS if last is None else last["hash"]
    return (seq, clock.now(), "pipeline", "alert.candidate",
            json.dumps({"alert": rec.id, "deployment": "dep"}, sort_keys=True),
            json.dumps({"score": 0.71}), prev, f"{seq:064x}")


class AsyncpgRaw:
    def __init__(self, con: Any, begin: str) -> None:
        self.con, self.begin = con, begin

    async def commit(self, clock: ManualClock, n: int, state: str) -> None:
        rec, con = _alert(n, state), self.con
        await con.execute(self.begin)
        try:
            await con.fetch(SQL["dep"], "dep")
            await con.fetch(SQL["entry"], "entry")
            await con.execute(SQL["blob"], rec.face_blob, "dep", "face", b"n" * 12, FACE)
            await con.execute(SQL["blob"], rec.torso_blob, "dep", "torso", b"n" * 12, TORSO)
            await con.execute(SQL["alert"], *_alert_params(rec))
            last = await con.fetchrow(SQL["last"])
            await con.execute(SQL["audit"], *_audit_params(last, clock, rec))
        except BaseException:
            await con.execute("ROLLBACK")
            raise
        await con.execute("COMMIT")

    async def list(self) -> int:
        await self.con.execute(self.begin)
        found = await self.con.fetch(SQL["list"], "watch", ["confirmed"], "dep")
        await self.con.execute("COMMIT")
        return len([rows.alert(r) for r in found])


class PsycopgRaw:
    def __init__(self, con: Any, begin: str) -> None:
        self.con, self.begin = con, begin
        self.sql = {k: re.sub(r"\$\d+", "%s", v) for k, v in SQL.items()}

    async def commit(self, clock: ManualClock, n: int, state: str) -> None:
        rec, con, sql = _alert(n, state), self.con, self.sql
        await con.execute(self.begin)
        try:
            await (await con.execute(sql["dep"], ("dep",))).fetchall()
            await (await con.execute(sql["entry"], ("entry",))).fetchall()
            await con.execute(sql["blob"], (rec.face_blob, "dep", "face", b"n" * 12, FACE))
            await con.execute(sql["blob"], (rec.torso_blob, "dep", "torso", b"n" * 12, TORSO))
            await con.execute(sql["alert"], _alert_params(rec))
            last = await (await con.execute(sql["last"])).fetchone()
            await con.execute(sql["audit"], _audit_params(last, clock, rec))
        except BaseException:
            await con.execute("ROLLBACK")
            raise
        await con.execute("COMMIT")

    async def list(self) -> int:
        await self.con.execute(self.begin)
        cur = await self.con.execute(self.sql["list"], ("watch", ["confirmed"], "dep"))
        found = await cur.fetchall()
        await self.con.execute("COMMIT")
        return len([rows.alert(r) for r in found])


# --- measuring ---------------------------------------------------------------------------------

Commit = Callable[[ManualClock, int, str], Awaitable[None]]
Listing = Callable[[], Awaitable[int]]


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"n": len(ordered), "p50": statistics.median(ordered) * 1e3,
            "p95": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1e3,
            "per_s": len(ordered) / sum(ordered)}


async def measure(paths: dict[str, tuple[Commit, Listing]], commits: int, lists: int,
                  budget_s: float) -> dict[str, Any]:
    """Fill every path's deployment with up to ALERTS alerts (one in ALERTS/CONFIRMED
    confirmed), timing the first ``commits``; then time ``lists`` officer lists each. The
    paths take turns, one operation each, so that the load of the machine (shared with other
    work) falls on all of them alike. Filling stops early at half of ``budget_s``."""
    clocks = {name: ManualClock(T0) for name in paths}
    timed: dict[str, list[float]] = {name: [] for name in paths}
    listed: dict[str, list[float]] = {name: [] for name in paths}
    started = time.monotonic()
    confirmed = 0
    for n in range(ALERTS):
        state = "confirmed" if n % (ALERTS // CONFIRMED) == 0 else "candidate"
        for name, (commit, _) in paths.items():
            begun = time.perf_counter()
            await commit(clocks[name], n, state)
            if n < commits:
                timed[name].append(time.perf_counter() - begun)
            clocks[name].advance(timedelta(milliseconds=5))
        confirmed += state == "confirmed"
        if time.monotonic() - started > budget_s / 2 and n >= 50:
            break
    filled = n + 1
    for _ in range(lists):
        for name, (_, listing) in paths.items():
            begun = time.perf_counter()
            got = await listing()
            listed[name].append(time.perf_counter() - begun)
            assert got == confirmed, (name, got, confirmed)
        if time.monotonic() - started > budget_s:
            break
    return {"alerts": filled, "confirmed": confirmed,
            "paths": {name: {"commit": _ms(timed[name]), "list": _ms(listed[name])}
                      for name in paths}}


def _context(data_dir: Path) -> AdapterContext:
    return AdapterContext(name="bench", data_dir=data_dir, executor=BoundedExecutor(1, 1),
                          clock=ManualClock(T0), log=logging.getLogger("bench.store"))


def _pg_config(schema: str) -> PostgresStore.Config:
    return PostgresStore.Config(host=HOST, port=PORT, database=NAME, user=NAME,
                                password_env="BENCH_PG_PASSWORD", schema=schema)


def _pg_store(schema: str) -> PostgresStore:
    return PostgresStore(_pg_config(schema), _context(Path(tempfile.gettempdir())),
                         environ={"BENCH_PG_PASSWORD": PASSWORD})


def _begin(schema: str) -> str:
    """The store's BEGIN (the same advisory lock), for the driver paths."""
    return _pg_store(schema).begin_statement


async def run(commits: int, lists: int, budget_s: float) -> dict[str, Any]:
    tag = f"bench_{os.getpid()}"
    schemas = [f"{tag}_store", f"{tag}_asyncpg", f"{tag}_psycopg"]
    admin = await asyncpg.connect(host=HOST, port=PORT, user=NAME, database=NAME,
                                  password=PASSWORD, timeout=10)
    opened: list[Store] = []
    closers: list[Callable[[], Awaitable[None]]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            sqlite = SqliteStore(SqliteStore.Config(), _context(Path(tmp)))
            postgres = _pg_store(schemas[0])
            for store in (sqlite, postgres):
                await store.open()
                opened.append(store)
                await store_setup(store)
            paths: dict[str, tuple[Commit, Listing]] = {
                "store.sqlite": (lambda c, n, s: store_commit(sqlite, c, n, s),
                                 lambda: store_list(sqlite)),
                "store.postgres (asyncpg)": (lambda c, n, s: store_commit(postgres, c, n, s),
                                             lambda: store_list(postgres)),
            }
            for schema in schemas[1:]:  # empty Pinchpoint schemas, made by the store itself
                store = _pg_store(schema)
                await store.open()
                await store_setup(store)
                await store.close()
            con = await asyncpg.connect(host=HOST, port=PORT, user=NAME, database=NAME,
                                        password=PASSWORD,
                                        server_settings={"search_path": schemas[1]})
            closers.append(con.close)
            raw = AsyncpgRaw(con, _begin(schemas[1]))
            paths["asyncpg, same SQL"] = (raw.commit, raw.list)
            try:
                import psycopg
                from psycopg.rows import dict_row
            except ImportError:
                pass
            else:
                pcon = await psycopg.AsyncConnection.connect(
                    host=HOST, port=PORT, user=NAME, dbname=NAME, password=PASSWORD,
                    autocommit=True, row_factory=dict_row,
                    options=f"-c search_path={schemas[2]}")
                closers.append(pcon.close)
                praw = PsycopgRaw(pcon, _begin(schemas[2]))
                paths["psycopg 3, same SQL"] = (praw.commit, praw.list)
            return await measure(paths, commits, lists, budget_s)
    finally:
        for close in closers:
            await close()
        for store in opened:
            await store.close()
        for schema in schemas:
            await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await admin.close()


def markdown(results: dict[str, Any], env: dict[str, Any]) -> str:
    busy = env["loadavg_1m"] > env["nproc"]
    lines = [f"Machine: {env['nproc']} cores, {env['cpu']}, Python {env['python']}; "
             f"{env['date']}; load average (1 min) {env['loadavg_before']} before, "
             f"{env['loadavg_1m']} after"
             + (" — MACHINE BUSY: other processes compete for the cores" if busy else ""),
             f"PostgreSQL {env.get('server', '?')} on 127.0.0.1 (synchronous_commit on), "
             "SQLite WAL synchronous=FULL, both on the same disk; the paths take turns "
             f"operation by operation; {env['seconds']} s in all.",
             f"Candidate commit: 2 sealed crops (5 kB, 14 kB), the alert and its audit row, "
             f"durably committed, one at a time. Officer list: {results['confirmed']} "
             f"confirmed of {results['alerts']} alerts, as records.", "",
             "| path | commit p50 ms | commit p95 ms | commits/s | list p50 ms | list p95 ms |"
             " × SQLite list p50 |",
             "|---|---|---|---|---|---|---|"]
    paths = results["paths"]
    base = paths["store.sqlite"]["list"]["p50"]
    if "psycopg 3, same SQL" not in paths:
        lines.append("| psycopg 3, same SQL | not installed | | | | | |")
    for name, r in paths.items():
        c, li = r["commit"], r["list"]
        lines.append(f"| {name} | {c['p50']:.2f} | {c['p95']:.2f} | {c['per_s']:.0f} | "
                     f"{li['p50']:.2f} | {li['p95']:.2f} | {li['p50'] / base:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "store.json")
    parser.add_argument("--commits", type=int, default=300)
    parser.add_argument("--lists", type=int, default=100)
    parser.add_argument("--budget", type=float, default=50.0,
                        help="seconds of measuring at most (filling stops at half of it)")
    args = parser.parse_args()

    async def go() -> tuple[dict[str, Any], str]:
        con = await asyncpg.connect(host=HOST, port=PORT, user=NAME, database=NAME,
                                    password=PASSWORD, timeout=10)
        server = await con.fetchval("SHOW server_version")
        await con.close()
        return await run(args.commits, args.lists, args.budget), str(server)

    started, before = time.monotonic(), round(os.getloadavg()[0], 2)
    results, server = asyncio.run(go())
    env = machine() | {"server": server, "loadavg_before": before,
                       "loadavg_1m": round(os.getloadavg()[0], 2),
                       "seconds": round(time.monotonic() - started, 1)}
    write_report(args.out, markdown(results, env), env, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
