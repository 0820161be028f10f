"""Safeguards of the governed core without the face engine: wipe (R16, R24), audit chain (R19),
outbox only for confirmed alerts (R5, R21), no stored face without a match (R3), and the
enrolment function's storing and rejection recording (R10, unit test with an in-test engine)."""

from __future__ import annotations

import io
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

from adapters.store.sqlite import SqliteTx
from kernel.clock import ManualClock
from kernel.domain.crypto import KeyRing
from kernel.domain.deployments import DeploymentDraft
from kernel.domain.errors import DomainError, KeyUnavailable, NotFound
from kernel.domain.governance import Governance
from kernel.domain.records import BlobRecord, UserRecord
from kernel.domain.watchlists import EntryInput
from kernel.errors import StoreError
from kernel.protocols.engine import Enrolment, FaceFound, Quality, Rejection
from tests.kernel.domain.conftest import TABLES, rows

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


PNG_END = b"IEND\xaeB`\x82"


def photo(script: bytes) -> bytes:
    """A real 8 × 8 PNG with the in-test engine's script appended after its end: the domain
    stores a re-encoded copy of each enrolled photo, so one it keeps must decode (and the
    re-encoding drops the script, as it drops every byte after an image)."""
    buf = io.BytesIO()
    PILImage.new("RGB", (8, 8), (120, 90, 60)).save(buf, "PNG")
    return buf.getvalue() + script


class _OneFunctionEngine:
    """Stands in for FaceEngine.enrol in the unit test of WatchLists.enrol only: its script
    is the bytes (or what follows a :func:`photo`'s PNG)."""

    model_id = "unit"
    dim = 4

    async def enrol(self, data: bytes) -> Enrolment:
        data = data.split(PNG_END, 1)[-1]
        if data.startswith(b"BAD:"):
            reason = Rejection(data[4:].decode())
            return Enrolment(rejection=reason, message=f"refused: {reason}")
        if data.startswith(b"SOFT:"):  # a soft refusal carries its template and cost
            reason = Rejection(data[5:].decode())
            return Enrolment(rejection=reason, message=f"refused: {reason}",
                             embedding=np.ones(4, np.float32) / 2,
                             quality=Quality(face_px=30, sharpness=0.1, yaw=5, pitch=1,
                                             score=0.9, reasons=(reason,)),
                             found=FaceFound.PADDED, cost="Costs 5 points of TPIR.")
        emb = np.frombuffer(data[:16].ljust(16, b"\0"), dtype=np.float32).copy()
        return Enrolment(rejection=None, message="Enrolled.", embedding=emb,
                         quality=Quality(face_px=100, sharpness=50, yaw=0, pitch=0, score=0.9))


async def _live(gov: Governance, clock: ManualClock) -> tuple[str, dict[str, str]]:
    """A live deployment with two watch-list entries and one blue entry."""
    dep = await gov.deployments.create(DeploymentDraft(
        name="Op", authorising_officer="Supt", location="Here", starts_at=START,
        ends_at=START + timedelta(hours=8), objectives="o", case_reference="C",
        command_team=["Gold"]), "cmd")
    engine: Any = _OneFunctionEngine()
    ids = {}
    for name, kind in (("a", "watch"), ("b", "watch"), ("blue", "blue")):
        res = await gov.watchlists.enrol(dep.id, engine, photo(name.encode() * 8), actor="tech",
                                         entry=EntryInput(reference=name, source="s", reason="r",
                                                          category="blue" if kind == "blue"
                                                          else "wanted", list=kind))  # type: ignore[arg-type]
        assert res.entry_id
        ids[name] = res.entry_id
    await gov.deployments.authorise(dep.id, "Supt")
    await gov.watchlists.review(dep.id, "Insp")
    clock.set(START)
    await gov.deployments.go_live(dep.id, "op")
    return dep.id, ids


