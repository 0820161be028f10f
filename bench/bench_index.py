"""Benchmark the watch-list indexes: build time, search latency and recall@1.

    python bench/bench_index.py [--sizes 1000,10000,100000,1000000] [--out bench/results/index.json]

For each gallery size it measures ``index.exact``, ``index.usearch`` (f32 and i8, the
project's defaults; f32 also with usearch's own defaults) and FAISS (``IndexFlatIP`` and
``IndexHNSWFlat`` with inner product) in one run, on the same data:

- build: seconds to add the whole gallery;
- search latency: one query, and a batch of 8, repeated on different probes (median, p95);
- recall@1: fraction of probes whose best match equals the exact ground truth.

Ratios are against FAISS flat (the named baseline). Gallery data are face-like synthetic
templates (``kernel.testing.index_contract.face_like_templates``: a shared component, 64
appearance groups, identity and per-image terms, fitted to dlib descriptors of LFW); when
``../shared/data/lfw150`` exists an extra row uses real dlib descriptors of 300 LFW people.
HNSW builds above ``--hnsw-max`` are skipped (too slow on 2 cores) and said so.
faiss-cpu is a benchmark-only dependency. Never run in CI (timings).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
# usearch and faiss use OpenMP; its default spin-wait keeps idle worker threads burning the
# two cores and starves numpy's OpenBLAS threads in the next measurement.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from adapters.index.exact import ExactIndex  # noqa: E402
from adapters.index.usearch_hnsw import UsearchIndex  # noqa: E402
from kernel.testing.index_contract import (  # noqa: E402
    FaceLikeSet,
    face_like_templates,
    lfw_dlib_templates,
)

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
Search = Callable[[F32, int], I64]


class Method:
    """One index under test: ``build(keys, vectors)`` then ``search(queries, k) -> keys``."""

    def __init__(self, name: str, build: Callable[[I64, F32], Search], hnsw: bool) -> None:
        self.name, self.build, self.hnsw = name, build, hnsw


def pinchpoint_exact(keys: I64, vectors: F32) -> Search:
    index = ExactIndex(ExactIndex.Config(dim=vectors.shape[1]))
    index.add(keys, vectors)
    return lambda q, k: index.search(q, k).keys


def pinchpoint_usearch(**options: Any) -> Callable[[I64, F32], Search]:
    def build(keys: I64, vectors: F32) -> Search:
        index = UsearchIndex(UsearchIndex.Config(dim=vectors.shape[1], **options))
        index.add(keys, vectors)
        return lambda q, k: index.search(q, k).keys

    return build


def faiss_flat(keys: I64, vectors: F32) -> Search:
    import faiss

    index = faiss.IndexIDMap(faiss.IndexFlatIP(vectors.shape[1]))
    index.add_with_ids(vectors, keys)
    return lambda q, k: index.search(q, k)[1]


def faiss_hnsw(keys: I64, vectors: F32) -> Search:
    import faiss

    inner = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    inner.hnsw.efConstruction = 128
    inner.hnsw.efSearch = 128
    index = faiss.IndexIDMap(inner)
    index.add_with_ids(vectors, keys)
    return lambda q, k: index.search(q, k)[1]


METHODS = [
    Method("index.exact", pinchpoint_exact, hnsw=False),
    Method("faiss flat (IndexFlatIP)", faiss_flat, hnsw=False),
    Method("index.usearch f32 (M32 ef128)", pinchpoint_usearch(dtype="f32"), hnsw=True),
    Method("index.usearch i8 (M32 ef128)", pinchpoint_usearch(dtype="i8"), hnsw=True),
    Method(
        "usearch f32 defaults (M16 ef64)",
        pinchpoint_usearch(dtype="f32", connectivity=16, expansion_search=64),
        hnsw=True,
    ),
    Method("faiss HNSWFlat IP (M32 ef128)", faiss_hnsw, hnsw=True),
]
BASELINE = "faiss flat (IndexFlatIP)"


def timed_ms(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median and p95 of ``repeats`` calls, in milliseconds (after 3 warm-up calls)."""
    for _ in range(3):
        fn()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e3)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(0.95 * len(samples)))]


