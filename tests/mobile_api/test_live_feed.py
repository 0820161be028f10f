"""The live feed is one subscriber of the domain's post-commit events (R4, R5, R21): what
each event becomes on the SSE bus (the wire format the PWA reads), and the setting that
bounds how late another process's commits arrive."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from kernel.config import load
from kernel.domain.events import (
    AlertDecided,
    CandidateRaised,
    DeploymentChanged,
    DomainEvent,
    EntryChanged,
    HoldChanged,
    OutcomeRecorded,
)
from kernel.errors import ConfigError
from kernel.events import Event, EventBus
from mobile_api.live_feed import announce
from mobile_api.roles import FEED_TOPICS

T = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _drain(sub: object) -> list[Event]:
    queue = sub.queue  # type: ignore[attr-defined]
    return [queue.get_nowait() for _ in range(queue.qsize())]


def _raised(alert: str, blue: bool = False) -> CandidateRaised:
    return CandidateRaised(seq=1, at=T, alert_id=alert, deployment_id="d", entry_id="e",
                           list="blue" if blue else "watch",
                           category="blue" if blue else "wanted", camera_id="gate-1",
                           score=0.912345, captured_at=T)


def _decided(alert: str, state: str) -> AlertDecided:
    return AlertDecided(seq=2, at=T, alert_id=alert, deployment_id="d",
                        state=state, actor="operator", category="wanted",  # type: ignore[arg-type]
                        camera_id="gate-1", decided_at=T)


def test_r5_unconfirmed_alert_never_reaches_an_officer_feed() -> None:
    """R5, R21: of a candidate, a blue-list test event, a rejection, an outcome, a hold, an
    entry and a deployment change, an officer's feed hears nothing; of a confirmation, one
    ``alert``. The operator hears candidate, test and both decisions."""
    bus = EventBus(buffer=50, queue=50)
    officer = bus.subscribe(FEED_TOPICS["officer"])
    operator = bus.subscribe(FEED_TOPICS["operator"])
    technical = bus.subscribe(FEED_TOPICS["technical"])
    quiet: list[DomainEvent] = [
        _raised("cand"), _raised("blue", blue=True), _decided("rej", "rejected"),
        OutcomeRecorded(seq=3, at=T, alert_id="ok", deployment_id="d", outcome="arrested",
                        actor="pc", legal_hold=True),
        HoldChanged(seq=4, at=T, alert_id="ok", deployment_id="d", hold=True, actor="cmd"),
        EntryChanged(seq=5, at=T, entry_id="e", deployment_id="d", list="watch",
                     change="enrolled", actor="tech"),
        DeploymentChanged(seq=6, at=T, deployment_id="d", state="live", actor="cmd")]
    for event in quiet:
        announce(bus, event)
    assert _drain(officer) == []
    announce(bus, _decided("ok", "confirmed"))
    got = _drain(officer)
    assert [(e.kind, e.data["alert_id"]) for e in got] == [("alert", "ok")]
    assert [(e.kind, e.data["alert_id"]) for e in _drain(operator)] == [
        ("candidate", "cand"), ("test", "blue"), ("decision", "rej"), ("decision", "ok")]
    assert [e.kind for e in _drain(technical)] == ["test"]


def test_feed_wire_format_is_unchanged() -> None:
    """The data of each SSE kind, exactly as the PWA has always read it."""
    bus = EventBus(buffer=50, queue=50)
    everyone = bus.subscribe({"candidate", "test", "decision", "alert"})
    announce(bus, _raised("c"))
    announce(bus, _decided("c", "confirmed"))
    got = {e.kind: e.data for e in _drain(everyone)}
    assert got["candidate"] == {"alert_id": "c", "deployment_id": "d", "category": "wanted",
                                "camera_id": "gate-1", "score": 0.9123,
                                "captured_at": T.isoformat()}
    assert got["decision"] == {"alert_id": "c", "deployment_id": "d", "state": "confirmed",
                               "decided_by": "operator"}
    assert got["alert"] == {"alert_id": "c", "deployment_id": "d", "category": "wanted",
                            "camera_id": "gate-1", "confirmed_at": T.isoformat()}


@pytest.mark.parametrize("bad", ["0", "-0.5", "3600"])
def test_feed_poll_must_be_a_short_positive_interval(tmp_path: Path, bad: str) -> None:
    """Hostile: ``feed_poll_s`` of 0 (a busy loop), negative or an hour (cross-process
    events that never seem to come) is refused at load, naming the key."""
    path = tmp_path / "c.toml"
    path.write_text(f'data_dir = "var"\n[[services]]\ntype = "http"\nfeed_poll_s = {bad}\n')
    with pytest.raises(ConfigError, match=r"services\[0\]\.feed_poll_s"):
        load(path, environ={})
