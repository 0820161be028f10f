"""The edge's version check (issue 13): it never matches against a list it knows is stale.

:func:`plan` alone, then the console's publisher and an edge's lists over a real nats-server,
with the real engine's pipeline: a new version replaces the old, a newer version that does not
open drops the old one, a wipe drops the list, and what the edge holds is what it reports."""

from __future__ import annotations

from pathlib import Path

import msgspec

from adapters.index.exact import ExactIndex
from adapters.link.nats import NatsLink
from kernel.auth.accounts import Accounts
from kernel.auth.passwords import Passwords
from kernel.clock import SystemClock
from kernel.config import MatchingConfig
from kernel.executor import BoundedExecutor
from kernel.link.cipher import LinkCipher
from kernel.link.edge_candidates import RemoteCandidates
from kernel.link.edge_lists import EdgeLists, plan
from kernel.link.edge_report import EdgeReporter
from kernel.link.list_publisher import ListPublisher
from kernel.link.messages import HeldList, SealedList
from kernel.pipeline.candidates import CandidateRecorder
from kernel.pipeline.live import LivePipeline
from kernel.testing.camera_contract import make_context
from tests.kernel.link.conftest import Console


def test_plan_drops_a_withdrawn_list_and_fetches_only_a_newer_version() -> None:
    held = {"a": 3, "b": 5, "c": 2}
    published = {"a": 3, "b": 4, "c": 7, "d": 1}
    # "a" unchanged, "b" published at an older version (a replay): kept; "c" newer: fetched;
    # "d" new: fetched; nothing withdrawn
    assert plan(held, published) == plan(held, published)
    result = plan(held, published)
    assert result.fetch == ("c", "d") and result.drop == ()
    assert plan(held, {"a": 3}).drop == ("b", "c")  # ended or wiped on the console
    assert plan({}, {}) == plan({"a": 1}, {"a": 1})  # nothing to do either way
    assert plan({"a": 1}, {}).drop == ("a",)


async def test_the_edge_holds_the_published_version_and_drops_a_stale_or_wiped_list(
    link: NatsLink, cipher: LinkCipher, console: Console, tmp_path: Path,
) -> None:
    gov, dep = console.gov, console.deployment_id
    publisher = ListPublisher(link, cipher, gov, MatchingConfig(), refresh_s=1.0)
    engine = console.engine
    executor = BoundedExecutor(1, 2)
    # the edge's pipeline; its candidate sink is never reached here (no frames)
    pipeline = LivePipeline(engine, executor, SystemClock(), CandidateRecorder(gov))
    changes: list[int] = []
    edge = EdgeLists(link, cipher, pipeline,
                     lambda: ExactIndex(ExactIndex.Config(dim=engine.dim),
                                        make_context("index", tmp_path)),
                     refresh_s=1.0, on_change=lambda: changes.append(1))
    try:
        await publisher.refresh()
        ((_, v1),) = publisher.published.values()
        await edge.refresh()
        assert list(edge.held.values()) == [HeldList(dep, v1, 1)]
        assert pipeline.watchlist is not None and len(pipeline.watchlist.entries) == 1
        assert pipeline.watchlist.thresholds == {dep: 0.93}
        reporter = EdgeReporter(link, "edge-1", SystemClock(), edge,
                                RemoteCandidates(link, cipher, "edge-1"), list, 1.0)

        async def shown() -> list[tuple[str, str, int, int, bool]]:
            """What the console shows of the edges after the edge reported."""
            await link.put_report("edge-1", msgspec.msgpack.encode(reporter.report()))
            await publisher.read_reports()
            return [(e.node_id, x.deployment_id, x.held, x.published, x.current)
                    for e in publisher.edges() for x in e.lists]

        assert await shown() == [("edge-1", dep, v1, v1, True)]

        accounts = Accounts(gov.store, gov.ctx.clock, Passwords(1, 8, 1))
        await accounts.add_user("cmd", "commander", "edge-lists-commander-pw", "test")
        await gov.deployments.set_threshold(dep, 0.95, "cmd")  # R22: the commander's call
        await publisher.refresh()  # a change: a new version
        ((_, v2),) = publisher.published.values()
        assert v2 > v1
        assert await shown() == [("edge-1", dep, v1, v2, False)]  # not acknowledged yet
        await edge.refresh()
        assert edge.version(dep) == v2 and pipeline.watchlist.thresholds == {dep: 0.95}
        await edge.refresh()  # nothing new: no rebuild
        assert len(changes) == 2

        # a newer version the edge cannot open (another key, damaged): the one it holds is
        # stale now, so it is dropped rather than matched against
        await link.put_list(dep, msgspec.msgpack.encode(SealedList(dep, b"\x00" * 40)))
        await edge.refresh()
        assert edge.held == {} and pipeline.watchlist is None

        publisher.published.clear()  # the console republishes (as after its restart)
        publisher._adopted = False
        await publisher.refresh()
        await edge.refresh()
        assert edge.version(dep) == publisher.published[dep][1]

        await gov.retention.wipe(dep, "commander", reason="test")
        await publisher.refresh()
        assert await link.list_versions() == {}
        await edge.refresh()
        assert edge.held == {} and pipeline.watchlist is None
        assert await shown() == []  # dropped everywhere
    finally:
        executor.shutdown()
