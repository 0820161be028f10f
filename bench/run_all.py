"""Run every benchmark and write its latest figures into BENCHMARKS.md.

Each ``bench/bench_<name>.py`` writes ``bench/results/<name>.json`` holding at least
``markdown`` (its table, baselines as ratios in the same run) and ``machine``. This script runs
them in turn and replaces the text between ``<!-- bench:<name> -->`` and
``<!-- /bench:<name> -->`` in BENCHMARKS.md, keeping the hand-written notes around them.

    python bench/run_all.py                 # all of them (about 28 minutes on 2 cores)
    python bench/run_all.py engine index    # some of them
    python bench/run_all.py browser         # confirm → 50 officers' browsers (MQTT/WSS)
    python bench/run_all.py scale           # edges → console over NATS, ingest capacity (3 min)
    python bench/run_all.py --no-run        # only refresh BENCHMARKS.md from bench/results
    python bench/run_all.py soak            # the 30-minute soak (``make soak``), only by name
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
DOC = REPO / "BENCHMARKS.md"
BENCHES = ("engine", "index", "pipeline", "tracking", "api", "browser", "store", "scale")
LONG = ("soak",)
"""Run only when named (``make soak``: 30 minutes), never by default."""


def run(name: str) -> None:
    script = REPO / "bench" / f"bench_{name}.py"
    out = RESULTS / f"{name}.json"
    print(f"== bench {name}", flush=True)
    subprocess.run([sys.executable, str(script), "--out", str(out)], check=True, cwd=REPO)


def section(name: str) -> str | None:
    path = RESULTS / f"{name}.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    markdown = data.get("markdown")
    if not markdown:
        return None
    stamp = datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = data.get("machine", {})
    where = machine if isinstance(machine, str) else ", ".join(
        f"{k} {v}" for k, v in machine.items() if not isinstance(v, dict | list))
    return (f"_Measured {stamp} by `python bench/bench_{name}.py`; machine: {where}._\n\n"
            f"{markdown.strip()}\n")


def refresh(names: list[str]) -> None:
    text = DOC.read_text() if DOC.is_file() else "# Benchmarks\n"
    for name in names:
        body = section(name)
        if body is None:
            continue
        start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
        block = f"{start}\n{body}{end}"
        pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
        found = pattern.search(text)
        if found:
            text = text[: found.start()] + block + text[found.end():]
        else:
            text = f"{text.rstrip()}\n\n## {name}\n\n{block}\n"
    DOC.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", default=[],
                        help=f"any of {', '.join(BENCHES + LONG)}")
    parser.add_argument("--no-run", action="store_true")
    args = parser.parse_args()
    names = list(args.names) or list(BENCHES)
    unknown = sorted(set(names) - set(BENCHES + LONG))
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; "
                     f"choose from {', '.join(BENCHES + LONG)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.no_run:
        for name in names:
            run(name)
    refresh(names)
    print(f"wrote {DOC.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
