"""Start-up on a storage fault (issue 12, finding 7): a read-only data directory gave a
traceback and exit 1, an immutable database started silently on a database it could not
write. Now each prints one line naming the fault and the path, and exits 4, the store's
documented code (README: 2 config, 3 models, 4 store), with no traceback."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kernel.config import load as load_config
from kernel.domain.governance import open_governance
from tests.storage_faults_rig import db_files, fill, immutable, read_only_bind, tmpfs

pytestmark = pytest.mark.faults

REPO = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, data: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'data_dir = "{data}"\n[store]\ntype = "sqlite"\n')
    return path


def _make_store(config: Path) -> None:
    async def make() -> None:
        gov = await open_governance(load_config(config, environ={}))
        await gov.close()

    asyncio.run(make())


def _run(config: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "kernel.cli.main", "run", "--config",
                           str(config), "--for", "30"], capture_output=True, text=True,
                          env=env, timeout=60, cwd=REPO, check=False)


@contextlib.contextmanager
def started_on(kind: str, tmp_path: Path) -> Iterator[Path]:
    """A config whose data directory has a Pinchpoint database, with ``kind`` in force."""
    if kind == "disk full":
        with tmpfs(tmp_path / "small", 4096) as data:
            config = _config(tmp_path, data)
            _make_store(config)
            filler = fill(data)
            try:
                yield config
            finally:
                filler.unlink()
        return
    data = tmp_path / "var"
    config = _config(tmp_path, data)
    _make_store(config)
    if kind == "immutable":
        with immutable(db_files(data)):
            yield config
    else:
        with read_only_bind(data, tmp_path / "ro") as ro:
            yield _config(tmp_path, ro)


@pytest.mark.parametrize("kind", ["read-only", "immutable", "disk full"])
def test_issue12_finding7_start_on_storage_fault_one_line_exit_4(
        kind: str, tmp_path: Path) -> None:
    with started_on(kind, tmp_path) as config:
        data = load_config(config, environ={}).data_dir
        done = _run(config)
    assert done.returncode == 4, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines == [lines[-1]], lines  # one line, nothing else
    assert lines[0].startswith(f"error: {kind}: {data / 'pinchpoint.db'} ("), lines[0]
