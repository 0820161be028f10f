"""Issue 13, done-when 2 (more of it): two edges and one console over one real nats-server,
each node a real :class:`kernel.runtime.Runtime` of its role in this process (so the test can
look inside them: their queues, their engines' output for the R3 scan), with the console's
real SQLite store and its real HTTP API.

- Two edges of the same deployment (node ids ``edge-1`` and ``edge-2``, one file camera each)
  play the same walk-past clip (the listed person and a stranger): every candidate either
  published reaches the console's store once (the edge's key is the alert id), attributed to
  its edge's camera, and ``GET /api/health/edges`` lists both edges with the list they hold.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from kernel.auth.accounts import Accounts
from kernel.auth.passwords import Passwords
from kernel.config import load as load_config
from kernel.runtime import Runtime
from kernel.supervisor import TaskState
from mobile_api.security import COOKIE
from tests.integration.pipeline_rig import free_port, go_live, make_engine, make_walkpast_clip
from tests.nats_server import NatsServer, register_link_adapter, started_server
from tests.waiting import until

EDGES = ("edge-1", "edge-2")

NODE = """
[node]
role = "{role}"
id = "{id}"
link_key_file = "{key}"
report_s = 0.3
[link]
type = "nats"
url = "{url}"
ack_wait_s = 2.0
publish_timeout_s = 1.0
connect_timeout_s = 0.5
[matching]
refresh_s = 0.2
[matching.tracker]
repeat_s = 1.0
"""


def console_config(tmp: Path, key: Path, server: NatsServer, port: int) -> Path:
    path = tmp / "console.toml"
    path.write_text(f'data_dir = "{tmp / "console"}"\n[store]\ntype = "sqlite"\n'
                    f'[retention]\nenabled = false\n'
                    f'[[services]]\ntype = "http"\nport = {port}\n'
                    + NODE.format(role="console", id="console", key=key, url=server.url))
    return path


def edge_config(tmp: Path, key: Path, server: NatsServer, models: Path, clip: Path,
                node_id: str, camera_id: str) -> Path:
    path = tmp / f"{node_id}.toml"
    path.write_text(f'data_dir = "{tmp / node_id}"\n'
                    f'[pipeline]\nworkers = 1\nheld_retry_s = 0.1\nheld_retry_max_s = 0.5\n'
                    f'[engine]\ntype = "onnx"\nmodels_dir = "{models}"\n'
                    f'[[cameras]]\nid = "{camera_id}"\ntype = "file"\npath = "{clip}"\n'
                    f'loop = false\nrealtime = true\n'
                    + NODE.format(role="edge", id=node_id, key=key, url=server.url))
    return path


async def until_async(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    """:func:`tests.waiting.until` for a condition that takes a request."""
    try:
        async with asyncio.timeout(timeout):
            while not await check():
                await asyncio.sleep(0.2)
    except TimeoutError:
        raise AssertionError(f"not reached within {timeout} s: {what}") from None


def camera_done(rt: Runtime) -> bool:
    return all(s.state == TaskState.FINISHED for name, s in rt.supervisor.status.items()
               if name.startswith("camera:")) and rt.settled()


async def test_two_edges_of_one_deployment_each_candidate_stored_once_both_shown(
    models_dir: Path, tmp_path: Path,
) -> None:
    register_link_adapter()
    engine = make_engine(models_dir)
    try:
        clip = make_walkpast_clip(tmp_path / "walkpast.mp4", engine)  # listed + stranger
        key = tmp_path / "link.key"
        key.write_text(secrets.token_hex(32) + "\n")
        async with started_server(tmp_path / "nats") as server:
            port = free_port()
            console = Runtime(load_config(console_config(tmp_path, key, server, port),
                                          environ={}))
            edges: list[Runtime] = []
            await console.start()
            http: httpx.AsyncClient | None = None
            try:
                gov, publisher, ingest = console.governance, console.publisher, console.ingest
                assert gov is not None and publisher is not None and ingest is not None
                dep = await go_live(gov, engine)
                accounts = Accounts(gov.store, gov.ctx.clock, Passwords(1, 8, 1))
                await accounts.add_user("tech", "technical", "two-edges-reader-pass", "test")
                session = await accounts.create_session("tech")
                await until(lambda: dep in publisher.published, 20,
                            "the console published the live list")
                version = publisher.published[dep][1]
                for i, node_id in enumerate(EDGES):
                    cfg = edge_config(tmp_path, key, server, models_dir, clip, node_id,
                                      f"gate-{i + 1}")
                    edges.append(Runtime(load_config(cfg, environ={})))
                for edge in edges:
                    await edge.start()

                def all_stored() -> bool:
                    published = sum(e.remote.published for e in edges if e.remote)
                    return (all(camera_done(e) and e.remote is not None
                                and e.remote.queued == 0 for e in edges)
                            and ingest.stored == published)

                await until(all_stored, 40, "both clips analysed and every candidate stored")
                alerts = await gov.alerts.list_for(dep)
                ids = [a.id for a in alerts]
                assert len(ids) == len(set(ids)) == ingest.stored
                per_camera = Counter(a.camera_id for a in alerts)
                for i, edge in enumerate(edges):
                    assert edge.remote is not None and edge.remote.refused == 0
                    assert edge.remote.published >= 1, f"{EDGES[i]} raised no candidate"
                    assert per_camera[f"gate-{i + 1}"] == edge.remote.published
                assert ingest.dead == 0 and ingest.refused == 0

                http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5,
                                         headers={"Cookie": f"{COOKIE}={session.token}"})

                async def both_shown() -> bool:
                    r = await http.get("/api/health/edges")  # type: ignore[union-attr]
                    assert r.status_code == 200, r.text
                    shown = {e["node_id"]: ([(x["deployment_id"], x["held"], x["current"])
                                             for x in e["lists"]],
                                            [c["camera_id"] for c in e["cameras"]],
                                            e["published"], e["queued"])
                             for e in r.json()}
                    return shown == {
                        node_id: ([(dep, version, True)], [f"gate-{i + 1}"],
                                  edges[i].remote.published, 0)  # type: ignore[union-attr]
                        for i, node_id in enumerate(EDGES)}

                await until_async(both_shown, 10, "the console's API lists both edges")
            finally:
                for rt in (*edges, console):
                    await rt.stop()
                if http is not None:
                    await http.aclose()
    finally:
        await engine.close()
