"""A NATS server with JetStream of the test's own: a free port, its store in the test's temp
directory, stopped afterwards (never the machine's server on 4222). Without the Debian
``nats-server`` a test that needs it is skipped, saying how to get it.

Also :func:`link_entry_point_dir`: until the venv is re-installed from a pyproject that names
``link.nats``, a subprocess finds the adapter through a one-entry dist-info put on its path.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from kernel import registry
from tests.media_peers import free_port


def _binary() -> str | None:
    return shutil.which("nats-server") or next(
        (p for p in ("/usr/sbin/nats-server", "/usr/bin/nats-server") if Path(p).exists()), None)


class NatsServer:
    """One ``nats-server -js`` on 127.0.0.1; ``url`` to connect, ``store`` its directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.store = root / "jetstream"
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def _spawn(self, binary: str) -> subprocess.Popen[bytes]:
        self.store.mkdir(parents=True, exist_ok=True)
        with (self.root / "nats.log").open("ab") as log:
            return subprocess.Popen([binary, "-a", "127.0.0.1", "-p", str(self.port), "-js",
                                     "-sd", str(self.store)],
                                    stdout=log, stderr=subprocess.STDOUT)

    async def start(self) -> None:
        """Start (again, on the same port and store, after :meth:`stop`); returns once it
        greets a client."""
        binary = _binary()
        if binary is None:
            pytest.skip("nats-server not installed (scripts/setup.sh test installs it)")
        self.proc = self._spawn(binary)
        async with asyncio.timeout(20):
            while True:
                if self.proc.poll() is not None:
                    raise AssertionError(f"nats-server exited {self.proc.returncode}: "
                                         f"{(self.root / 'nats.log').read_text()[-2000:]}")
                try:
                    reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                except OSError:
                    await asyncio.sleep(0.05)
                    continue
                line = await reader.readline()  # the server's INFO greeting
                writer.close()
                await writer.wait_closed()
                if line.startswith(b"INFO"):
                    return

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@asynccontextmanager
async def started_server(root: Path) -> AsyncIterator[NatsServer]:
    server = NatsServer(root)
    try:
        await server.start()
        yield server
    finally:
        server.stop()


def link_entry_point_dir(tmp: Path) -> Path | None:
    """A directory to put first on a subprocess's ``PYTHONPATH`` so that it finds
    ``link.nats``, or None when the installed package already names it."""
    if any(ep.name == "link.nats" for ep in entry_points(group=registry.GROUP)):
        return None
    dist = tmp / "entry-points" / "pinchpoint_link_nats-0.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: pinchpoint-link-nats\n"
                                   "Version: 0\n")
    (dist / "entry_points.txt").write_text(
        '[pinchpoint.adapters]\nlink.nats = adapters.link.nats:NatsLink\n')
    return dist.parent


def register_link_adapter() -> None:
    """In this process: ``link.nats`` for :func:`kernel.registry.load` (see above)."""
    if "link.nats" not in registry.available("link"):
        from adapters.link.nats import NatsLink

        registry.register("link", "nats", NatsLink)
