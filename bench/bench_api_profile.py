"""Sampling profile of the API server for ``bench/bench_api.py --profile``: py-spy on the
server's own process while wrk loads one endpoint, summarised from py-spy's collapsed stacks.
Only samples of the thread holding the GIL are kept (``--gil``): py-spy's idle detection
counts threads parked in epoll or a queue as busy here, which would drown the figures.

The summary names where the server's threads spend their samples: the top functions by
self time, and inclusive shares of our own modules (``kernel``, ``adapters``, ``mobile_api``)
and of the main third-party layers (uvicorn, litestar, aiosqlite/sqlite3, msgspec).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

LAYERS = {
    "uvicorn (HTTP parsing/writing)": "/uvicorn/",
    "litestar (routing, guards, responses)": "/litestar/",
    "aiosqlite thread + sqlite3": "/aiosqlite/",
    "asyncio event loop": "/asyncio/",
}
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^:]*)(?::(?P<line>\d+))?\)$")


def available() -> bool:
    return shutil.which("py-spy") is not None


async def record(seconds: float, out: Path) -> asyncio.subprocess.Process:
    """Start py-spy on this process for ``seconds``: samples of whichever thread holds the
    GIL (Python CPU time; native SQLite work runs without the GIL and is not in them)."""
    return await asyncio.create_subprocess_exec(
        "py-spy", "record", "--pid", str(os.getpid()), "--duration", str(max(1, round(seconds))),
        "--rate", "200", "--threads", "--gil", "--full-filenames", "--format", "raw",
        "--output", str(out),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)


def _frames(stack: str) -> list[tuple[str, str]]:
    out = []
    for part in stack.split(";")[1:]:  # the first element names the thread
        m = FRAME.match(part)
        if m:
            out.append((m["func"], m["file"]))
    return out


def summarise(collapsed: Path, repo: Path, top: int = 12) -> dict[str, Any]:
    """Top self-time functions and inclusive shares per layer, as % of all samples."""
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not stack or not count_s.isdigit():
            continue
        count = int(count_s)
        total += count
        threads[stack.split(";", 1)[0]] += count
        frames = _frames(stack)
        if frames:
            func, file = frames[-1]
            self_time[f"{func} ({Path(file).name})"] += count
        seen: set[str] = set()
        for func, file in frames:
            for layer, marker in LAYERS.items():
                if marker in file:
                    seen.add(layer)
            if file.startswith(str(repo)) and "/.venv/" not in file:
                rel = Path(file).relative_to(repo).with_suffix("").as_posix().replace("/", ".")
                seen.add(f"{rel}.{func}")
        for key in seen:
            inclusive[key] += count
    if not total:
        return {"samples": 0}

    def share(n: int) -> float:
        return round(100.0 * n / total, 1)

    ours = [(k, v) for k, v in inclusive.most_common() if k not in LAYERS][:top]
    return {
        "samples": total,
        "threads": {k: share(v) for k, v in threads.most_common(6)},
        "self_top": {k: share(v) for k, v in self_time.most_common(top)},
        "layers_inclusive": {k: share(inclusive[k]) for k in LAYERS},
        "ours_inclusive": {k: share(v) for k, v in ours},
    }
