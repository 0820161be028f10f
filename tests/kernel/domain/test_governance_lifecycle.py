"""A deployment's whole life on a real store (SQLite and PostgreSQL, issue 13) with the real
face engine and a manual clock: R8-R10 enrolment, R9 review window, R18 states, R4/R5/R7
alerts, R12-R15/R17 retention at day 29, 30 and 31, R21 blue list, R24 key destruction."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageFilter

from kernel import registry
from kernel.clock import ManualClock
from kernel.domain.audit import Anchor
from kernel.domain.deployments import DeploymentDraft
from kernel.domain.errors import TransitionRefused
from kernel.domain.governance import Governance
from kernel.domain.retention import (
    RULE_FP,
    RULE_KEY,
    RULE_NFA,
    RULE_RELEASED,
    RULE_TEMPLATES,
    RULE_WATCHLIST,
)
from kernel.domain.watchlists import EntryInput
from kernel.errors import AdapterNotFound
from kernel.executor import BoundedExecutor
from kernel.images.reencode import reencode_upload
from kernel.protocols.adapter import AdapterContext
from tests.kernel.domain.conftest import rows, stored_bytes

START = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
END = datetime(2026, 3, 3, 18, 0, tzinfo=UTC)


def _jpg(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.fixture(params=["sqlite", "postgres"])
def store_kind(request: pytest.FixtureRequest) -> str:
    """Every test here runs on both stores (issue 13, done-when 1)."""
    return str(request.param)


@pytest.fixture(scope="module")
def engine_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        registry.load("engine", "onnx")
    except AdapterNotFound:
        pytest.skip("engine.onnx not available yet")
    from modelkit.build import build_models

    data_dir = tmp_path_factory.mktemp("engine")
    build_models(data_dir / "models")
    return data_dir


@pytest.fixture
async def engine(engine_dir: Path, clock: ManualClock) -> AsyncIterator[Any]:
    cls = registry.load("engine", "onnx")
    executor = BoundedExecutor(1, 1)
    eng = cls(cls.Config(), AdapterContext(name="onnx", data_dir=engine_dir, executor=executor,
                                          clock=clock, log=logging.getLogger("test.engine")))
    yield eng
    await eng.close()
    executor.shutdown()


def _file_bytes(db: Path) -> bytes:
    """What the store holds: the database and its write-ahead log as they are on disk, or
    every stored value of the PostgreSQL schema."""
    return stored_bytes(db)


def _watch(ref: str, category: Any = "wanted") -> EntryInput:
    return EntryInput(reference=ref, category=category, source=SOURCE, reason="test reason")


SOURCE = "PNC records office"
"""Long enough that the ciphertext of the photos cannot hold it by chance: a 3-byte needle
such as "PNC" turns up in a few hundred kB of random bytes about once in 50 runs."""


async def test_deployment_whole_life(gov: Governance, engine: Any, clock: ManualClock,
                                     shared_data: Path, tmp_path: Path) -> None:
    """R8-R10, R9, R18, R4, R5, R7, R12-R15, R17, R21, R24 end to end."""
    pd, examples = shared_data / "public-domain", shared_data / "test-only" / \
        "face_recognition-examples"
    obama = Image.open(pd / "obama.jpg").convert("RGB")
    biden = Image.open(pd / "biden.jpg").convert("RGB")
    db = tmp_path / "pinchpoint.db"
    key_dir = tmp_path / "keys" / "deployments"

    dep = await gov.deployments.create(DeploymentDraft(
        name="Op Test", authorising_officer="Supt A", location="High St", starts_at=START,
        ends_at=END, objectives="wanted offenders", case_reference="CASE-1",
        command_team=["Gold A", "Silver B"]), actor="commander")
    assert (key_dir / f"{dep.id}.key").is_file()

    # R10: each kind of unusable image is refused with the engine's reason, nothing stored
    side = Image.new("RGB", (obama.width + biden.width, biden.height))
    side.paste(obama, (0, 0))
    side.paste(biden, (obama.width, 0))
    bad = {
        "not_an_image": b"GIF89a this is not a picture",
        "too_large": b"\xff\xd8\xff" + bytes(16_000_000),
        "no_face": _jpg(Image.new("RGB", (400, 400), (128, 128, 128))),
        "several_faces": _jpg(side),
        # a ~27 px face: under the 40 px enrolment floor (a soft refusal, R10)
        "too_small": _jpg(obama.resize((obama.width // 9, obama.height // 9))),
        "blurred": _jpg(obama.filter(ImageFilter.GaussianBlur(10))),  # sharpness ≈ 0.010 < 0.02
    }
    for reason, data in bad.items():
        res = await gov.watchlists.enrol(dep.id, engine, data, actor="tech",
                                         entry=_watch("BAD"), label=reason)
        assert (res.ok, res.rejection) == (False, reason), res.message
        assert res.message.startswith(f"{reason}: ")
    assert rows(db)["entries"] == rows(db)["blobs"] == 0

    ids: dict[str, str] = {}
    for name, data, cat in [
        ("obama", (pd / "obama.jpg").read_bytes(), "wanted"),
        ("biden", (pd / "biden.jpg").read_bytes(), "vulnerable_missing"),
        ("lin", (examples / "lin-manuel-miranda.png").read_bytes(), "risk_of_harm"),
        ("alex", (examples / "alex-lacamoire.png").read_bytes(), "wanted"),
    ]:
        res = await gov.watchlists.enrol(dep.id, engine, data, actor="tech",
                                         entry=_watch(name.upper(), cat))
        assert res.ok and res.entry_id and res.key, res.message
        ids[name] = res.entry_id
    res = await gov.watchlists.enrol(dep.id, engine, (pd / "obama2.jpg").read_bytes(),
                                     actor="tech", entry_id=ids["obama"])
    assert res.ok and res.entry_id == ids["obama"]
    blue = await gov.watchlists.enrol(
        dep.id, engine, (examples / "alex-lacamoire2.jpg").read_bytes(), actor="tech",
        entry=EntryInput(reference="STAFF-7", category="blue", source="volunteer",
                         reason="blue list", list="blue"))
    assert blue.ok and blue.entry_id
    entries = await gov.watchlists.entries(dep.id)
    assert sorted(e.reference for e in entries) == ["ALEX", "BIDEN", "LIN", "OBAMA", "STAFF-7"]
    templates = await gov.watchlists.templates(dep.id)
    assert len(templates) == 6 and all(t.embedding.shape == (engine.dim,) for t in templates)
    # R24: nothing personal in clear in the file
    raw = _file_bytes(db)
    photo_head = (pd / "obama.jpg").read_bytes()[:64]
    assert b"OBAMA" not in raw and SOURCE.encode() not in raw and photo_head not in raw

    await gov.deployments.authorise(dep.id, "Supt A")
    with pytest.raises(TransitionRefused, match="not been reviewed"):
        clock.set(START)
        await gov.deployments.go_live(dep.id, "operator")
    # R9: a review older than 48 hours is stale
    clock.set(START - timedelta(hours=48, minutes=1))
    await gov.watchlists.review(dep.id, "Insp Reviewer")
    clock.set(START)
    with pytest.raises(TransitionRefused, match="older than 48 hours"):
        await gov.deployments.go_live(dep.id, "operator")
    # R9: a change after the review makes it stale too
    clock.set(START - timedelta(hours=1))
    await gov.watchlists.review(dep.id, "Insp Reviewer")
    extra = await gov.watchlists.enrol(dep.id, engine, (examples / "biden2.jpg").read_bytes(),
                                       actor="tech", entry=_watch("EXTRA"))
    assert extra.ok and extra.entry_id
    await gov.watchlists.remove_entry(extra.entry_id, "tech")
    clock.set(START)
    with pytest.raises(TransitionRefused, match="changed since"):
        await gov.deployments.go_live(dep.id, "operator")
    clock.set(START - timedelta(minutes=30))
    await gov.watchlists.review(dep.id, "Insp Reviewer")
    with pytest.raises(TransitionRefused, match="before its window"):
        await gov.deployments.go_live(dep.id, "operator")
    clock.set(START)
    live = await gov.deployments.go_live(dep.id, "operator")
    assert live.state == "live" and live.live_at == START

    # candidates (R4), decisions (R5), outcomes (R7), a blue test event (R21)
    async def cand(entry: str) -> str:
        clock.advance(timedelta(minutes=5))
        a = await gov.alerts.create_candidate(dep.id, entry, "gate-1", 0.71, clock.now(),
                                              b"\xff\xd8face", b"\xff\xd8torso")
        return a.id

    arrest, fp, rejected, _never, nfa = (await cand(ids["obama"]), await cand(ids["biden"]),
                                        await cand(ids["lin"]), await cand(ids["obama"]),
                                        await cand(ids["biden"]))
    test_event = await cand(blue.entry_id)
    await gov.watchlists.record_blue_walk(dep.id, blue.entry_id, clock.now(), "tech")
    assert (await gov.alerts.get(test_event)).state == "test"
    for a in (arrest, fp, nfa):
        await gov.alerts.confirm(a, "operator")
    await gov.alerts.reject(rejected, "operator")
    with pytest.raises(TransitionRefused):
        await gov.alerts.confirm(test_event, "operator")
    assert (await gov.alerts.record_outcome(arrest, "arrested", "PC 1")).hold
    await gov.alerts.record_outcome(nfa, "not_stopped", "PC 2")
    notices = await gov.outbox.pending(0, 100)
    assert [n.alert_id for n in notices] == [arrest, fp, nfa]  # R5
    await gov.reports.record_face_counts(dep.id, "gate-1", clock.now(), 40, 6)
    images = await gov.alerts.images(arrest)
    assert (images.face, images.torso) == (b"\xff\xd8face", b"\xff\xd8torso")
    # the stored photo is the upload re-encoded (issue 12, finding 10), not its bytes
    assert images.watchlist_photo == reencode_upload((pd / "obama.jpg").read_bytes())

    clock.set(END)
    ended = await gov.deployments.end(dep.id, "operator")
    assert ended.ended_at == END
    # the false-positive outcome is recorded a day late: its 30 days run from then (R15)
    clock.set(END + timedelta(days=1))
    await gov.alerts.record_outcome(fp, "stopped_not_the_person", "PC 3")
    stats = await gov.reports.stats(dep.id)
    assert (stats.candidates, stats.confirmed, stats.rejected, stats.faces_seen) == (5, 3, 1, 40)
    assert stats.blue_detection_rate == 1.0
    # R19: the published statistics carry the audit head they were made at: an anchor
    assert stats.audit_head == (await gov.verify_audit()).head
    assert (await gov.verify_audit(Anchor.parse(stats.audit_head))).ok

    # day 1: the entry without alerts goes (R12); kept entries lose their templates
    report = await gov.retention.run()
    got = {(d.kind, d.count, d.rule) for d in report.disposals}
    assert got == {("watchlist_entry", 1, RULE_WATCHLIST), ("photo", 1, RULE_WATCHLIST),
                   ("template", 1, RULE_WATCHLIST), ("template", 5, RULE_TEMPLATES)}
    r = rows(db)
    assert (r["entries"], r["photos"], r["alerts"]) == (4, 5, 6)
    assert await gov.watchlists.templates(dep.id) == []

    # day 29: nothing more
    clock.set(END + timedelta(days=29))
    assert (await gov.retention.run(dry_run=True)).disposals == []
    assert (await gov.retention.run()).disposals == []
    # day 30 (inclusive): no-further-action alerts and blue events go (R13, R21)
    clock.set(END + timedelta(days=30))
    dry = await gov.retention.run(dry_run=True)
    assert rows(db)["alerts"] == 6  # a dry run changes nothing
    report = await gov.retention.run()
    assert {(d.kind, d.count, d.rule) for d in report.disposals} == \
        {(d.kind, d.count, d.rule) for d in dry.disposals}
    by_rule = {(d.kind, d.rule): d.count for d in report.disposals}
    assert by_rule[("alert", RULE_NFA)] == 3 and by_rule[("alert_image", RULE_NFA)] == 6
    assert by_rule[("watchlist_entry", RULE_WATCHLIST)] == 1  # lin
    assert by_rule[("bluelist_entry", RULE_WATCHLIST)] == 1
    assert by_rule[("blue_walk", RULE_WATCHLIST)] == 1
    left = {a.id for a in await gov.alerts.list_for(dep.id)}
    assert left == {arrest, fp}
    r = rows(db)
    assert (r["entries"], r["alerts"], r["outbox"], r["blue_walks"]) == (2, 2, 2, 0)
    assert r["blobs"] == 2 + 3 + 4  # two details, three photos, two alerts' two images
    # day 31: the false-positive stop goes (R15), with its entry (R12)
    clock.set(END + timedelta(days=31))
    report = await gov.retention.run()
    assert {(d.kind, d.count, d.rule) for d in report.disposals if d.kind == "alert"} == \
        {("alert", 1, RULE_FP)}
    assert {a.id for a in await gov.alerts.list_for(dep.id)} == {arrest}
    assert (key_dir / f"{dep.id}.key").is_file()
    # the arrest stays on hold (R14) until released; then the normal rule applies
    clock.set(END + timedelta(days=90))
    assert (await gov.retention.run()).disposals == []
    await gov.alerts.release(arrest, "Supt A")
    report = await gov.retention.run()
    kinds = {(d.kind, d.rule) for d in report.disposals}
    assert ("alert", RULE_RELEASED) in kinds and ("data_key", RULE_KEY) in kinds
    assert not (key_dir / f"{dep.id}.key").exists()
    r = rows(db)
    assert (r["entries"], r["photos"], r["alerts"], r["blobs"], r["outbox"]) == (0, 0, 0, 0, 0)
    assert r["deployments"] == 1 and r["face_counts"] == 1  # non-personal records stay

    # R17: every deletion left a disposal record without personal data
    async with gov.store.transaction() as tx:
        records = await tx.disposals.all(dep.id)
    assert sum(d.count for d in records if d.kind == "alert") == 6
    assert all(set(d.__struct_fields__) == {"at", "deployment_id", "kind", "count", "rule",
                                           "actor"} for d in records)
    assert (await gov.verify_audit()).ok