def run_one(method: Method, data: FaceLikeSet, truth: I64, repeats: int) -> dict[str, Any]:
    keys = np.arange(data.gallery.shape[0], dtype=np.int64)
    t0 = time.perf_counter()
    search = method.build(keys, data.gallery)
    build_s = time.perf_counter() - t0
    probes = data.probes
    found = search(probes, 1)[:, 0]
    recall = float(np.mean(found == truth))
    known = data.probe_identity >= 0
    counter = iter(range(10**9))

    def one() -> object:
        i = next(counter) % probes.shape[0]
        return search(probes[i : i + 1], 1)

    def eight() -> object:
        i = (next(counter) * 8) % max(1, probes.shape[0] - 8)
        return search(probes[i : i + 8], 1)

    lat1 = timed_ms(one, repeats)
    lat8 = timed_ms(eight, repeats)
    return {
        "method": method.name,
        "build_s": round(build_s, 3),
        "build_per_s": round(keys.size / build_s) if build_s > 0 else None,
        "search1_ms_median": round(lat1[0], 4),
        "search1_ms_p95": round(lat1[1], 4),
        "search8_ms_median": round(lat8[0], 4),
        "search8_ms_p95": round(lat8[1], 4),
        "recall_at_1": round(recall, 4),
        "recall_at_1_known_probes": round(float(np.mean(found[known] == truth[known])), 4),
        "probes": int(probes.shape[0]),
    }


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with Path("/proc/cpuinfo").open() as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        from threadpoolctl import threadpool_info  # type: ignore[import-untyped]

        blas = [
            {
                k: v
                for k, v in info.items()
                if k in ("internal_api", "version", "architecture", "num_threads", "filepath")
            }
            for info in threadpool_info()
        ]
    except ImportError:
        blas = [{"note": "threadpoolctl not installed"}]
    import faiss
    import usearch

    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy_blas": blas,
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "usearch": usearch.__version__,
        "faiss": faiss.__version__,
    }


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "| gallery | index | build s | 1 query ms (med / p95) | 8 queries ms (med / p95) "
        "| ×faiss-flat (1 q / 8 q) | recall@1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in results:
        base = {r["method"]: r for r in row["methods"]}.get(BASELINE)
        for r in row["methods"]:
            if "skipped" in r:
                lines.append(
                    f"| {row['label']} | {r['method']} | skipped: {r['skipped']} | | | | |"
                )
                continue
            ratio = ""
            if base is not None:
                ratio = (
                    f"{r['search1_ms_median'] / base['search1_ms_median']:.2f} / "
                    f"{r['search8_ms_median'] / base['search8_ms_median']:.2f}"
                )
            lines.append(
                f"| {row['label']} | {r['method']} | {r['build_s']:.2f} "
                f"| {r['search1_ms_median']:.3f} / {r['search1_ms_p95']:.3f} "
                f"| {r['search8_ms_median']:.3f} / {r['search8_ms_p95']:.3f} "
                f"| {ratio} | {r['recall_at_1']:.4f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,30000,100000,1000000")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "index.json")
    parser.add_argument("--probes", type=int, default=1000, help="queries for recall@1")
    parser.add_argument("--repeats", type=int, default=60, help="timed searches per figure")
    parser.add_argument(
        "--hnsw-max",
        type=int,
        default=100_000,
        help="skip HNSW builds above this gallery size (2.6k-10k vectors/s here)",
    )
    parser.add_argument("--no-lfw", action="store_true", help="skip the real LFW row")
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="BLAS threads, as `pinchpoint run` sets them (1: parallelism "
                             "comes from the pipeline's workers)")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=args.blas_threads, user_api="blas")
    sizes = [int(s) for s in args.sizes.split(",") if s]

    info = machine()
    print(json.dumps(info, indent=1), flush=True)
    datasets: list[tuple[str, Callable[[], FaceLikeSet]]] = []
    lfw = REPO.parent / "shared" / "data" / "lfw150"
    if not args.no_lfw and (lfw / "identities_ge2.txt").is_file():
        datasets.append(
            (
                "300 (real LFW dlib)",
                lambda: lfw_dlib_templates(lfw, 300, Path(tempfile.gettempdir())),
            )
        )
    for n in sizes:
        datasets.append(
            (
                f"{n:,} (face-like)",
                lambda n=n: face_like_templates(  # type: ignore[misc]
                    n, args.probes, seed=n
                ),
            )
        )

    results: list[dict[str, Any]] = []
    build_rate: dict[str, float] = {}
    for label, make in datasets:
        data = make()
        n = data.gallery.shape[0]
        truth = ExactIndex(ExactIndex.Config(dim=data.gallery.shape[1]))
        truth.add(np.arange(n, dtype=np.int64), data.gallery)
        ground = truth.search(data.probes, 1).keys[:, 0]
        del truth
        row: dict[str, Any] = {"label": label, "size": n, "methods": []}
        for method in METHODS:
            if method.hnsw and n > args.hnsw_max:
                rate = build_rate.get(method.name)
                estimate = f"≈{n / rate / 60:.0f} min at this run's rate" if rate else "slow"
                reason = f"HNSW build of {n:,} exceeds --hnsw-max {args.hnsw_max:,} ({estimate})"
                row["methods"].append({"method": method.name, "skipped": reason})
                print(f"{label:>24} {method.name:<32} skipped: {reason}", flush=True)
                continue
            r = run_one(method, data, ground, args.repeats)
            if r["build_per_s"]:
                build_rate[method.name] = r["build_per_s"]
            row["methods"].append(r)
            print(
                f"{label:>24} {method.name:<32} build {r['build_s']:8.2f}s  "
                f"1q {r['search1_ms_median']:8.3f}ms  8q {r['search8_ms_median']:8.3f}ms  "
                f"recall@1 {r['recall_at_1']:.4f}",
                flush=True,
            )
        results.append(row)
        del data

    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    table = markdown(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"machine": info, "results": results, "markdown": table}, indent=1)
    )
    print()
    print(
        f"Machine: {info['nproc']} cores, {info['cpu']}; {info['date']}; numpy {info['numpy']} "
        f"BLAS {info['numpy_blas']}; OPENBLAS_CORETYPE={info['OPENBLAS_CORETYPE']}"
    )
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