async def test_enrol_stores_and_records_rejections(gov: Governance, tmp_path: Path) -> None:
    """R10: a rejection stores nothing and is audited with its reason; a success stores the
    encrypted details, photo and template and bumps the list version (R9)."""
    dep = await gov.deployments.create(DeploymentDraft(
        name="Op", authorising_officer="Supt", location="Here", starts_at=START,
        ends_at=START + timedelta(hours=8), objectives="o", case_reference="C",
        command_team=[]), "cmd")
    engine: Any = _OneFunctionEngine()
    entry = EntryInput(reference="R1", category="wanted", source="s", reason="r")
    res = await gov.watchlists.enrol(dep.id, engine, b"BAD:blurred", actor="t", entry=entry)
    assert (res.ok, res.rejection) == (False, "blurred")
    assert rows(tmp_path / "pinchpoint.db")["blobs"] == 0
    async with gov.store.transaction() as tx:
        last = await tx.audit.last()
    assert last is not None and last.action == "watchlist.enrol_rejected"
    assert last.details == {"reason": "blurred", "list": "watch", "gates": [],
                            "acceptable": False, "accept_refused": False}
    res = await gov.watchlists.enrol(dep.id, engine, photo(b"good" * 4), actor="t",
                                     entry=entry)
    assert res.ok and res.entry_id
    r = rows(tmp_path / "pinchpoint.db")
    assert (r["entries"], r["photos"], r["blobs"]) == (1, 1, 3)
    assert (await gov.deployments.get(dep.id)).watchlist_version == 1
    [t] = await gov.watchlists.templates(dep.id)
    assert t.embedding.tobytes() == b"good" * 4


async def _draft(gov: Governance) -> str:
    dep = await gov.deployments.create(DeploymentDraft(
        name="Op", authorising_officer="Supt", location="Here", starts_at=START,
        ends_at=START + timedelta(hours=8), objectives="o", case_reference="C",
        command_team=[]), "cmd")
    return dep.id


async def _audit_rows(gov: Governance) -> list[Any]:
    async with gov.store.transaction() as tx:
        return await tx.audit.page(0, 1000)


async def test_r10_r19_soft_refusal_accepted_with_reason(gov: Governance,
                                                         tmp_path: Path) -> None:
    """R10, R19: a soft refusal is refused with its cost until the enroller accepts it with a
    reason; then it is enrolled, the photo records the gates and the reason, and
    ``watchlist.enrol_accepted_below_gate`` is audited with both."""
    dep = await _draft(gov)
    engine: Any = _OneFunctionEngine()
    entry = EntryInput(reference="R1", category="wanted", source="s", reason="r")
    refused = await gov.watchlists.enrol(dep, engine, b"SOFT:too_small", actor="t", entry=entry)
    assert not refused.ok and refused.acceptable and refused.rejection == "too_small"
    assert refused.gates == ("too_small",) and refused.measurements["face_px"] == 30
    assert "Costs 5 points of TPIR." in refused.message and refused.cost
    assert rows(tmp_path / "pinchpoint.db")["photos"] == 0
    res = await gov.watchlists.enrol(dep, engine, photo(b"SOFT:too_small"), actor="t",
                                     entry=entry, accept_reason="  the only custody photo held  ")
    assert res.ok and res.accepted and res.entry_id and res.found == "padded"
    [e] = await gov.watchlists.entries(dep)
    assert e.photos == 1
    [gate] = e.photo_gates
    assert gate.below_gate == ("too_small",)
    assert gate.accept_reason == "the only custody photo held"
    assert gate.found == "padded"
    assert len(await gov.watchlists.templates(dep)) == 1
    audit_rows = await _audit_rows(gov)
    [accepted] = [r for r in audit_rows if r.action == "watchlist.enrol_accepted_below_gate"]
    assert accepted.details["gates"] == ["too_small"]
    assert accepted.details["accept_reason"] == "the only custody photo held"
    assert accepted.subjects == {"deployment": dep, "entry": res.entry_id}
    assert (await gov.verify_audit()).ok


async def test_r10_hard_refusal_cannot_be_accepted(gov: Governance, tmp_path: Path) -> None:
    """R10: no accept reason enrols a photo with no usable face; the refusal says so."""
    dep = await _draft(gov)
    engine: Any = _OneFunctionEngine()
    entry = EntryInput(reference="R1", category="wanted", source="s", reason="r")
    for reason in ("no_face", "several_faces", "not_an_image", "too_large"):
        res = await gov.watchlists.enrol(dep, engine, f"BAD:{reason}".encode(), actor="t",
                                         entry=entry, accept_reason="please")
        assert not res.ok and not res.acceptable and res.rejection == reason
        assert "cannot be accepted" in res.message
    assert rows(tmp_path / "pinchpoint.db")["photos"] == 0
    last = (await _audit_rows(gov))[-1]
    assert last.action == "watchlist.enrol_rejected" and last.details["accept_refused"] is True


