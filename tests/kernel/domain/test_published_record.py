"""Issue 15, the published deployment record (R20, R21, R22): a deployment driven through the
domain — created, enrolled, reviewed, live, candidates confirmed and rejected, outcomes, blue
walk-pasts, ended — gives a record whose CSV (``pinchpoint report stats --published --format
csv``) holds the numbers ``pinchpoint report stats`` prints, and which names no person and
holds no image."""

from __future__ import annotations

import base64
import csv
import io
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.engine.onnx import OnnxEngine
from kernel.clock import ManualClock
from kernel.domain.deployments import DeploymentDraft
from kernel.domain.governance import Governance
from kernel.domain.published import CSV_COLUMNS, CalibrationFigure, PublishedRecord, to_csv
from kernel.domain.watchlists import EntryInput
from kernel.executor import BoundedExecutor
from kernel.protocols.adapter import AdapterContext
from tests.cli_inprocess import pinchpoint

REPO = Path(__file__).resolve().parents[3]
FACES = REPO / "demo" / "faces"
MODELS = REPO / "var" / "models"
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
REFERENCES = ("WL-PUB-0001", "WL-PUB-0002", "STAFF-PUB-9")
OFFICERS = ("Supt. Quill", "Gold: Ch. Supt. Vane", "INT-CASE-5511")
CALIBRATION = CalibrationFigure(threshold=0.95, fpir=0.0008, faces=5000, source="test set")


@pytest.fixture
async def engine(clock: ManualClock) -> AsyncIterator[OnnxEngine]:
    if not (MODELS / "models.json").is_file():
        pytest.skip("models not built: run `pinchpoint models build` (var/models)")
    eng = OnnxEngine(OnnxEngine.Config(models_dir=str(MODELS)), AdapterContext(
        name="onnx", data_dir=MODELS.parent, executor=BoundedExecutor(1, 2), clock=clock,
        log=logging.getLogger("test.engine")))
    yield eng
    await eng.close()


async def _drive(gov: Governance, engine: OnnxEngine, clock: ManualClock) -> str:
    """Two watch entries (wanted, risk of harm) and a blue volunteer; live; 4 candidates: 3
    confirmed (arrested, false stop, no outcome yet), 1 rejected; 2 declared walks, 1 seen."""
    clock.set(START - timedelta(hours=1))
    dep = await gov.deployments.create(DeploymentDraft(
        name="Op Lantern", authorising_officer=OFFICERS[0], location="High St, north end",
        starts_at=START, ends_at=START + timedelta(hours=6), objectives="wanted persons",
        case_reference=OFFICERS[2], command_team=[OFFICERS[1]], match_threshold=0.95), "cmd")
    entries = []
    for photo, ref, category, kind in (("obama.jpg", REFERENCES[0], "wanted", "watch"),
                                       ("obama2.jpg", REFERENCES[1], "risk_of_harm", "watch"),
                                       ("biden.jpg", REFERENCES[2], "blue", "blue")):
        res = await gov.watchlists.enrol(dep.id, engine, (FACES / photo).read_bytes(),
                                         actor="tech", entry=EntryInput(
                                             reference=ref, category=category,  # type: ignore[arg-type]
                                             source="PNC", reason="warrant", list=kind))  # type: ignore[arg-type]
        assert res.ok and res.entry_id, res.message
        entries.append(res.entry_id)
    await gov.deployments.authorise(dep.id, "cmd")
    await gov.watchlists.review(dep.id, "insp")
    clock.set(START)
    await gov.deployments.go_live(dep.id, "cmd")
    face, torso = (FACES / "obama3.jpg").read_bytes(), (FACES / "obama2.jpg").read_bytes()
    # four people (each its own episode: apart by more than the window) ...
    alerts = [await gov.alerts.create_candidate(
        dep.id, entries[i % 2], "gate-1", 0.96, clock.now() + timedelta(minutes=10 * i), face,
        torso) for i in range(4)]
    for a in alerts[:3]:
        await gov.alerts.confirm(a.id, "op")
    await gov.alerts.reject(alerts[3].id, "op")
    # ... and sightings: the first person seen again twice (one update confirmed, one held),
    # the rejected one again (rejected with its episode)
    again = [await gov.alerts.create_candidate(dep.id, entries[0], "gate-2", 0.96,
                                               clock.now() + timedelta(seconds=s), face, torso)
             for s in (30, 60)]
    await gov.alerts.confirm(again[0].id, "op")
    await gov.alerts.create_candidate(dep.id, entries[1], "gate-2", 0.96,
                                      clock.now() + timedelta(minutes=30, seconds=20), face,
                                      torso)
    await gov.alerts.record_outcome(alerts[0].id, "arrested", "pc")
    await gov.alerts.record_outcome(alerts[1].id, "stopped_not_the_person", "pc")
    await gov.watchlists.record_blue_walk(dep.id, entries[2], clock.now(), "tech")
    await gov.alerts.create_candidate(dep.id, entries[2], "gate-1", 0.97,
                                      clock.now() + timedelta(seconds=20), face, torso)
    await gov.watchlists.record_blue_walk(dep.id, entries[2], clock.now() + timedelta(hours=1),
                                      "tech")
    await gov.reports.record_face_counts(dep.id, "gate-1", clock.now(), 120, 5)
    await gov.reports.record_face_counts(dep.id, "gate-2", clock.now(), 80, 0)
    clock.set(START + timedelta(hours=3))
    await gov.deployments.end(dep.id, "cmd")
    return dep.id


