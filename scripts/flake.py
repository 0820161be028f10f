"""Run the suites that race other tasks and processes N times; print each test's failures.

    make flake            # integration, PWA and sink suites, 5 runs
    make flake N=20 SUITES=tests/adapters/sink/test_sink_mqtt.py   # one suite, 20 runs

Each run is a separate pytest process writing JUnit XML to a temp folder; the summary lists
every test that failed at least once with its count, then the runs' wall times. Exit status 1
when any test failed in any run. Not part of ``make test``: it is how a flaky test is caught
(run it while ``make bench`` or a second suite loads the machine, too).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

DEFAULT_SUITES = ("tests/integration", "tests/pwa", "tests/adapters/sink")


def outcomes(junit: Path) -> tuple[set[str], dict[str, str]]:
    """(all test ids, failed test id → first line of its failure) of one JUnit XML report."""
    seen: set[str] = set()
    failed: dict[str, str] = {}
    if not junit.is_file():
        return seen, failed
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        seen.add(name)
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            failed[name] = (problem.get("message") or "").splitlines()[0][:300] if (
                problem.get("message")) else ""
    return seen, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-n", "--runs", type=int, default=5)
    parser.add_argument("suites", nargs="*", default=list(DEFAULT_SUITES))
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    failures: Counter[str] = Counter()
    messages: dict[str, list[str]] = {}
    tests: set[str] = set()
    walls: list[float] = []
    broken_runs = 0
    with tempfile.TemporaryDirectory(prefix="pinchpoint-flake-") as tmp:
        for run in range(1, args.runs + 1):
            junit = Path(tmp) / f"run-{run}.xml"
            started = time.monotonic()
            proc = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                 f"--junitxml={junit}", *args.suites],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
            )
            walls.append(time.monotonic() - started)
            seen, failed = outcomes(junit)
            tests |= seen
            failures.update(failed.keys())
            for name, message in failed.items():
                messages.setdefault(name, []).append(f"run {run}: {message}")
            if proc.returncode not in (0, 1) or not seen:
                broken_runs += 1  # collection error, interrupted, or no report
            print(f"run {run}/{args.runs}: {len(seen)} tests, {len(failed)} failed, "
                  f"exit {proc.returncode}, {walls[-1]:.0f} s", flush=True)
    print(f"\n{len(tests)} tests × {args.runs} runs over {' '.join(args.suites)}")
    if failures:
        for name, count in failures.most_common():
            print(f"  {count}/{args.runs} failed  {name}")
            for line in messages.get(name, []):
                print(f"      {line}")
    else:
        print("  0 failures")
    if broken_runs:
        print(f"  {broken_runs} run(s) ended without a complete report")
    return 1 if failures or broken_runs else 0


if __name__ == "__main__":
    raise SystemExit(main())