@pytest.mark.parametrize("reason", ["", "   ", "x" * 10_000, "a\x00b"])
async def test_r10_accept_reason_is_validated(gov: Governance, reason: str) -> None:
    """R10: an empty, blank, over-long or control-character accept reason is refused before
    the engine looks at the photo."""
    dep = await _draft(gov)
    entry = EntryInput(reference="R1", category="wanted", source="s", reason="r")
    with pytest.raises(DomainError, match="accept reason"):
        await gov.watchlists.enrol(dep, _OneFunctionEngine(), b"SOFT:blurred",  # type: ignore[arg-type]
                                   actor="t", entry=entry, accept_reason=reason)


async def test_r8_r19_entry_with_two_photos(gov: Governance) -> None:
    """R8, R19: a second photo is added to an existing entry: both templates reach the
    matcher, the entry counts two photos, the audit log says ``new_entry: false``."""
    dep = await _draft(gov)
    engine: Any = _OneFunctionEngine()
    entry = EntryInput(reference="R1", category="wanted", source="s", reason="r")
    first = await gov.watchlists.enrol(dep, engine, photo(b"first photo 0001"), actor="t",
                                       entry=entry)
    assert first.ok and first.new_entry and first.entry_id
    second = await gov.watchlists.enrol(dep, engine, photo(b"second photo 002"), actor="t",
                                        entry_id=first.entry_id)
    assert second.ok and not second.new_entry and second.entry_id == first.entry_id
    templates = await gov.watchlists.templates(dep)
    assert sorted(t.key for t in templates) == sorted([first.key, second.key])
    assert {t.entry_id for t in templates} == {first.entry_id}
    assert {t.embedding.tobytes() for t in templates} == {b"first photo 0001",
                                                          b"second photo 002"}
    [e] = await gov.watchlists.entries(dep)
    assert e.photos == 2 and len(e.photo_gates) == 2
    enrols = [r for r in await _audit_rows(gov) if r.action == "watchlist.enrol"]
    assert [(r.details["new_entry"], r.details["photos"]) for r in enrols] == [(True, 1),
                                                                              (False, 2)]


async def test_wipe_leaves_nothing_readable(gov: Governance, clock: ManualClock,
                                            tmp_path: Path) -> None:
    """R16, R24: wipe removes every row, blob and the key; a copy of the database taken
    before the wipe can no longer be decrypted."""
    dep_id, ids = await _live(gov, clock)
    other_id, _ = await _live(gov, clock)
    alert = await gov.alerts.create_candidate(dep_id, ids["a"], "cam", 0.8, clock.now(),
                                              b"FACE", b"TORSO")
    await gov.alerts.confirm(alert.id, "op")
    await gov.reports.record_face_counts(dep_id, "cam", clock.now(), 10, 1)
    await gov.store.compact()
    db = tmp_path / "pinchpoint.db"
    copy = tmp_path / "before-wipe.db"
    shutil.copyfile(db, copy)

    records = await gov.retention.wipe(dep_id, "admin")
    assert {r.kind for r in records} >= {"alert", "entry", "photo", "blob", "data_key",
                                         "deployment"}
    con = sqlite3.connect(db)
    try:
        for table in TABLES:
            if table in ("audit", "disposals", "sink_positions"):
                continue
            col = "id" if table == "deployments" else "deployment_id"
            n = con.execute(f"SELECT count(*) FROM {table} WHERE {col}=?", (dep_id,)).fetchone()
            assert n[0] == 0, table
        assert con.execute("SELECT count(*) FROM deployments").fetchone()[0] == 1  # the other
    finally:
        con.close()
    assert not (tmp_path / "keys" / "deployments" / f"{dep_id}.key").exists()
    assert (tmp_path / "keys" / "deployments" / f"{other_id}.key").exists()
    assert b"FACE" not in db.read_bytes()

    # the old copy still holds ciphertext, but no key opens it any more
    con = sqlite3.connect(copy)
    try:
        blobs = con.execute("SELECT id, deployment_id, kind, nonce, ciphertext FROM blobs "
                            "WHERE deployment_id=?", (dep_id,)).fetchall()
    finally:
        con.close()
    assert blobs
    fresh = KeyRing(tmp_path, environ={})  # no cache: only what is on disk
    for b in blobs:
        with pytest.raises(KeyUnavailable, match="destroyed"):
            await fresh.unseal(BlobRecord(id=b[0], deployment_id=b[1], kind=b[2], nonce=b[3],
                                          ciphertext=b[4]))
    with pytest.raises(NotFound):
        await gov.deployments.get(dep_id)
    assert (await gov.verify_audit()).ok