def _cli(data_dir: Path, *args: str) -> str:
    config = data_dir / "cli.toml"
    config.write_text(f'data_dir = "{data_dir}"\n[store]\ntype = "sqlite"\n'
                      '[[services]]\ntype = "http"\n'
                      'calibration = {threshold = 0.95, fpir = 0.0008, faces = 5000, '
                      'source = "test set"}\n')
    # in this process: tests/cli_inprocess.py says why
    done = pinchpoint(["report", *args, "--config", str(config)], REPO)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _no_person_or_image(text: str) -> None:
    for secret in (*REFERENCES, *OFFICERS, "obama", "biden", "Op Lantern", "warrant", "PNC"):
        assert secret.lower() not in text.lower(), secret
    for marker in ("/9j/", "base64", "data:image", "\xff\xd8\xff"):
        assert marker not in text
    for photo in ("obama.jpg", "obama3.jpg"):  # no chunk of any enrolled or captured image
        raw = (FACES / photo).read_bytes()
        assert base64.b64encode(raw[100:148]).decode() not in text


async def test_issue15_r20_published_csv_equals_pinchpoint_report_and_names_no_one(
        gov: Governance, engine: OnnxEngine, clock: ManualClock, tmp_path: Path) -> None:
    dep = await _drive(gov, engine, clock)
    stats = json.loads(_cli(tmp_path, "stats", dep))
    published_csv = _cli(tmp_path, "stats", dep, "--published", "--format", "csv")
    [header, row] = list(csv.reader(io.StringIO(published_csv)))
    assert tuple(header) == CSV_COLUMNS
    got = dict(zip(header, row, strict=True))
    assert int(got["faces_seen"]) == stats["faces_seen"] == 200
    # people (episodes) and sightings counted apart (issue 15)
    assert int(got["candidates"]) == stats["candidates"] == 7
    assert int(got["people_matched"]) == stats["people"] == 4
    assert int(got["people_alerted"]) == stats["people_confirmed"] == 3
    assert int(got["people_rejected"]) == stats["people_rejected"] == 1
    assert int(got["alerts_confirmed"]) == stats["confirmed"] == 3
    assert int(got["sightings_confirmed"]) == stats["sightings_confirmed"] == 4
    assert int(got["candidates_rejected"]) == stats["rejected"] == 2
    for outcome, n in stats["outcomes"].items():
        assert int(got[f"outcome_{outcome}"]) == n
    assert int(got["arrests"]) == stats["outcomes"]["arrested"] == 1
    assert int(got["false_alerts"]) == stats["outcomes"]["stopped_not_the_person"] == 1
    assert int(got["engagements"]) == 2 and int(got["outcome_no_outcome_recorded"]) == 1
    assert int(got["blue_walks_declared"]) == stats["blue_walks_declared"] == 2
    assert int(got["blue_walks_detected"]) == stats["blue_walks_detected"] == 1
    assert float(got["blue_detection_rate"]) == stats["blue_detection_rate"] == 0.5
    assert (got["watchlist_size"], got["watchlist_wanted"], got["watchlist_risk_of_harm"],
            got["watchlist_vulnerable_missing"]) == ("2", "1", "1", "0")
    assert (got["threshold"], got["threshold_set_by"]) == ("0.95", "deployment")
    assert (got["calibration_threshold"], got["calibrated_fpir"],
            got["calibration_faces"]) == ("0.95", "0.0008", "5000")
    assert got["location"] == "High St, north end" and got["date"] == "2026-03-01"
    assert got["live_from"] == START.isoformat()
    assert got["live_to"] == (START + timedelta(hours=3)).isoformat()
    _no_person_or_image(published_csv)
    as_json = _cli(tmp_path, "stats", dep, "--published")
    _no_person_or_image(as_json)
    assert json.loads(as_json)["audit_head"]
    # audited (R19), and the API renders the same record
    record = await gov.reports.published(dep, "cmd", default_threshold=0.961,
                                         calibration=CALIBRATION)
    assert to_csv(record).splitlines()[1].split(",")[:-2] == \
        published_csv.splitlines()[1].split(",")[:-2]  # all but audit head and time


