"""Issue 13: an edge killed (SIGKILL) while the console's broker is away loses nothing, with
its outbox (``[link] outbox_url``) on a nats-server of its own.

The edge is a real ``pinchpoint run --role edge`` process (``engine.spy``: the real engine,
telling the test what it made of every face), the console a :class:`kernel.runtime.Runtime`
on its SQLite file, each broker a real nats-server of the test's own. The console's broker
is stopped once the edge holds the list; the edge raises its matches into its outbox and is
killed (frozen first, so that the test knows every match it raised was on its disk); it
starts again (the broker still away), then the broker returns: every candidate either run
raised (its log says how many) is stored, once. R3: none of the faces' bytes is in the
outbox's store.
"""

from __future__ import annotations

import os
import secrets
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

import nats
from nats.js.errors import NotFoundError

from adapters.link.nats import NatsLink
from kernel.config import load as load_config
from kernel.runtime import Runtime
from kernel.testing.camera_contract import make_context
from tests.faults.pinchpoint_process import PinchpointProcess
from tests.integration.node_rig import edge_reports, poll
from tests.integration.pipeline_rig import free_port, go_live, make_engine, make_walkpast_clip
from tests.integration.spy_engine import read_needles, shim_dir
from tests.integration.test_two_edges import console_config, edge_config
from tests.nats_server import link_entry_point_dir, register_link_adapter, started_server
from tests.r3_scan import assert_no_face_bytes
from tests.waiting import until

STREAM = "PINCHPOINT_OUTBOX"
CANDIDATES = "pinchpoint.outbox.pinchpoint.candidates.>"


async def test_issue13_an_edge_killed_while_the_broker_is_away_loses_nothing(
    models_dir: Path, tmp_path: Path,
) -> None:
    register_link_adapter()
    engine = make_engine(models_dir)
    try:
        clip = make_walkpast_clip(tmp_path / "walkpast.mp4", engine, passes=3)
        key = tmp_path / "link.key"
        key.write_text(secrets.token_hex(32) + "\n")
        (tmp_path / "needles").mkdir()
        async with started_server(tmp_path / "hub") as hub, \
                started_server(tmp_path / "outbox") as outbox:
            console = Runtime(load_config(console_config(tmp_path, key, hub, free_port()),
                                          environ={}))
            edge_toml = edge_config(tmp_path, key, hub, models_dir, clip, "edge-1", "gate-1")
            text = edge_toml.read_text()
            text = text.replace(f'url = "{hub.url}"\n',
                                f'url = "{hub.url}"\noutbox_url = "{outbox.url}"\n')
            text = text.replace('type = "onnx"\n', 'type = "spy"\nneedles = "'
                                f'{tmp_path / "needles" / "edge-1.hex"}"\n')
            edge_toml.write_text(text)
            shims = [p for p in (shim_dir(tmp_path), link_entry_point_dir(tmp_path)) if p]
            edge = PinchpointProcess(edge_toml, "http://127.0.0.1:9", tmp_path / "edge.log",
                                     path=shims)
            watcher = NatsLink(NatsLink.Config(url=hub.url, connect_timeout_s=0.5),
                               make_context("test"))
            peek = await nats.connect(outbox.url)
            ojs = peek.jetstream()

            async def in_outbox() -> dict[int, str]:
                """stream seq → key of each candidate waiting on the edge's disk."""
                try:
                    info = await ojs.stream_info(STREAM)
                except NotFoundError:
                    return {}
                out: dict[int, str] = {}
                if not info.state.messages:
                    return out
                for seq in range(info.state.first_seq, info.state.last_seq + 1):
                    try:
                        msg = await ojs.get_msg(STREAM, seq)
                    except NotFoundError:
                        continue
                    if (msg.subject or "").startswith(CANDIDATES[:-1]):
                        out[seq] = (msg.headers or {})["Nats-Msg-Id"]
                return out

            await console.start()
            try:
                gov, publisher = console.governance, console.publisher
                assert gov is not None and publisher is not None
                dep = await go_live(gov, engine)
                await until(lambda: dep in publisher.published, 20, "the list published")
                await edge.start(None, serves_http=False)

                async def holds_list() -> bool:
                    report = (await edge_reports(watcher)).get("edge-1")
                    return report is not None and dep in {h.deployment_id
                                                          for h in report.lists}

                await poll("the edge holds the list", holds_list, 60, edge)
                await watcher.close()
                hub.stop()

                assert edge.proc is not None
                pid = edge.proc.pid

                async def frozen_with_all_on_disk() -> bool:
                    # frozen (SIGSTOP), the edge raises nothing more while the test looks:
                    # every match its log says it raised must be on its disk, none left in
                    # its memory for the kill to take; else it thaws and the test looks again
                    os.kill(pid, signal.SIGSTOP)
                    count = raised_by(edge)
                    if count >= 2 and len(await in_outbox()) == count:
                        return True
                    os.kill(pid, signal.SIGCONT)
                    return False

                await poll("the edge raised its matches into its outbox",
                           frozen_with_all_on_disk, 60, edge)
                edge.proc.kill()  # kill -9 (frozen as it is), the broker still away
                await edge.proc.wait()
                waiting = set((await in_outbox()).values())
                assert len(waiting) >= 2
                assert assert_no_face_bytes(outbox.store, read_needles(
                    tmp_path / "needles" / "edge-1.hex")) > 0  # sealed matches, nothing else

                await edge.start(None, serves_http=False)  # the broker still away
                await poll("the outbox kept every candidate through the kill and restart",
                           lambda: _holds(in_outbox, waiting), 10, edge)
                await hub.start()

                async def all_stored() -> bool:
                    ids = [a.id for a in await gov.alerts.list_for(dep)]
                    assert len(ids) == len(set(ids)), "a candidate stored twice"
                    return waiting <= set(ids) and len(ids) == raised_by(edge)

                await poll("every candidate either run raised stored", all_stored, 60, edge)
            finally:
                await edge.stop()
                await console.stop()
                await watcher.close()
                await peek.close()
            needles = read_needles(tmp_path / "needles" / "edge-1.hex")
            assert needles, "the spy saw the faces"
            assert assert_no_face_bytes(outbox.store, needles) > 0
            assert [p for p in (tmp_path / "edge-1").rglob("*") if p.is_file()] == []
    finally:
        await engine.close()


def raised_by(edge: PinchpointProcess) -> int:
    """The candidates the edge's log says it raised, over every run."""
    return edge.log.read_text().count("candidate raised on camera")


async def _holds(in_outbox: Callable[[], Awaitable[dict[int, str]]], keys: set[str]) -> bool:
    return keys <= set((await in_outbox()).values())