async def test_audit_verify_names_first_bad_row(gov: Governance, clock: ManualClock,
                                                tmp_path: Path) -> None:
    """R19: edits, deletions and swaps made directly in SQLite are found, first bad seq named."""
    await _live(gov, clock)
    report = await gov.verify_audit()
    assert report.ok and report.rows >= 7 and report.first_bad_seq is None
    await gov.close()
    db = tmp_path / "pinchpoint.db"
    pristine = tmp_path / "pristine.db"
    shutil.copyfile(db, pristine)

    async def check(sql: str, params: tuple[Any, ...], bad: int, words: str) -> None:
        shutil.copyfile(pristine, db)
        con = sqlite3.connect(db)
        con.execute(sql, params)
        con.commit()
        con.close()
        from tests.kernel.domain.conftest import open_governance_at
        g = await open_governance_at(tmp_path, clock)
        try:
            rep = await g.verify_audit()
        finally:
            await g.close()
        assert (rep.ok, rep.first_bad_seq) == (False, bad), rep.message
        assert words in rep.message

    await check("UPDATE audit SET actor='mallory' WHERE seq=3", (), 3, "edited")
    await check("UPDATE audit SET details='{}' WHERE seq=5", (), 5, "edited")
    await check("DELETE FROM audit WHERE seq=4", (), 4, "missing")
    swap = ("UPDATE audit SET at=(SELECT at FROM audit WHERE seq=7), "
            "actor=(SELECT actor FROM audit WHERE seq=7), "
            "action=(SELECT action FROM audit WHERE seq=7), "
            "subjects=(SELECT subjects FROM audit WHERE seq=7), "
            "details=(SELECT details FROM audit WHERE seq=7), "
            "prev_hash=(SELECT prev_hash FROM audit WHERE seq=7), "
            "hash=(SELECT hash FROM audit WHERE seq=7) WHERE seq=6")
    await check(swap, (), 6, "audit row 6")


async def test_outbox_only_confirmed_watch_alerts(gov: Governance, clock: ManualClock) -> None:
    """R5, R21: candidates, rejected alerts and blue-list events never enter the outbox,
    neither through the domain nor by a direct store call."""
    dep_id, ids = await _live(gov, clock)
    cand = await gov.alerts.create_candidate(dep_id, ids["a"], "cam", 0.8, clock.now(),
                                             b"f", b"t")
    rej = await gov.alerts.create_candidate(dep_id, ids["b"], "cam", 0.8, clock.now(),
                                            b"f", b"t")
    await gov.alerts.reject(rej.id, "op")
    blue = await gov.alerts.create_candidate(dep_id, ids["blue"], "cam", 0.8, clock.now(),
                                             b"f", b"t")
    assert blue.state == "test"
    for alert_id in (cand.id, rej.id, blue.id):
        with pytest.raises(StoreError, match="R5"):
            async with gov.store.transaction() as tx:
                await tx.outbox.insert(alert_id, clock.now())
    assert await gov.outbox.pending(0, 10) == []
    ok = await gov.alerts.create_candidate(dep_id, ids["a"], "cam", 0.9, clock.now(), b"f", b"t")
    await gov.alerts.confirm(ok.id, "op")
    [notice] = await gov.outbox.pending(0, 10)
    assert notice.alert_id == ok.id and notice.category == "wanted"
    await gov.outbox.ack("mqtt", notice.seq)
    assert await gov.outbox.position("mqtt") == notice.seq
    assert await gov.outbox.position("webpush") == 0


