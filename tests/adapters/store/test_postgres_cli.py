"""``pinchpoint`` on ``[store] type = "postgres"`` (issue 13): the governance CLI creates and
authorises a deployment, ``audit verify`` checks the chain on PostgreSQL; with the server down
the CLI prints one clear line and exits 4 (the store errors' code), never a traceback.

The governance calls run in this process (tests/cli_inprocess.py says why); the server-down
call runs in a child process, whose exit code and stderr are what is asserted."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests import postgres_server as pg
from tests.cli_inprocess import Completed, pinchpoint


def process(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``pinchpoint GROUP ACTION --config CONFIG ARGS…`` in a child process."""
    return subprocess.run([sys.executable, "-m", "kernel.cli.main", *args[:2], "--config",
                           str(config), *args[2:]], capture_output=True, text=True, check=False,
                          cwd=config.parent, env=os.environ | dict(pg.ENVIRON), timeout=120)


def cli(config: Path, *args: str) -> Completed:
    """The same in this process, with the test server's password in the environment."""
    missing = {k: v for k, v in pg.ENVIRON.items() if k not in os.environ}
    os.environ.update(missing)
    try:
        return pinchpoint([*args[:2], "--config", str(config), *args[2:]], config.parent)
    finally:
        for key in missing:
            del os.environ[key]


def _config(tmp_path: Path, schema: str, port: int = pg.PORT) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(f'data_dir = "var"\n[store]\ntype = "postgres"\nhost = "{pg.HOST}"\n'
                    f'port = {port}\ndatabase = "{pg.NAME}"\nuser = "{pg.NAME}"\n'
                    f'password_env = "{pg.PASSWORD_ENV}"\nschema = "{schema}"\n'
                    'connect_timeout_s = 3\n')
    return path


async def test_issue13_cli_governs_and_verifies_the_audit_on_postgres(tmp_path: Path) -> None:
    async with pg.fresh_schema() as schema:
        config = _config(tmp_path, schema)
        now = datetime.now(UTC)
        made = cli(config, "deployment", "create", "--name", "Gate", "--authorising-officer",
                   "Supt X", "--location", "North gate",
                   "--starts", (now - timedelta(minutes=1)).isoformat(),
                   "--ends", (now + timedelta(hours=2)).isoformat(), "--objectives", "o",
                   "--case-reference", "C-1", "--command-team", "Insp Y")
        assert made.returncode == 0, made.stderr
        dep = cli(config, "deployment", "list").stdout.split()[0]
        assert cli(config, "deployment", "authorise", dep).returncode == 0
        verified = cli(config, "audit", "verify")
        assert verified.returncode == 0 and "intact" in verified.stdout, verified.stderr
        assert pg.count_rows(schema, ("audit", "deployments")) == {"audit": 2,
                                                                   "deployments": 1}


def test_issue13_cli_with_the_server_down_exits_4_with_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port that was just free: nothing listens on it
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = process(_config(tmp_path, "unused_schema", port), "audit", "verify")
    assert done.returncode == 4, done.stderr
    assert "Traceback" not in done.stderr
    assert f"cannot connect to postgresql://pinchpoint_test@127.0.0.1:{port}" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
