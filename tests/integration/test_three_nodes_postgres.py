"""Issue 13, done-when 2 and 3: two edges and a console, three ``pinchpoint run`` processes,
over a real nats-server (its own, in the test's temp directory), the console's store on the
real PostgreSQL (a schema of the test's own) and officers' delivery over a real Mosquitto.

- Each edge plays a looped clip with a file camera (the listed person and a stranger, passing
  again and again: no phase races a clip's end, however loaded the machine) and holds the
  deployment's published list; candidates from both edges reach the operator's queue
  (``GET /api/candidates``).
- kill -9 of the console mid-stream: it is armed to die (SIGKILL) right after committing its
  first candidate, before acknowledging it; the edges go on raising while it is dead (their
  reports' ``published`` counters); once restarted, every candidate raised meanwhile is stored.
- Once each, in the end: every candidate an edge's log says it raised (less any a stop found
  unacknowledged) is in the store's audit log exactly once under its camera (the append-only
  ``alert.candidate`` rows outlive the wipe that ends the run), or, raised in the moment of
  the wipe, refused by the console in a log line, never before the wipe.
- NATS stopped under the running edges: both keep analysing (each raises and queues a
  candidate captured during the outage, their frame counters advance) and when it returns
  every queued candidate is stored once. Meanwhile an operator confirms a candidate through
  the API and the officer's device receives it over MQTT (the outage does not touch it).
- The outage lasts 30 s, as done-when 2 says. Within about 2 s both edges' clients have given
  up their connections (3 reconnects, 0.5 s apart); each later call makes a fresh one that is
  refused, their retry backoff sits at its cap (0.5 s here) and each edge has queued
  candidates; the console's intake is down too. Nothing on any side counts time beyond that
  (the broker's duplicate window is 120 s, the queue bound 1024 candidates): the rest of the
  30 s repeats the same refused rounds, while the candidates queued meanwhile grow late
  (the console's ``[node] late_after_s`` is 2 s here), which the test checks.
- A wipe through the API reaches both edges: both drop their list, seen in what they hold in
  memory (their reports, ``GET /api/health/edges``), in their own log line, and on their disks
  (their data directories hold no file at all, so no template or list).
- R3 across nodes (done-when 3): no needle of any face an edge's engine saw (templates and
  chips, matched or not, reported by the test adapter ``engine.spy``) is in any file of any
  node's data directory, in any node's log (raw, hex or base64), in JetStream's store
  directory or in any value of the PostgreSQL schema (before and after the wipe).

About 55 s on 2 cores (three start-ups and the 30 s outage), longer when the machine is
loaded.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import secrets
import time
from pathlib import Path

import httpx
import pytest

from adapters.link.nats import NatsLink
from kernel.auth.accounts import Accounts
from kernel.auth.passwords import Passwords
from kernel.config import load as load_config
from kernel.domain.governance import open_governance
from kernel.link.messages import EdgeReport
from kernel.testing.camera_contract import make_context
from tests import postgres_server as pg
from tests.adapters.sink.mosquitto_broker import (
    MOSQUITTO,
    SERVER_PASSWORD,
    SERVER_USER,
    Broker,
    Device,
)
from tests.faults.pinchpoint_process import PinchpointProcess
from tests.integration.node_rig import edge_reports, node_sections, poll
from tests.integration.pipeline_rig import free_port, go_live, make_engine, make_walkpast_clip
from tests.integration.spy_engine import read_needles, shim_dir
from tests.nats_server import NatsServer, started_server
from tests.r3_scan import assert_no_face_bytes

EDGES = {"edge-1": "gate-1", "edge-2": "gate-2"}
"""node id → its one file camera."""
PASSES = 3
"""Passes of the two walkers: a clip of ≈9 s, looped (the edges play until they are stopped,
so no phase races the clip's end however slow the machine)."""
OUTAGE_S = 30.0
PASSWORD = "three-nodes-password-1"
NAME = "integration"
"""The deployment's name (``go_live``), which a wipe must repeat."""


def console_toml(tmp: Path, key: Path, server: NatsServer, port: int, schema: str,
                 broker: Broker) -> Path:
    path = tmp / "console.toml"
    path.write_text(
        f'data_dir = "{tmp / "console"}"\n'
        f'[store]\ntype = "postgres"\nhost = "{pg.HOST}"\nport = {pg.PORT}\n'
        f'database = "{pg.NAME}"\nuser = "{pg.NAME}"\npassword_env = "{pg.PASSWORD_ENV}"\n'
        f'schema = "{schema}"\n'
        f'[retention]\nenabled = false\n'
        f'[[services]]\ntype = "http"\nport = {port}\nsecure_cookie = false\n'
        f'[[sinks]]\ntype = "mqtt"\nport = {broker.port}\nusername = "{SERVER_USER}"\n'
        f'password = "{SERVER_PASSWORD}"\nurl_base = "http://127.0.0.1:{port}"\n'
        f'timeout_s = 1.0\n'
        + node_sections("console", "console", key, server.url, "late_after_s = 2.0"))
    return path


def edge_toml(tmp: Path, key: Path, server: NatsServer, models: Path, clip: Path,
              node_id: str) -> Path:
    path = tmp / f"{node_id}.toml"
    path.write_text(
        f'data_dir = "{tmp / node_id}"\n'
        f'[pipeline]\nworkers = 1\nheld_retry_s = 0.1\nheld_retry_max_s = 0.5\n'
        f'[engine]\ntype = "spy"\nmodels_dir = "{models}"\n'
        f'needles = "{tmp / "needles" / node_id}.hex"\n'
        f'[[cameras]]\nid = "{EDGES[node_id]}"\ntype = "file"\npath = "{clip}"\n'
        f'loop = true\nrealtime = true\n'
        + node_sections("edge", node_id, key, server.url,
                        matching_extra="counts_flush_s = 0.5"))
    return path


async def stored(schema: str, deployment_id: str) -> list[tuple[str, str, float]]:
    """(alert id, camera, capture time) of every alert the console's store holds."""
    con = await pg.admin()
    try:
        rows = await con.fetch(f"SELECT id, camera_id, captured_at FROM {schema}.alerts"
                               " WHERE deployment_id=$1", deployment_id)
    finally:
        await con.close()
    return [(r["id"], r["camera_id"], r["captured_at"].timestamp()) for r in rows]


async def counted(schema: str, deployment_id: str) -> dict[str, int]:
    """camera → faces seen, as the console's store holds the edges' counts."""
    con = await pg.admin()
    try:
        rows = await con.fetch(f"SELECT camera_id, sum(seen) AS seen FROM {schema}.face_counts"
                               " WHERE deployment_id=$1 GROUP BY camera_id", deployment_id)
    finally:
        await con.close()
    return {r["camera_id"]: int(r["seen"]) for r in rows}


async def audited_candidates(schema: str, deployment_id: str) -> list[tuple[str, str]]:
    """(alert id, camera) of each ``alert.candidate`` audit row of the deployment: one per
    candidate stored, kept by the append-only log after a wipe."""
    con = await pg.admin()
    try:
        rows = await con.fetch(f"SELECT subjects, details FROM {schema}.audit"
                               " WHERE action='alert.candidate' ORDER BY seq")
    finally:
        await con.close()
    out = []
    for r in rows:
        subjects, details = json.loads(r["subjects"]), json.loads(r["details"])
        if subjects.get("deployment") == deployment_id:
            out.append((subjects["alert"], details["camera"]))
    return out


def published_by(log: str) -> int:
    """What an edge's log says it handed the broker: each candidate it raised, less those a
    stop found unacknowledged."""
    unsent = sum(int(m) for m in re.findall(r"stopping with (\d+) candidate", log))
    return log.count("candidate raised on camera") - unsent


def log_forms(needles: list[bytes]) -> list[bytes]:
    """How a face's bytes could show in a text log: as they are, hex, base64."""
    out = []
    for n in needles:
        out += [n, n.hex().encode(), base64.b64encode(n), base64.urlsafe_b64encode(n)]
    return out


async def login(base: str, name: str) -> httpx.AsyncClient:
    """An API client logged in as ``name``, sending its CSRF token."""
    http = httpx.AsyncClient(base_url=base, timeout=10)
    r = await http.post("/api/auth/login", json={"name": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    http.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return http


async def test_issue13_three_processes_on_postgres_kill9_outage_wipe_and_r3(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not MOSQUITTO.exists():
        pytest.skip("mosquitto not installed (apt-get install -y mosquitto)")
    monkeypatch.setenv(pg.PASSWORD_ENV, pg.ENVIRON[pg.PASSWORD_ENV])
    engine = make_engine(models_dir)
    try:
        clip = make_walkpast_clip(tmp_path / "walkpast.mp4", engine, passes=PASSES)
    except BaseException:
        await engine.close()
        raise
    shim = shim_dir(tmp_path)
    (tmp_path / "needles").mkdir()
    key = tmp_path / "link.key"
    key.write_text(secrets.token_hex(32) + "\n")
    (tmp_path / "broker").mkdir()
    broker = Broker(tmp_path / "broker", "+")
    await broker.start()
    clients: list[httpx.AsyncClient] = []
    tasks: list[asyncio.Task[None]] = []
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(broker.stop)
        schema = await stack.enter_async_context(pg.fresh_schema())
        server = await stack.enter_async_context(started_server(tmp_path / "nats"))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        console_cfg = console_toml(tmp_path, key, server, port, schema, broker)
        gov = await open_governance(load_config(console_cfg, environ={}))
        try:
            dep = await go_live(gov, engine)
            accounts = Accounts(gov.store, gov.ctx.clock, Passwords(1, 8, 1))
            for name, role in (("op", "operator"), ("cmd", "commander")):
                await accounts.add_user(name, role, PASSWORD, "test")
        finally:
            await gov.close()
            await engine.close()

        env = dict(pg.ENVIRON)
        console = PinchpointProcess(console_cfg, base, tmp_path / "console.log", env, (shim,))
        edges = {node: PinchpointProcess(edge_toml(tmp_path, key, server, models_dir, clip,
                                                   node), base, tmp_path / f"{node}.log",
                                         env, (shim,))
                 for node in EDGES}
        nodes = (console, *edges.values())
        watcher = NatsLink(NatsLink.Config(url=server.url, connect_timeout_s=0.5),
                           make_context("test"))
        device = Device(broker.port, f"pinchpoint/{dep}/alerts")
        tasks.append(asyncio.create_task(device.run()))

        async def stop_all() -> None:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for node in nodes:
                await node.stop()
            await watcher.close()
            for client in clients:
                await client.aclose()

        stack.push_async_callback(stop_all)

        async def reports() -> dict[str, EdgeReport]:
            return await edge_reports(watcher)

        async def published() -> int:
            return sum(r.published for r in (await reports()).values())

        # -- the console publishes the live list; both edges hold it ---------------------
        await console.start("candidate.committed")
        await poll("the console published the live list",
                   lambda: _has(watcher, dep), 30, console)
        version = (await watcher.list_versions())[dep]
        for edge in edges.values():
            await edge.start(None, serves_http=False)

        async def both_hold() -> bool:
            held = {n: [(h.deployment_id, h.version) for h in r.lists]
                    for n, r in (await reports()).items()}
            return held == {n: [(dep, version)] for n in EDGES}

        await poll("both edges report holding the published version", both_hold, 60, *nodes)

        # -- kill -9 of the console mid-stream, and its restart --------------------------
        await console.killed(60)  # right after its first commit, before acknowledging it
        assert len(await stored(schema, dep)) == 1

        async def raised_meanwhile() -> bool:
            return await published() >= 2

        await poll("the edges raised more candidates while the console was dead",
                   raised_meanwhile, 30, *nodes)
        raised_while_dead = await published() - 1
        await console.start(None)
        assert console.running, console.tail()
        op, cmd = await login(base, "op"), await login(base, "cmd")
        clients += [op, cmd]

        async def caught_up() -> bool:
            # what the edges published by now is stored (the unacknowledged one once)
            before = await published()
            ids = [a[0] for a in await stored(schema, dep)]
            assert len(ids) == len(set(ids)), "a candidate stored twice"
            return len(ids) >= before >= raised_while_dead + 1

        await poll("every candidate raised while the console was dead is stored", caught_up,
                   30, *nodes)

        async def from_both_edges() -> bool:
            r = await op.get("/api/candidates", params={"deployment_id": dep})
            assert r.status_code == 200, r.text
            return {c["camera_id"] for c in r.json()} == set(EDGES.values())

        await poll("candidates from both edges in the operator's queue", from_both_edges,
                   30, *nodes)
        queue = (await op.get("/api/candidates", params={"deployment_id": dep})).json()

        # -- NATS stopped under the running edges; an officer alerted meanwhile ----------
        processed = {n: r.cameras[0].processed for n, r in (await reports()).items()}
        offsets = {n: e.log.stat().st_size for n, e in edges.items()}
        server.stop()
        down_at, down_mono = time.time(), time.monotonic()
        confirmed = queue[0]["id"]
        r = await op.post(f"/api/candidates/{confirmed}/confirm")
        assert r.status_code == 200, r.text

        async def officer_alerted() -> bool:
            return device.alert_ids() == [confirmed]

        await poll("the officer's device received the confirmed alert over MQTT",
                   officer_alerted, 20, console)

        async def both_queued_in_the_outage() -> bool:
            # each edge's publisher says so once it has a candidate it cannot send
            said = all("candidates are queued in order" in e.log.read_text()[offsets[n]:]
                       for n, e in edges.items())
            return said and time.monotonic() - down_mono >= OUTAGE_S

        await poll("both edges analysed on and queued candidates with the broker away",
                   both_queued_in_the_outage, 60, *nodes)
        up_at = time.time()
        await server.start()

        async def all_sent_and_stored() -> bool:
            got = await reports()
            return (set(got) == set(EDGES)
                    and all(r.queued == 0 and r.at > up_at for r in got.values())
                    and len(await stored(schema, dep)) >= sum(r.published
                                                              for r in got.values()))

        await poll("every candidate queued in the outage is sent and stored",
                   all_sent_and_stored, 60, *nodes)
        alerts = await stored(schema, dep)
        for node, report in (await reports()).items():
            assert report.refused == 0, f"{node} refused candidates"
            assert report.cameras[0].processed > processed[node], f"{node} stopped analysing"
            # analysed during the outage: a candidate of its camera captured while NATS was away
            assert any(a[1] == EDGES[node] and down_at < a[2] < up_at for a in alerts), node
        assert set(await counted(schema, dep)) == set(EDGES.values())  # faces counted at edges
        payload = json.dumps(device.payloads)
        assert "obama" not in payload.lower()  # R6: no name in a push payload
        r = await op.get("/api/health/edges")
        assert r.status_code == 200, r.text
        assert sum(e["late"] for e in r.json()) >= 1  # queued through the outage: late
        assert sum(e["stale"] for e in r.json()) == 0

        # R3 in the store while it holds the candidates
        needles = [n for node in EDGES for n in read_needles(tmp_path / "needles" / f"{node}.hex")]
        assert len(needles) > 2 * len(alerts), "the spies saw the strangers too"
        dumped = pg.dump_bytes(schema)
        assert dumped and not any(n in dumped for n in needles), "face bytes in PostgreSQL"

        # -- a wipe through the API reaches both edges -----------------------------------
        wiped_at = console.log.stat().st_size
        r = await cmd.post(f"/api/deployments/{dep}/wipe",
                           json={"reason": "integration test", "confirm_name": NAME})
        assert r.status_code == 200, r.text

        async def both_dropped() -> bool:
            got = await reports()
            return (dep not in await watcher.list_versions() and set(got) == set(EDGES)
                    and all(r.lists == () for r in got.values()))

        await poll("the wipe reached both edges, which dropped their lists", both_dropped,
                   30, *nodes)

        async def console_shows_none() -> bool:
            r = await op.get("/api/health/edges")
            assert r.status_code == 200, r.text
            return (sorted(e["node_id"] for e in r.json()) == sorted(EDGES)
                    and all(e["lists"] == [] for e in r.json()))

        await poll("the console shows that neither edge holds a list", console_shows_none,
                   20, *nodes)
        for edge in edges.values():
            assert f"deployment {dep}: list dropped" in edge.log.read_text(), edge.tail()
        dumped = pg.dump_bytes(schema)
        assert not any(n in dumped for n in needles), "face bytes in PostgreSQL after the wipe"
        await stop_all()
        tasks.clear()
        clients.clear()

        # -- every candidate the edges raised reached the store once ---------------------
        # Their logs are final now: each raise is logged, and a stop with candidates the
        # broker has not acknowledged says how many. The wipe deleted the alerts; their
        # audit rows (append-only, ids only) remain, one per candidate stored.
        audited = await audited_candidates(schema, dep)
        ids = [alert for alert, _ in audited]
        assert len(ids) == len(set(ids)), "a candidate stored twice"
        text = console.log.read_text()
        assert "not stored" not in text[:wiped_at] and "dead-lettered" not in text
        for node, edge in edges.items():
            raised = published_by(edge.log.read_text())
            # raised after the list was withdrawn, in flight at the wipe: refused, not lost
            refused = text[wiped_at:].count(f"from edge {node} not stored")
            stored_here = sum(1 for _, camera in audited if camera == EDGES[node])
            assert stored_here + refused == raised, (node, stored_here, refused, raised)
            assert stored_here >= 2, node  # before the outage and during it, at least

    # -- R3 across nodes: disks, logs, the broker's store, the database ---------------------
    for node in EDGES:  # an edge writes nothing: no list, no template, no queue
        assert [p for p in (tmp_path / node).rglob("*") if p.is_file()] == []
    assert assert_no_face_bytes(tmp_path / "console", needles) > 0
    assert assert_no_face_bytes(server.store, needles) > 0
    logs = [tmp_path / f"{n}.log" for n in ("console", *EDGES)] + [tmp_path / "nats" / "nats.log"]
    in_logs = log_forms(needles)
    for path in logs:
        text = path.read_bytes()
        assert text and not any(n in text for n in in_logs), f"face bytes in {path}"


async def _has(link: NatsLink, deployment_id: str) -> bool:
    return deployment_id in await link.list_versions()