async def test_no_face_stored_without_a_match(gov: Governance, clock: ManualClock) -> None:
    """R3: create_candidate needs an entry of the same deployment; the store refuses too."""
    dep_id, ids = await _live(gov, clock)
    _other_id, other_ids = await _live(gov, clock)
    for entry in ("no-such-entry", other_ids["a"]):
        with pytest.raises(NotFound, match="R3"):
            await gov.alerts.create_candidate(dep_id, entry, "cam", 0.9, clock.now(),
                                              b"f", b"t")
    async with gov.store.transaction() as tx:
        assert await tx.alerts.in_deployment(dep_id) == []
    # below the domain, the composite foreign key refuses the same
    good = await gov.alerts.create_candidate(dep_id, ids["a"], "cam", 0.9, clock.now(),
                                             b"f", b"t")
    forged = type(good)(**{f: getattr(good, f) for f in good.__struct_fields__})
    forged.id, forged.entry_id = "forged", other_ids["a"]
    with pytest.raises(StoreError, match="not an entry"):
        async with gov.store.transaction() as tx:
            assert isinstance(tx, SqliteTx)
            await tx.alerts.insert(forged)
    # the only store methods that take images are blobs.insert (sealed, for an alert or an
    # entry) and the counts: nothing takes a raw crop or template
    async with gov.store.transaction() as tx:
        methods = [f"{name}.{m}" for name, repo in vars(tx).items() if not name.startswith("_")
                   for m in dir(repo) if not m.startswith("_")]
    assert sorted(m for m in methods if "face" in m or "template" in m) == [
        "statistics.add_face_counts", "statistics.face_counts", "watchlists.clear_template"]


async def _audit_actions(gov: Governance) -> list[tuple[str, dict[str, object]]]:
    async with gov.store.transaction() as tx:
        return [(r.action, r.details) for r in await tx.audit.page(0, 10_000)]


async def test_r5_officer_listing_never_shows_unconfirmed(gov: Governance,
                                                          clock: ManualClock) -> None:
    """R5: the domain, not a caller's query, decides what an officer sees: confirmed
    watch-list alerts only, in the list and one by one, whatever state or id is asked for."""
    dep_id, ids = await _live(gov, clock)
    other_id, other_ids = await _live(gov, clock)

    async def candidate(dep: str, entry: str) -> str:
        clock.advance(timedelta(minutes=10))  # apart by more than the episode window
        rec = await gov.alerts.create_candidate(dep, entry, "cam", 0.9, clock.now(),
                                                b"f", b"t")
        return rec.id

    confirmed, rejected, pending = [await candidate(dep_id, ids["a"]) for _ in range(3)]
    test_event = await candidate(dep_id, ids["blue"])
    elsewhere = await candidate(other_id, other_ids["b"])
    await gov.alerts.confirm(confirmed, "op")
    await gov.alerts.confirm(elsewhere, "op")
    await gov.alerts.reject(rejected, "op", "not_the_person")

    async def officer(deployment_id: str | None, state: Any = None) -> list[str]:
        return [a.id for a in await gov.alerts.listing_for("officer", deployment_id, state)]

    assert await officer(dep_id) == [confirmed]
    # hostile: an officer asking for candidates, rejections or test events gets confirmed ones
    for state in ("candidate", "rejected", "test"):
        assert await officer(dep_id, state) == [confirmed]
    assert sorted(await officer(None, "candidate")) == sorted([confirmed, elsewhere])
    for hidden in (pending, rejected, test_event):
        with pytest.raises(NotFound, match=f"no alert {hidden}"):
            await gov.alerts.get_for("officer", hidden)
    assert (await gov.alerts.get_for("officer", confirmed)).state == "confirmed"
    # the operator sees the whole watch list (never a blue-list test event here)
    operator = await gov.alerts.listing_for("operator", dep_id)
    assert sorted(a.id for a in operator) == sorted([confirmed, rejected, pending])
    assert [a.id for a in await gov.alerts.listing_for("operator", dep_id, "candidate")] == [
        pending]
    assert (await gov.alerts.get_for("operator", pending)).state == "candidate"
    assert [a.id for a in await gov.alerts.candidates(dep_id)] == [pending]
    assert [a.id for a in await gov.alerts.blue_test_events(dep_id)] == [test_event]


