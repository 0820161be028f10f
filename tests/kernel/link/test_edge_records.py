"""Issue 13: a console keeps in its store what the force-wide view of every console sharing
it needs of each edge (``ListPublisher.read_reports``), read off a real nats-server: once
when it changes and at most once a minute otherwise; a report whose time is no time is
refused, the others recorded."""

from __future__ import annotations

import time
from pathlib import Path

import msgspec

from adapters.link.nats import NatsLink
from kernel.config import MatchingConfig
from kernel.config import load as load_config
from kernel.domain.governance import open_governance
from kernel.domain.records import EdgeRecord
from kernel.link.cipher import LinkCipher
from kernel.link.list_publisher import RECORD_EVERY, ListPublisher
from kernel.link.messages import CameraReport, EdgeReport, HeldList


def report(node_id: str, at: float, cameras: tuple[str, ...],
           lists: tuple[str, ...]) -> bytes:
    return msgspec.msgpack.encode(EdgeReport(
        node_id=node_id, at=at, lists=tuple(HeldList(d, 1, 1) for d in lists),
        cameras=tuple(CameraReport(c, "running", 10, 0) for c in cameras),
        queued=0, published=0, refused=0))


async def test_issue13_each_edge_is_recorded_when_it_changes_and_once_a_minute(
        link: NatsLink, link_key: bytes, tmp_path: Path) -> None:
    path = tmp_path / "console.toml"
    path.write_text(f'data_dir = "{tmp_path / "console"}"\n[store]\ntype = "sqlite"\n')
    gov = await open_governance(load_config(path, environ={}))
    try:
        publisher = ListPublisher(link, LinkCipher(link_key), gov, MatchingConfig(), 1.0,
                                  console="van-a")

        async def rows() -> list[EdgeRecord]:
            await publisher.read_reports()
            async with gov.store.transaction() as tx:
                return await tx.statistics.edges()

        t = float(int(time.time()))
        await link.put_report("edge-1", report("edge-1", t, ("c2", "c1"), ("d1",)))
        for hostile, at in (("edge-nan", float("nan")), ("edge-inf", float("inf")),
                            ("edge-neg", -1.0), ("edge-far", 1e300)):
            await link.put_report(hostile, report(hostile, at, ("x",), ("d1",)))
        await link.put_report("edge-junk", b"\xc1 not msgpack")
        (row,) = await rows()
        assert (row.node_id, row.console, row.cameras, row.deployments) == (
            "edge-1", "van-a", ("c1", "c2"), ("d1",))
        assert row.reported_at.timestamp() == t
        # unchanged, newer by less than a minute: the row is not written again
        await link.put_report("edge-1", report("edge-1", t + RECORD_EVERY - 1, ("c1", "c2"),
                                               ("d1",)))
        assert [r.reported_at.timestamp() for r in await rows()] == [t]
        # changed (a list dropped): written at once
        await link.put_report("edge-1", report("edge-1", t + RECORD_EVERY - 0.5,
                                               ("c1", "c2"), ()))
        (row,) = await rows()
        assert row.deployments == () and row.reported_at.timestamp() == t + RECORD_EVERY - 0.5
        # unchanged, a minute newer: written, so that the row's age says the edge is alive
        await link.put_report("edge-1", report("edge-1", t + 2 * RECORD_EVERY, ("c1", "c2"),
                                               ()))
        assert [r.reported_at.timestamp() for r in await rows()] == [t + 2 * RECORD_EVERY]
        assert set(publisher.reports) == {"edge-1", "edge-nan", "edge-inf", "edge-neg",
                                          "edge-far"}  # shown on this console, as read
    finally:
        await gov.close()
