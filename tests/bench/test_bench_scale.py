"""Issue 13, done-when 4: the scale-out bench's code runs end to end, shrunk to seconds.

``bench/bench_scale.py`` with a handful of candidates per part: the edges' process over a
nats-server of its own into a console (SQLite, and PostgreSQL when the test server is
reachable), the single-process baseline, one capacity step, and the report. Counts only:
the figures themselves are the bench's (BENCHMARKS.md), never asserted here.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests import postgres_server as pg

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

import bench_scale  # noqa: E402
import msgspec  # noqa: E402
import scale_edges  # noqa: E402

TINY = dict(latency_rate=40.0, latency_block=4, latency_rounds=1, deployments=2, entries=1,
            rates=(40.0,), step_s=0.25, drain_s=5.0, store_budget_s=0.0)
"""About 6 s on the shared 2 cores: 4 candidates a path, one step of 10 per store."""


async def test_issue13_scale_bench_measures_every_path_and_writes_its_report(
    tmp_path: Path,
) -> None:
    if shutil.which("nats-server") is None and not Path("/usr/sbin/nats-server").exists():
        pytest.skip("nats-server not installed (scripts/setup.sh test installs it)")
    reachable = await pg._check() == ""  # without the test server: SQLite only, not a skip
    params = bench_scale.Params(**TINY, postgres=reachable)  # type: ignore[arg-type]
    results = await bench_scale.run(params, workdir=tmp_path)

    lat = results["latency"]
    # every candidate of the three paths reached its operator feed, none twice, no resync
    for path in ("nats", "outbox", "all"):
        assert lat[path]["n"] == lat[path]["arrived"] == lat[path]["sent"] == 4, lat
        assert lat[path]["resyncs"] == 0
    # each stored after its list version was compared with the published one: a console
    # that stored them unjudged (its deployment unknown to it) would pass the counts above
    assert lat["judged"] == 8, lat
    stores = ["sqlite", "postgres"] if reachable else ["sqlite"]
    assert sorted(results["capacity"]) == sorted(stores)
    for store in stores:
        (step,) = [s for s in results["capacity"][store]["steps"] if not s.get("repeated")]
        assert step["sent"] == step["arrived"] == 10 and step["refused_at_edge"] == 0, step
        assert step["judged"] == 10 and step["stale"] == 0, step
    env = {"nproc": 2, "cpu": "test", "memory": "1 GB", "python": "3", "nats": "v",
           "postgres": "v", "date": "today", "seconds": 1.0, "uptime_before": "load 0",
           "uptime_after": "load 0", "load_before": 0.0, "load_after": 0.0, "face_kB": 1.0,
           "torso_kB": 1.0}
    text = bench_scale.markdown(results, env)
    assert "× single process p50" in text and "| sqlite |" in text and "its outbox" in text
    assert list(tmp_path.iterdir()) == []  # its brokers, stores and specs are gone with it


@pytest.mark.parametrize("line", [
    b'{"rate": 0, "count": 5}',  # the schedule divides by the rate
    b'{"rate": -3, "count": 5}',
    b'{"rate": 10, "count": 100000000}',  # unbounded
    b'{"rate": 10, "count": -1}',
    b'{"rate": "fast", "count": 5}',
    b'{"rate": 10, "count": 5, "extra": 1}',
    b'not json',
])
def test_issue13_scale_bench_edges_refuse_a_hostile_step_before_sending(line: bytes) -> None:
    with pytest.raises(msgspec.DecodeError):  # ValidationError is one
        msgspec.json.decode(line, type=scale_edges.Step)


@pytest.mark.parametrize("change", [
    {"link_key": "00" * 31},  # 31 bytes
    {"link_key": "zz" * 32},
    {"url": "http://127.0.0.1:4222"},
    {"edges": []},
    {"cameras": 0},
    {"edges": [{"node_id": "edge 1; rm", "deployment_id": "d", "entry_ids": ["e"]}]},
    {"edges": [{"node_id": "edge-1", "deployment_id": "d", "entry_ids": []}]},
])
def test_issue13_scale_bench_edges_refuse_a_hostile_spec(change: dict[str, object]) -> None:
    spec = {"url": "nats://127.0.0.1:4222", "link_key": "ab" * 32, "cameras": 8,
            "edges": [{"node_id": "edge-1", "deployment_id": "d", "entry_ids": ["e"]}]}
    msgspec.json.decode(msgspec.json.encode(spec), type=scale_edges.Spec)  # the honest one
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(msgspec.json.encode(spec | change), type=scale_edges.Spec)
