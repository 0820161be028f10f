"""R3 on ``store.postgres`` (issue 13): the live pipeline on a real clip and engine, storing in
a PostgreSQL schema of its own. Faces that match nothing leave no crop, template or
face-derived byte in any stored value, in any file under the data directory or in the logs,
the SQLite test's scan (test_live_pipeline.py) on the other store."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from adapters.store.postgres import PostgresStore
from kernel import config as config_module
from kernel import registry
from tests import postgres_server as pg
from tests.kernel.pipeline.test_live_pipeline import (  # noqa: F401 (a fixture)
    engine_for_clips,
    make_clip,
    run_clip,
)
from tests.kernel.pipeline.test_live_pipeline import write_config as sqlite_write_config


def write_config(tmp: Path, models: Path, clip: Path, schema: str) -> config_module.Config:
    """The SQLite pipeline tests' config with its ``[store]`` on this test's schema."""
    store = "\n".join((
        'type = "postgres"', f'host = "{pg.HOST}"', f"port = {pg.PORT}",
        f'database = "{pg.NAME}"', f'user = "{pg.NAME}"',
        f'password_env = "{pg.PASSWORD_ENV}"', f'schema = "{schema}"'))
    return sqlite_write_config(tmp, models, clip, store=store)


async def test_issue13_r3_non_matching_faces_leave_no_trace_on_postgres(
    models_dir: Path, tmp_path: Path, engine_for_clips: Any,  # noqa: F811
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv(pg.PASSWORD_ENV, pg.ENVIRON[pg.PASSWORD_ENV])
    registered = "store.postgres" not in registry.available("store")
    if registered:  # until the venv is reinstalled with the new entry point
        registry.register("store", "postgres", PostgresStore)
    try:
        async with pg.fresh_schema() as schema:
            clip = make_clip(tmp_path / "strangers.mp4", engine_for_clips, ["biden.jpg"])
            cfg = write_config(tmp_path, models_dir, clip, schema)
            rt, spy, dep = await run_clip(cfg, watch=["obama.jpg"])
            try:
                assert rt.pipeline is not None and rt.governance is not None
                assert isinstance(rt.governance.store, PostgresStore)
                assert rt.pipeline.stats.faces > 0 and spy.templates
                assert await rt.governance.alerts.list_for(dep) == []
                assert rt.pipeline.stats.candidates == 0
            finally:
                await rt.stop()
            needles = [t.astype(np.float32).tobytes()[:32] for t in spy.templates]
            needles += [c[c.shape[0] // 2].tobytes()[:96] for c in spy.chips]
            stored = pg.dump_bytes(schema)
            counts = pg.count_rows(schema, ("alerts", "face_counts", "blobs"))
            assert counts["alerts"] == 0 and counts["face_counts"] > 0
            for needle in needles:
                assert needle not in stored, "face-derived bytes stored in PostgreSQL"
            for path in (p for p in cfg.data_dir.rglob("*") if p.is_file()):
                data = path.read_bytes()
                for needle in needles:
                    assert needle not in data, f"face-derived bytes found in {path}"
            assert not [r for r in caplog.records if r.name == "pinchpoint.pipeline"]
    finally:
        if registered:
            registry.unregister("store", "postgres")