async def test_issue15_r20_r12_record_after_the_watch_list_is_destroyed(
        gov: Governance, engine: OnnxEngine, clock: ManualClock) -> None:
    """After retention destroyed the watch list (R12, except entries tied to kept alerts),
    the size comes from the review (the list cannot change while live) and the categories
    are left out rather than undercounted."""
    dep = await _drive(gov, engine, clock)
    await gov.retention.run()  # just after the end every entry has a kept alert: all stay
    kept = await gov.reports.published(dep, "cmd", default_threshold=0.961, calibration=None)
    assert not kept.watchlist_destroyed and kept.watchlist_by_category["wanted"] == 1
    clock.advance(timedelta(days=31))  # R13/R15 alerts go; the arrest is held (R14)
    await gov.retention.run()
    record: PublishedRecord = await gov.reports.published(
        dep, "cmd", default_threshold=0.961, calibration=None)
    assert record.watchlist_destroyed and record.watchlist_size == 2
    assert record.watchlist_by_category == {}
    assert record.calibrated_fpir is None and record.arrests == 1
    row = dict(zip(CSV_COLUMNS, next(iter(list(csv.reader(io.StringIO(to_csv(record))))[1:])),
                   strict=True))
    assert row["watchlist_wanted"] == "" and row["watchlist_size"] == "2"


def test_issue15_r20_csv_neutralises_formula_text() -> None:
    """Hostile: a location typed as a spreadsheet formula is written as text."""
    from kernel.domain.published import build
    record = build(deployment_id="d", state="ended", location='=HYPERLINK("http://x")',
                   starts_at=START, ends_at=START, live_at=None, ended_at=None, categories=[],
                   reviewed_entries=0, faces_seen=0, candidates=0, confirmed=0, rejected=0,
                   outcomes={}, blue_declared=0, blue_detected=0, blue_rate=None,
                   match_threshold=None, default_threshold=0.961, calibration=None,
                   audit_head="", now=START)
    row: dict[str, Any] = dict(zip(CSV_COLUMNS, list(csv.reader(io.StringIO(to_csv(record))))[1],
                                   strict=True))
    assert row["location"].startswith("'=")
    assert row["threshold_set_by"] == "default" and row["threshold"] == "0.961"
