"""Issue 13, a first slice of done-when 2: an edge and a console, two real processes, over a
real nats-server (its own, in the test's temp directory) with the console's SQLite store.

- The console publishes the live deployment's sealed list; the edge holds it (its report
  says which version) and plays a clip in which the listed person walks past three times.
- The console is armed to die (SIGKILL) right after committing the first candidate, before
  acknowledging it; the edge raises the next ones while it is dead. Restarted, the console
  gets the unacknowledged one again and every one raised meanwhile: the store ends with
  exactly as many candidates as the edge published, each once (persist before ack, the
  edge's key as the alert id).
- A wipe on the console withdraws the list; the edge drops it and reports holding nothing.
- The console's API (``GET /api/health/edges``) shows the version the edge holds, then none.
- R3 on the edge: it wrote nothing at all to its data directory.
"""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

import httpx
import msgspec

from adapters.link.nats import NatsLink
from kernel.auth.accounts import Accounts
from kernel.auth.passwords import Passwords
from kernel.config import load as load_config
from kernel.domain.governance import open_governance
from kernel.link.messages import EdgeReport
from kernel.testing.camera_contract import make_context
from mobile_api.security import COOKIE
from tests.faults.pinchpoint_process import PinchpointProcess
from tests.integration.node_rig import node_sections, poll
from tests.integration.pipeline_rig import free_port, go_live, make_engine, make_walkpast_clip
from tests.nats_server import link_entry_point_dir, started_server


def write_configs(tmp: Path, models: Path, clip: Path, url: str,
                  port: int) -> tuple[Path, Path]:
    key = tmp / "link.key"
    key.write_text(secrets.token_hex(32) + "\n")
    console = tmp / "console.toml"
    console.write_text(f'data_dir = "{tmp / "console"}"\n[store]\ntype = "sqlite"\n'
                       f'[retention]\nenabled = false\n'
                       f'[[services]]\ntype = "http"\nport = {port}\n'
                       + node_sections("console", "console", key, url))
    edge = tmp / "edge.toml"
    edge.write_text(f'data_dir = "{tmp / "edge"}"\n'
                    f'[pipeline]\nworkers = 2\n'
                    f'[engine]\ntype = "onnx"\nmodels_dir = "{models}"\n'
                    f'[[cameras]]\nid = "gate-1"\ntype = "file"\npath = "{clip}"\n'
                    f'loop = false\nrealtime = true\n'
                    + node_sections("edge", "edge-1", key, url))
    return console, edge


def alerts(db: Path) -> list[str]:
    with sqlite3.connect(db) as con:
        return [str(r[0]) for r in con.execute("SELECT id FROM alerts")]


async def test_edge_candidates_reach_the_console_once_through_a_kill9_and_a_wipe(
    models_dir: Path, tmp_path: Path,
) -> None:
    engine = make_engine(models_dir)
    clip = make_walkpast_clip(tmp_path / "walkpast.mp4", engine,
                              ("obama2.jpg", "obama2.jpg", "obama2.jpg"))
    shim = link_entry_point_dir(tmp_path)
    async with started_server(tmp_path / "nats") as server:
        port = free_port()
        console_cfg, edge_cfg = write_configs(tmp_path, models_dir, clip, server.url, port)
        gov = await open_governance(load_config(console_cfg, environ={}))
        try:
            dep = await go_live(gov, engine)
            # the technical lead's session, to read what the console shows of the edges
            accounts = Accounts(gov.store, gov.ctx.clock, Passwords(1, 8, 1))
            await accounts.add_user("tech", "technical", "kill-nine-console-reader", "test")
            session = await accounts.create_session("tech")
        finally:
            await gov.close()
            await engine.close()
        db = tmp_path / "console" / "pinchpoint.db"
        watcher = NatsLink(NatsLink.Config(url=server.url), make_context("test"))
        shims = () if shim is None else (shim,)
        base = f"http://127.0.0.1:{port}"
        console = PinchpointProcess(console_cfg, base, tmp_path / "console.log", path=shims)
        edge = PinchpointProcess(edge_cfg, base, tmp_path / "edge.log", path=shims)

        http = httpx.AsyncClient(base_url=base, timeout=5,
                                 headers={"Cookie": f"{COOKIE}={session.token}"})

        async def shown() -> list[tuple[str, str, int, int, bool]] | None:
            """What the console's API shows of the edges' lists (None: not serving yet)."""
            try:
                r = await http.get("/api/health/edges")
            except httpx.TransportError:
                return None
            assert r.status_code == 200, r.text
            return [(e["node_id"], x["deployment_id"], x["held"], x["published"],
                     x["current"]) for e in r.json() for x in e["lists"]]

        async def report() -> EdgeReport | None:
            data = (await watcher.reports()).get("edge-1")
            return None if data is None else msgspec.msgpack.decode(data, type=EdgeReport)

        try:
            await console.start("candidate.committed", serves_http=False)

            async def published() -> bool:
                return dep in await watcher.list_versions()

            await poll("the console published the live list", published, 30, console)
            version = (await watcher.list_versions())[dep]
            await edge.start(None, serves_http=False)

            async def holds_list() -> bool:
                r = await report()
                return r is not None and [(h.deployment_id, h.version) for h in r.lists] == [
                    (dep, version)]

            await poll("the edge reports holding the published version", holds_list, 40,
                       edge)

            async def console_shows_it() -> bool:
                return await shown() == [("edge-1", dep, version, version, True)]

            await poll("the console shows the version the edge holds", console_shows_it, 20,
                       console)

            await console.killed(40)  # right after its first commit, before the ack
            assert len(alerts(db)) == 1, "the first candidate was committed before the kill"

            async def raised_meanwhile() -> bool:
                r = await report()
                return r is not None and r.published >= 2

            await poll("the edge raised another candidate while the console was dead",
                       raised_meanwhile, 40, edge)
            await console.start(None, serves_http=False)

            done: list[EdgeReport] = []

            async def clip_done_and_all_stored() -> bool:
                r = await report()
                if (r is not None and r.cameras[0].state == "finished" and r.queued == 0
                        and len(alerts(db)) == r.published):
                    done.append(r)  # judged on this one: a second read could miss the key
                    return True
                return False

            await poll("every candidate the edge published is stored", clip_done_and_all_stored,
                       40, console, edge)
            final = done[-1]
            assert final.published >= 2 and final.refused == 0
            stored = alerts(db)
            assert len(stored) == len(set(stored)) == final.published
            log = (tmp_path / "console.log").read_text()
            assert "dead-lettered" not in log

            gov = await open_governance(load_config(console_cfg, environ={}))
            try:
                await gov.retention.wipe(dep, "commander", reason="integration test")
            finally:
                await gov.close()

            async def dropped() -> bool:
                r = await report()
                return (dep not in await watcher.list_versions() and r is not None
                        and r.lists == ())

            await poll("the wipe reached the edge, which dropped its list", dropped, 20,
                       console, edge)

            async def console_shows_none() -> bool:
                return await shown() == []

            await poll("the console shows the edge holds no list", console_shows_none, 20,
                       console)
            assert "list dropped" in (tmp_path / "edge.log").read_text()
        finally:
            for node in (edge, console):
                await node.stop()
            await watcher.close()
            await http.aclose()
    # R3 on the edge: nothing of any face, matched or not, was written there (nor anything
    # else: the edge has no store).
    written = [p for p in (tmp_path / "edge").rglob("*") if p.is_file()]
    assert written == []
