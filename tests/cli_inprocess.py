"""``pinchpoint …`` run inside the test's own process: the real parser, command entry points
and handlers (:func:`kernel.cli.main.main`), without a new interpreter per call.

Why: each ``python -m kernel.cli.main`` paid ~3.6 s importing onnxruntime and the engine before
doing anything, and the governance tests make 5–10 calls each (15–25 s a test, the largest
share of CI after the browser suites; measured on 2026-12-02 with ``--durations``). What the
process boundary itself adds — the ``python -m`` entry, exit codes, no traceback on stderr —
keeps two real processes in ``test_deployment_life_through_the_cli``.

A call sees what a process would: its own working directory, standard input, standard
output and error captured apart, the exit code (argparse's ``SystemExit`` included), and an
uncaught exception printed as a traceback with exit code 1. The root logger is restored
afterwards, since ``logs.setup`` installs a handler on the stream it is handed.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import sys
import threading
import traceback
from collections.abc import Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

from kernel.cli.main import main

# The working directory, sys.stdin/stdout/stderr and the root logger are the process's: two
# calls at once would see each other's.
_ONE_AT_A_TIME = threading.Lock()


@dataclass(frozen=True)
class Completed:
    """What ``subprocess.run(..., capture_output=True, text=True)`` would have returned."""

    returncode: int
    stdout: str
    stderr: str


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    return exc.code if isinstance(exc.code, int) else 1


def _call(argv: list[str], out: io.StringIO, err: io.StringIO) -> int:
    with redirect_stdout(out), redirect_stderr(err):
        try:
            return main(argv)
        except SystemExit as exc:
            return _exit_code(exc)
        except Exception:  # what the interpreter would print before exiting 1
            traceback.print_exc()
            return 1


def _in_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def pinchpoint(argv: Sequence[str], cwd: Path, stdin: str = "") -> Completed:
    """Run ``pinchpoint ARGV`` in ``cwd`` with ``stdin`` as its standard input.

    From inside a running event loop (an async test) the command runs on a thread of its own,
    since its handlers call ``asyncio.run``; the caller's loop is blocked meanwhile, as it
    would be by ``subprocess.run``.
    """
    out, err = io.StringIO(), io.StringIO()
    with _ONE_AT_A_TIME:
        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        old_cwd, old_stdin = Path.cwd(), sys.stdin
        os.chdir(cwd)
        sys.stdin = io.StringIO(stdin)
        try:
            if _in_loop():
                codes: list[int] = []
                worker = threading.Thread(target=lambda: codes.append(_call(list(argv), out, err)))
                worker.start()
                worker.join()
                code = codes[0] if codes else 1
            else:
                code = _call(list(argv), out, err)
        finally:
            os.chdir(old_cwd)
            sys.stdin = old_stdin
            root.handlers[:] = handlers
            root.setLevel(level)
    return Completed(code, out.getvalue(), err.getvalue())
