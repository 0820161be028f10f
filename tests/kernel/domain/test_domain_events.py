"""The one post-commit event path (kernel/domain/events.py): what an event may carry (R3, R6),
persist before announce, a failing subscriber never undoes a commit, and another process's
commits are followed once each."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, get_args

import msgspec
import pytest

from adapters.store.sqlite_repositories.audit import SqliteAudit
from kernel.clock import ManualClock
from kernel.domain import events as ev
from kernel.domain.errors import TransitionRefused
from kernel.domain.events import (
    EVENT_TYPES,
    AlertDecided,
    CandidateRaised,
    DeploymentChanged,
    DomainEvent,
    EntryChanged,
    HoldChanged,
    OutcomeRecorded,
)
from kernel.domain.governance import Governance
from kernel.domain.records import AuditRecord
from tests.kernel.domain.conftest import open_governance_at
from tests.kernel.domain.test_governance_safeguards import _live
from tests.waiting import until

# A field whose name says it holds a face, an image, a template, a person's name or details.
PERSONAL = re.compile(r"name|face|photo|image|jpeg|torso|crop|template|embedding|vector|blob|"
                      r"biometric|reference|details|source|reason|person|frame", re.I)
SCALARS = (msgspec.inspect.StrType, msgspec.inspect.IntType, msgspec.inspect.FloatType,
           msgspec.inspect.BoolType, msgspec.inspect.DateTimeType,
           msgspec.inspect.LiteralType)


def carries_only_ids_and_facts(event_type: type[Any]) -> list[str]:
    """What is wrong with an event type: fields whose name or type could carry biometric or
    personal data (bytes, arrays, free-form containers, Any)."""
    info = msgspec.inspect.type_info(event_type)
    assert isinstance(info, msgspec.inspect.StructType)
    wrong = []
    for f in info.fields:
        if PERSONAL.search(f.name):
            wrong.append(f"{f.name}: its name says personal or biometric data")
        kinds = f.type.types if isinstance(f.type, msgspec.inspect.UnionType) else (f.type,)
        if not all(isinstance(k, SCALARS) for k in kinds):
            wrong.append(f"{f.name}: {f.type!r} could carry more than an id or a fact")
    return wrong


def test_r3_r6_an_event_carries_ids_and_non_personal_facts_only() -> None:
    """R3, R6: no event type has a field for an image, a template, a name or personal
    details, nor any bytes, array or free-form field; a score exists only on a raised
    candidate (a match: a face that matched nothing never has an event)."""
    assert set(get_args(DomainEvent)) == set(EVENT_TYPES)
    assert set(EVENT_TYPES) == set(ev._Event.__subclasses__())  # a new kind is checked too
    for event_type in EVENT_TYPES:
        assert carries_only_ids_and_facts(event_type) == [], event_type.__name__
    with_score = [t for t in EVENT_TYPES if "score" in t.__struct_fields__]
    assert with_score == [CandidateRaised]


def test_the_guard_refuses_an_event_that_could_carry_biometric_data() -> None:
    """Hostile: the check above does catch a face crop, a template or a name."""
    class Leaky(ev._Event, frozen=True, kw_only=True, tag="leaky"):
        alert_id: str
        face_jpeg: bytes
        template: list[float]
        subject_name: str
        extra: dict[str, Any]

    wrong = carries_only_ids_and_facts(Leaky)
    assert [w.split(":")[0] for w in wrong] == ["face_jpeg", "face_jpeg", "template",
                                                 "template", "subject_name", "extra"]


def test_every_event_crosses_a_process_boundary_unchanged() -> None:
    """Serialisable: JSON out, the tagged union back in, equal."""
    t = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    samples: list[DomainEvent] = [
        CandidateRaised(seq=1, at=t, alert_id="a", deployment_id="d", entry_id="e",
                        list="watch", category="wanted", camera_id="c", score=0.97,
                        captured_at=t),
        AlertDecided(seq=2, at=t, alert_id="a", deployment_id="d", state="confirmed",
                     actor="op", category="wanted", camera_id="c", decided_at=t),
        OutcomeRecorded(seq=3, at=t, alert_id="a", deployment_id="d", outcome="arrested",
                        actor="pc", legal_hold=True),
        HoldChanged(seq=4, at=t, alert_id="a", deployment_id="d", hold=False, actor="cmd"),
        EntryChanged(seq=5, at=t, entry_id="e", deployment_id="d", list="blue",
                     change="removed", actor="tech"),
        DeploymentChanged(seq=6, at=t, deployment_id="d", state="live", actor="cmd")]
    assert {type(s) for s in samples} == set(EVENT_TYPES)
    for sample in samples:
        assert msgspec.json.decode(msgspec.json.encode(sample), type=DomainEvent) == sample


def _committed(db: Path, sql: str, *args: str) -> list[tuple[Any, ...]]:
    """What another connection sees: committed rows only."""
    con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


async def test_r5_an_event_is_published_only_after_its_commit(gov: Governance,
                                                               clock: ManualClock,
                                                               tmp_path: Path) -> None:
    """Persist before announce: when a subscriber hears of a candidate, a confirmation (with
    its outbox row), an outcome or a state change, another connection already reads it
    committed; a refused change publishes nothing."""
    db = tmp_path / "pinchpoint.db"
    seen: list[tuple[str, list[tuple[Any, ...]]]] = []

    def check(event: DomainEvent) -> None:
        if isinstance(event, CandidateRaised | AlertDecided | OutcomeRecorded):
            seen.append((type(event).__name__, _committed(
                db, "SELECT a.state, a.outcome, count(o.seq) FROM alerts a LEFT JOIN outbox o"
                    " ON o.alert_id = a.id WHERE a.id = ? GROUP BY a.id", event.alert_id)))
        elif isinstance(event, DeploymentChanged):
            seen.append((event.state, _committed(
                db, "SELECT state FROM deployments WHERE id = ?", event.deployment_id)))

    gov.events.subscribe(check)
    dep, ids = await _live(gov, clock)
    assert ("live", [("live",)]) in seen
    seen.clear()
    alert = await gov.alerts.create_candidate(dep, ids["a"], "cam", 0.93, clock.now(),
                                              b"f", b"t")
    await gov.alerts.confirm(alert.id, "op")
    await gov.alerts.record_outcome(alert.id, "not_stopped", "pc")
    assert seen == [("CandidateRaised", [("candidate", None, 0)]),
                    ("AlertDecided", [("confirmed", None, 1)]),
                    ("OutcomeRecorded", [("confirmed", "not_stopped", 1)])]
    seen.clear()
    with pytest.raises(TransitionRefused):
        await gov.alerts.confirm(alert.id, "op")  # already confirmed: refused, nothing said
    with pytest.raises(TransitionRefused):
        await gov.deployments.authorise(dep, "cmd")
    assert seen == []


async def test_r5_a_rolled_back_commit_publishes_nothing(gov: Governance, clock: ManualClock,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """A transaction that fails after its audit row was written publishes no event."""
    dep, ids = await _live(gov, clock)
    alert = await gov.alerts.create_candidate(dep, ids["a"], "cam", 0.93, clock.now(),
                                              b"f", b"t")
    heard: list[DomainEvent] = []
    gov.events.subscribe(heard.append)

    real = SqliteAudit.insert

    async def refuse(self: SqliteAudit, rec: AuditRecord) -> None:
        if rec.action == "alert.reject_reason":  # after the rejection's own row was written
            raise RuntimeError("disk full")
        await real(self, rec)

    monkeypatch.setattr(SqliteAudit, "insert", refuse)
    with pytest.raises(RuntimeError, match="disk full"):
        await gov.alerts.reject(alert.id, "op", "poor_image")
    assert heard == []
    assert (await gov.alerts.get(alert.id)).state == "candidate"
    monkeypatch.undo()
    await gov.alerts.reject(alert.id, "op", "poor_image")
    assert [type(e) for e in heard] == [AlertDecided]


async def test_a_failing_subscriber_never_fails_or_undoes_the_commit(
        gov: Governance, clock: ManualClock, tmp_path: Path) -> None:
    """A subscriber that raises is logged and counted; the caller's confirmation returns,
    stays committed with its outbox row, and the next subscriber still hears."""
    dep, ids = await _live(gov, clock)
    alert = await gov.alerts.create_candidate(dep, ids["a"], "cam", 0.93, clock.now(),
                                              b"f", b"t")

    def broken(event: DomainEvent) -> None:
        raise ValueError("subscriber bug")

    heard: list[DomainEvent] = []
    gov.events.subscribe(broken)
    gov.events.subscribe(heard.append)
    rec = await gov.alerts.confirm(alert.id, "op")
    assert rec.state == "confirmed"
    assert _committed(tmp_path / "pinchpoint.db", "SELECT a.state, o.alert_id FROM alerts a"
                      " JOIN outbox o ON o.alert_id = a.id WHERE a.id = ?", alert.id) == [
        ("confirmed", alert.id)]
    assert [type(e) for e in heard] == [AlertDecided] and gov.events.failures == 1


async def test_commits_of_another_process_are_followed_once_each(
        gov: Governance, clock: ManualClock, tmp_path: Path) -> None:
    """Another connection to the same database (another process: the CLI) commits; a
    follower hears the same events the committer published, once each, in order; its own
    commits are not heard a second time; what was committed before it followed is not
    replayed."""
    dep, ids = await _live(gov, clock)
    before = await gov.alerts.create_candidate(dep, ids["a"], "cam", 0.9, clock.now(),
                                               b"f", b"t")
    other = await open_governance_at(tmp_path, clock)
    try:
        published: list[DomainEvent] = []
        other.events.subscribe(published.append)
        heard: list[DomainEvent] = []
        gov.events.subscribe(heard.append)
        async with gov.events.follow(gov.store, 0.02), gov.events.follow(gov.store, 0.02):
            assert gov.events._follower is not None  # one poll for both
            mine = await gov.alerts.create_candidate(dep, ids["b"], "cam", 0.91, clock.now(),
                                                     b"f", b"t")
            # captured after the episode window: an alert of its own (issue 15)
            theirs = await other.alerts.create_candidate(
                dep, ids["a"], "cam-2", 0.95, clock.now() + timedelta(minutes=10), b"f", b"t")
            await other.alerts.confirm(theirs.id, "cli")
            await other.alerts.reject(before.id, "cli", "poor_image")
            await until(lambda: len(heard) >= 4, what="the other process's three events")
            await gov.alerts.hold(theirs.id, "cmd")
            await until(lambda: len(heard) >= 5)
        assert heard[1:4] == published  # the same events, seq included
        assert [type(e) for e in heard] == [CandidateRaised, CandidateRaised, AlertDecided,
                                            AlertDecided, HoldChanged]
        assert isinstance(heard[0], CandidateRaised) and heard[0].alert_id == mine.id
        assert all(getattr(e, "alert_id", "") != before.id or isinstance(e, AlertDecided)
                   for e in heard)  # committed before following: not replayed
        assert gov.events._follower is None  # the last follower stopped the poll
        assert len(heard) == 5  # nothing twice
    finally:
        await other.close()


async def test_follow_refuses_a_non_positive_interval(gov: Governance) -> None:
    """Hostile: an interval of 0 (a busy loop) or below is refused."""
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="positive"):
            async with gov.events.follow(gov.store, bad):
                pass
