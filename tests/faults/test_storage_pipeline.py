"""Storage faults under a running pipeline (issue 12, finding 7): the database made immutable
while running crashed the pipeline task three times in 40 s and lost candidates; a full disk
crashed it too. Now a file camera keeps playing a listed walker past a real engine while the
fault lasts: the pipeline task never restarts, accepted candidates are held in memory
(encrypted) and health says so; when the fault clears every one is stored once, in order,
and announced after it is stored; nothing of the stranger is written anywhere (R3)."""

from __future__ import annotations

import contextlib
import sqlite3
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

from kernel.config import load as load_config
from kernel.domain.events import CandidateRaised, DomainEvent
from kernel.runtime import Runtime
from kernel.supervisor import TaskState
from tests.integration.pipeline_rig import go_live, make_engine, make_walkpast_clip, runtime_config
from tests.r3_scan import assert_no_face_bytes, face_needles
from tests.storage_faults_rig import db_files, ext4, fill, immutable
from tests.waiting import until

pytestmark = pytest.mark.faults


@pytest.fixture(scope="module")
def clip(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The listed walker and a stranger, one pass (played in a loop)."""
    path = tmp_path_factory.mktemp("clip") / "pass.mp4"
    engine = make_engine(models_dir)
    return make_walkpast_clip(path, engine, ("obama2.jpg", "biden.jpg"), tail_s=0.1)


class Spy:
    """What the engine produced (for the R3 scan) and the ids the recorder accepted."""

    def __init__(self, rt: Runtime) -> None:
        assert rt.engine is not None and rt.governance is not None
        self.templates: list[np.ndarray[Any, Any]] = []
        self.chips: list[np.ndarray[Any, Any]] = []
        self.accepted: list[str] = []
        engine, alerts = rt.engine, rt.governance.alerts
        embed, seal = engine.embed_faces, alerts.seal_candidate
        complete = cast(Any, engine).complete_chip_sync  # the ONNX engine's full cut

        async def spy_embed(faces: Sequence[tuple[np.ndarray[Any, Any], Any]]) -> Any:
            out = await embed(faces)
            self.templates.extend(np.array(t) for t in out)
            self.chips.extend(np.array(complete(image, d)) for image, d in faces)
            return out

        async def spy_seal(*args: Any, **kwargs: Any) -> Any:
            sealed = await seal(*args, **kwargs)
            self.accepted.append(sealed.id)
            return sealed

        engine.embed_faces = spy_embed  # type: ignore[method-assign]
        alerts.seal_candidate = spy_seal  # type: ignore[method-assign]


@contextlib.contextmanager
def fault(kind: str, rt: Runtime, data: Path) -> Iterator[None]:
    if kind == "disk full":
        filler = fill(data)
        try:
            yield
        finally:
            filler.unlink()
    elif kind == "immutable":
        with immutable(db_files(data)):
            yield
    else:
        holder = sqlite3.connect(data / "pinchpoint.db", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()


async def test_issue12_finding7_pipeline_holds_candidates_through_storage_faults(
        models_dir: Path, clip: Path, tmp_path: Path) -> None:
    """One runtime through a full disk, an immutable database and a held lock in turn (a
    loop-mounted ext4, so one mount serves all three), recovering from each in place."""
    camera = f"""
[[cameras]]
id = "gate-1"
type = "file"
path = "{clip}"
loop = true
realtime = false
"""
    with ext4(tmp_path / "var", 48) as data:
        path = tmp_path / "config.toml"
        runtime_config(tmp_path, models_dir, camera)
        # a held lock costs a write 200 ms here, not the default 5 s
        path.write_text(path.read_text().replace(
            '[store]\ntype = "sqlite"', '[store]\ntype = "sqlite"\nbusy_timeout_ms = 200'))
        cfg = load_config(path, environ={})
        assert cfg.data_dir == data
        rt = Runtime(cfg)
        await rt.start()
        try:
            assert rt.governance and rt.engine and rt.matching and rt.candidates
            gov, recorder = rt.governance, rt.candidates
            spy = Spy(rt)
            announced: list[str] = []

            def listen(event: DomainEvent) -> None:
                if isinstance(event, CandidateRaised):
                    announced.append(event.alert_id)

            gov.events.subscribe(listen)
            dep = await go_live(gov, rt.engine)
            await rt.matching.refresh()
            await until(lambda: len(announced) >= 1, 60, "a first candidate, stored")
            task = rt.supervisor.status["pipeline"]
            for kind in ("disk full", "immutable", "locked"):
                await gov.store.compact()  # an empty WAL: the next write needs new blocks
                late = recorder.stored_late
                with fault(kind, rt, data):
                    stored_before = len(announced)
                    await until(lambda: recorder.health().held >= 2, 90,
                                f"two candidates held while {kind} lasts")
                    health = rt.status()
                    assert health.status == "degraded", (kind, health)
                    assert health.store.startswith(f"{kind}: {data / 'pinchpoint.db'}"), health
                    # nothing announced that is not stored
                    assert len(announced) == stored_before, kind
                    assert task.state == TaskState.RUNNING and task.restarts == 0, kind
                held_at_recovery = recorder.health().held
                await until(lambda: recorder.health().held == 0
                            and set(spy.accepted) <= set(announced), 60,
                            f"every candidate held through {kind} stored and announced")
                assert rt.status().status == "ok" and rt.status().store == "ok", kind
                assert recorder.stored_late - late >= held_at_recovery >= 2, kind
            assert task.restarts == 0 and recorder.refused == 0
            snapshot = list(spy.accepted)
        finally:
            await rt.stop()
        alerts = await _alerts(cfg, dep)
        ids = [a.id for a in alerts]
        assert len(ids) == len(set(ids))
        assert set(snapshot) <= set(ids) <= set(spy.accepted)  # none lost, none invented
        # one alert per accepted match: no retried write stored a second copy
        assert max(Counter((a.camera_id, a.captured_at) for a in alerts).values()) == 1
        assert Counter(announced) == Counter(ids)  # each announced once, after it was stored
        order = [i for i in spy.accepted if i in set(ids)]
        stored_order = [a.id for a in sorted(alerts, key=lambda a: a.created_at)]
        assert stored_order == order  # held ones written in the order they were accepted
        scanned = assert_no_face_bytes(data, face_needles(spy.templates, spy.chips))
        assert scanned >= 2 and spy.templates


async def _alerts(cfg: Any, dep: str) -> list[Any]:
    from kernel.domain.governance import open_governance

    gov = await open_governance(cfg)
    try:
        return await gov.alerts.list_for(dep)
    finally:
        await gov.close()
