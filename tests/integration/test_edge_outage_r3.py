"""Issue 13, done-when 2 and 3 (more of them): nats-server stopped under a running edge, and
R3 across the link, with an edge and a console each a real :class:`kernel.runtime.Runtime`
of its role in this process over a real nats-server and the console's real SQLite store.

- The edge holds the live list; the broker is stopped at once and stays away until the
  edge's clip (the listed person and a stranger, three passes) has been analysed to its end,
  the edge queueing the matches it makes meanwhile. Back, every queued candidate is stored
  once, those that waited are marked late (API and ``/api/health/edges``), and the faces
  counted at the edge reach the deployment's report.
- Why an outage of a clip's length (≈9 s) and not 30 s: by then the edge's client has given
  up its connection (3 reconnects, 0.5 s apart), every later call makes a fresh one that is
  refused, and the edge's retry backoff has sat at its cap (0.5 s here) for many rounds; the
  console's intake is down too. Nothing on either side counts time beyond that: the broker's
  duplicate window (120 s) and the edge's queue bound are not reached either way, so a
  longer outage only repeats the same refused rounds.
- R3: the engine's templates and chips of every face it saw (spied on the edge) are in no
  raw message the broker carried (a tap on every subject), in no file of JetStream's store
  directory, nowhere under the console's data directory; the edge wrote no file at all.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import nats
import numpy as np

from kernel.auth.accounts import Accounts
from kernel.auth.passwords import Passwords
from kernel.config import AdapterSection
from kernel.config import load as load_config
from kernel.protocols.engine import FaceEngine
from kernel.runtime import Runtime
from mobile_api.security import COOKIE
from tests.integration.pipeline_rig import free_port, go_live, make_engine, make_walkpast_clip
from tests.integration.test_two_edges import (
    camera_done,
    console_config,
    edge_config,
    until_async,
)
from tests.nats_server import register_link_adapter, started_server
from tests.r3_scan import assert_no_face_bytes, face_needles
from tests.waiting import until


class Spy:
    """The templates and complete chips the edge's engine made (for the R3 scan)."""

    def __init__(self) -> None:
        self.templates: list[np.ndarray[Any, Any]] = []
        self.chips: list[np.ndarray[Any, Any]] = []

    def wrap(self, engine: Any) -> FaceEngine:
        embed = engine.embed_faces

        async def spy_embed(faces: Sequence[tuple[np.ndarray[Any, Any], Any]]) -> Any:
            out = await embed(faces)
            self.templates.extend(np.array(t) for t in out)
            self.chips.extend(np.array(engine.complete_chip_sync(image, d))
                              for image, d in faces)
            return out

        engine.embed_faces = spy_embed
        return engine  # type: ignore[no-any-return]


