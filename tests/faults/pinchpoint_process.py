"""A real ``pinchpoint run`` in a process of its own, started with a crash point armed
(:mod:`kernel.crashpoints`) so the fault suite can kill it at one step and restart it on the
same data directory. Its output goes to a log file the test prints when something fails."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from kernel.crashpoints import ENV
from tests.media_peers import REPO


class PinchpointProcess:
    """One ``pinchpoint run --config CONFIG`` at a time; each start appends to ``log``.
    ``env``: variables added to the test's environment (a store's password); ``path``:
    directories put before the repository on ``PYTHONPATH`` (a test adapter's entry point)."""

    def __init__(self, config: Path, base_url: str, log: Path,
                 env: Mapping[str, str] | None = None, path: Sequence[Path] = ()) -> None:
        self.config, self.base_url, self.log = config, base_url, log
        self.env, self.path = dict(env or {}), tuple(path)
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, crash_at: str | None, config: Path | None = None,
                    serves_http: bool = True) -> None:
        """Start the process (``crash_at``: the point it will SIGKILL itself at); returns once
        its HTTP service answers (at once when ``serves_http`` is false), or as soon as it
        died (a crash during start)."""
        env = {k: v for k, v in os.environ.items() if k != ENV} | self.env
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (*self.path, REPO))
        if crash_at is not None:
            env[ENV] = crash_at
        with self.log.open("a") as out:
            out.write(f"\n===== {time.strftime('%H:%M:%S')} start, {ENV}={crash_at}\n")
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "kernel.cli.main", "run", "--config",
                str(config or self.config), cwd=REPO, env=env,
                stdout=out, stderr=asyncio.subprocess.STDOUT)
        if not serves_http:
            return
        async with asyncio.timeout(60), httpx.AsyncClient(base_url=self.base_url) as http:
            while self.proc.returncode is None:
                try:
                    if (await http.get("/api/auth/me", timeout=1)).status_code == 401:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def killed(self, timeout: float = 60) -> None:
        """Wait for the process to die of the armed crash point (SIGKILL, as ``kill -9``)."""
        assert self.proc is not None
        try:
            code = await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            await self.stop()
            raise AssertionError(f"not killed within {timeout} s:\n{self.tail()}") from None
        assert code == -signal.SIGKILL, f"exit {code}, not SIGKILL:\n{self.tail()}"
        self.proc = None

    async def stop(self) -> int:
        """SIGTERM (a clean stop) and wait; the exit code."""
        if self.proc is None or self.proc.returncode is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.terminate()
        try:
            code = await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            self.proc.kill()
            code = await self.proc.wait()
        self.proc = None
        return code

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text().splitlines()[-lines:]) if self.log.exists() else ""