async def test_r5_reject_with_reason_is_one_transaction(gov: Governance, clock: ManualClock,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    """R5, R19: a rejection and its reason's audit row commit together: a failure writing
    the reason leaves the candidate undecided, and a refused rejection audits no reason."""
    dep_id, ids = await _live(gov, clock)
    alert = await gov.alerts.create_candidate(dep_id, ids["a"], "cam", 0.9, clock.now(),
                                              b"f", b"t")
    before = await _audit_actions(gov)

    from kernel.domain import audit
    real_append = audit.append

    async def failing_append(tx: Any, clk: Any, actor: str, action: str,
                             *args: Any) -> Any:
        if action == "alert.reject_reason":
            raise RuntimeError("disk full")
        return await real_append(tx, clk, actor, action, *args)

    monkeypatch.setattr(audit, "append", failing_append)
    with pytest.raises(RuntimeError, match="disk full"):
        await gov.alerts.reject(alert.id, "op", "not_the_person")
    monkeypatch.undo()
    assert (await gov.alerts.get(alert.id)).state == "candidate"
    assert await _audit_actions(gov) == before

    rec = await gov.alerts.reject(alert.id, "op", "not_the_person")
    assert rec.state == "rejected"
    after = await _audit_actions(gov)
    assert after[len(before):] == [("alert.reject", {"episode": alert.id}),
                                   ("alert.reject_reason", {"reason": "not_the_person"})]
    # hostile: rejecting it again (or a confirmed alert) is refused with no reason row
    confirmed = await gov.alerts.create_candidate(dep_id, ids["b"], "cam", 0.9, clock.now(),
                                                  b"f", b"t")
    await gov.alerts.confirm(confirmed.id, "op")
    marker = await _audit_actions(gov)
    for alert_id in (alert.id, confirmed.id):
        with pytest.raises(DomainError, match="only a candidate"):
            await gov.alerts.reject(alert_id, "op", "duplicate")
    assert await _audit_actions(gov) == marker
    assert (await gov.alerts.get(confirmed.id)).state == "confirmed"


async def test_r6_push_subscriptions_are_user_scoped_and_audited(gov: Governance,
                                                                 clock: ManualClock) -> None:
    """R6, R19: a device subscribes to a known deployment (or all), re-subscribing replaces
    it by endpoint; only its owner unsubscribes it; each change is audited, a refusal not."""
    dep_id, _ = await _live(gov, clock)
    async with gov.store.transaction() as tx:
        for name in ("ann", "bob"):
            await tx.accounts.insert(UserRecord(
                name=name, role="officer", password_hash="x", enabled=True,
                created_at=clock.now(), created_by="admin", password_changed_at=clock.now()))
    before = await _audit_actions(gov)
    with pytest.raises(NotFound, match="no deployment nope"):
        await gov.push.subscribe("ann", endpoint="https://push/1", p256dh="k", auth="a",
                                 device="tablet", deployment_id="nope")
    assert await _audit_actions(gov) == before
    rec = await gov.push.subscribe("ann", endpoint="https://push/1", p256dh="k", auth="a",
                                   device="tablet", deployment_id=dep_id)
    assert (rec.user, rec.deployment_id, rec.created_at) == ("ann", dep_id, clock.now())
    await gov.push.subscribe("ann", endpoint="https://push/1", p256dh="k2", auth="a2",
                             device="phone", deployment_id=None)
    async with gov.store.transaction() as tx:
        [only] = await tx.push.all()
    assert (only.device, only.deployment_id) == ("phone", None)
    assert not await gov.push.unsubscribe("https://push/1", "bob")  # not bob's
    assert await gov.push.unsubscribe("https://push/1", "ann")
    assert not await gov.push.unsubscribe("https://push/1", "ann")
    assert [a for a, _ in (await _audit_actions(gov))[len(before):]] == [
        "push.subscribe", "push.subscribe", "push.unsubscribe"]