async def test_an_outage_under_a_running_edge_loses_nothing_and_no_face_crosses(
    models_dir: Path, tmp_path: Path,
) -> None:
    register_link_adapter()
    engine = make_engine(models_dir)
    try:
        clip = make_walkpast_clip(tmp_path / "walkpast.mp4", engine, passes=3)
        key = tmp_path / "link.key"
        key.write_text(secrets.token_hex(32) + "\n")
        async with started_server(tmp_path / "nats") as server:
            port = free_port()
            console_toml = console_config(tmp_path, key, server, port)
            console_toml.write_text(console_toml.read_text().replace(
                "report_s = 0.3\n", "report_s = 0.3\nlate_after_s = 2.0\n"))
            edge_toml = edge_config(tmp_path, key, server, models_dir, clip, "edge-1",
                                    "gate-1")
            edge_toml.write_text(edge_toml.read_text().replace(
                "refresh_s = 0.2\n", "refresh_s = 0.2\ncounts_flush_s = 0.5\n"))
            console = Runtime(load_config(console_toml, environ={}))
            edge = Runtime(load_config(edge_toml, environ={}))
            spy = Spy()
            build = edge.build_engine

            def spied(section: AdapterSection) -> FaceEngine:
                return spy.wrap(build(section))

            edge.build_engine = spied  # type: ignore[method-assign]
            tap = await nats.connect(server.url, max_reconnect_attempts=-1,
                                     reconnect_time_wait=0.2)
            carried: list[bytes] = []

            async def record(msg: nats.aio.msg.Msg) -> None:
                carried.append(msg.data)

            await tap.subscribe(">", cb=record)
            await tap.flush()
            http: httpx.AsyncClient | None = None
            await console.start()
            try:
                gov, publisher, ingest = console.governance, console.publisher, console.ingest
                assert gov is not None and publisher is not None and ingest is not None
                dep = await go_live(gov, engine)
                accounts = Accounts(gov.store, gov.ctx.clock, Passwords(1, 8, 1))
                await accounts.add_user("op", "operator", "outage-operator-pass", "test")
                session = await accounts.create_session("op")
                await until(lambda: dep in publisher.published, 20, "the list published")
                await edge.start()  # its lists are fetched before its first frame
                lists, remote = edge.edge_lists, edge.remote
                assert lists is not None and remote is not None and edge.pipeline
                assert dep in lists.held

                server.stop()
                down_at = time.monotonic()
                await until(lambda: camera_done(edge) and remote.queued >= 2, 40,
                            "the edge analysed its whole clip with the broker away, "
                            "queueing its matches")
                outage = time.monotonic() - down_at
                assert remote.published == 0 and remote.refused == 0
                assert edge.pipeline.stats.faces > 0
                queued = remote.queued
                await server.start()

                def all_in() -> bool:
                    counts = edge.edge_counts
                    return (remote.queued == 0 and ingest.stored == remote.published
                            and counts is not None and counts.queued == 0
                            and edge.pipeline is not None and not edge.pipeline.counts._counts)

                await until(all_in, 30, "every queued candidate and count delivered")
                assert remote.published == queued
                alerts = await gov.alerts.list_for(dep)
                assert len({a.id for a in alerts}) == len(alerts) == queued  # none lost, none twice
                await until(lambda: console.counts_ingest is not None
                            and console.counts_ingest.messages > 0, 10, "counts stored")

                http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5,
                                         headers={"Cookie": f"{COOKIE}={session.token}"})
                r = await http.get("/api/candidates", params={"deployment_id": dep})
                assert r.status_code == 200, r.text
                late = [c["id"] for c in r.json() if c["late"]]
                assert len(r.json()) == queued and late, r.json()  # queued a while: late

                async def edge_shows_late() -> bool:
                    assert http is not None
                    r = await http.get("/api/health/edges")
                    assert r.status_code == 200, r.text
                    return [(e["node_id"], e["late"]) for e in r.json()] == [
                        ("edge-1", len(late))]

                await until_async(edge_shows_late, 10, "the health view counts them late")
                stats = await gov.reports.stats(dep)
                assert stats.faces_seen >= 2 and {c.camera_id for c in stats.cameras} == {
                    "gate-1"}  # the stranger counted at the edge, in the console's report
            finally:
                for rt in (edge, console):
                    await rt.stop()
                await tap.close()
                if http is not None:
                    await http.aclose()
            assert outage > 5.0, f"an outage of {outage:.1f} s proves little"
            # R3 across nodes: nothing of any face the engine saw is on the link or its disk
            needles = face_needles(spy.templates, spy.chips)
            assert needles and spy.templates
            on_the_wire = b"".join(carried)
            assert len(carried) > 10
            for needle in needles:
                assert needle not in on_the_wire, "face-derived bytes crossed the broker"
            assert assert_no_face_bytes(server.store, needles) > 0  # JetStream's own files
            assert assert_no_face_bytes(tmp_path / "console", needles) > 0
            assert [p for p in (tmp_path / "edge-1").rglob("*") if p.is_file()] == []
    finally:
        await engine.close()
