"""Reports (R19, R20, R21): match report, non-personal statistics, subject-access export,
and the per-minute face counts that are the only trace of non-matching faces (R3)."""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from collections.abc import Sequence
from datetime import datetime, timedelta

import msgspec

from kernel.domain import audit
from kernel.domain.alerts import Alerts, load_alert
from kernel.domain.bluelist_scores import LEGACY_WINDOW_S, PeriodRate, WalkScore, rates, score
from kernel.domain.context import DomainContext
from kernel.domain.deployments import load
from kernel.domain.episodes import group
from kernel.domain.published import CalibrationFigure, PublishedRecord, build
from kernel.domain.records import FaceCount
from kernel.domain.watchlists import WatchLists, load_entry
from kernel.images.image_type import sniff

BLUE_WINDOW_S = LEGACY_WINDOW_S
"""A blue walk-past declared without a window counts as detected if a test event of that
volunteer was captured within this many seconds of the declared time (R21; a walk with a
window: :mod:`kernel.domain.bluelist_scores`)."""

COUNTS_KEY_HORIZON = timedelta(days=30)
"""How long the key of an edge's face-counts message is kept once its counts were added. A
redelivery comes an ack wait (30 s by default) after a console that died before
acknowledging runs again, so a key is needed while its console is down; one down for longer
than this with a message in doubt may count that one flush twice. 30 days of keys is about
43,000 rows an edge at the default 60 s flush: ids and times, nothing of a face."""


class MatchReceipt(msgspec.Struct, frozen=True):
    """One device's receipt for an alert (issue 14): what, by which path, when."""

    device_id: str
    kind: str
    path: str
    at: str

    def __str__(self) -> str:
        return f"{self.device_id} {self.kind} {self.path} {self.at}"


class MatchRow(msgspec.Struct, frozen=True):
    """One alert in the match report: ids, facts and decisions, no image or name; the
    officers' devices' receipts oldest first (in CSV one cell, ``; ``-separated)."""

    alert_id: str
    entry_id: str
    list: str
    category: str
    camera_id: str
    score: float
    captured_at: str
    state: str
    decided_by: str | None
    decided_at: str | None
    outcome: str | None
    outcome_by: str | None
    outcome_at: str | None
    hold: bool
    receipts: tuple[MatchReceipt, ...] = ()
    episode_id: str | None = None
    """The episode (person) this sighting belongs to (issue 15)."""
    seen_again: bool = False


class CameraStats(msgspec.Struct, frozen=True):
    camera_id: str
    faces_seen: int
    faces_matched: int


class DeploymentStats(msgspec.Struct, frozen=True):
    """Non-personal statistics for publication (R20) and the blue-list rate (R21)."""

    deployment_id: str
    cameras: list[CameraStats]
    faces_seen: int
    candidates: int
    """Watch-list sightings raised (each match, R4)."""
    confirmed: int
    """Alerts officers were sent: one per confirmed episode (its later sightings are updates
    of it, counted in ``sightings_confirmed``), plus alerts stored before episodes."""
    rejected: int
    """Sightings rejected (by the operator, or with their rejected episode)."""
    outcomes: dict[str, int]
    blue_walks_declared: int
    blue_walks_detected: int
    blue_detection_rate: float | None
    blue_periods: list[PeriodRate] = msgspec.field(default_factory=list)
    """Declared, detected and the rate before, during and after the live run
    (:mod:`kernel.domain.bluelist_scores` defines the periods)."""
    people: int = 0
    """Episodes (issue 15): repeated sightings of one entry within the window are one person;
    an alert stored before episodes is one of its own."""
    people_confirmed: int = 0
    people_rejected: int = 0
    sightings_confirmed: int = 0
    """Confirmed sightings: the alerts, the sightings confirmed with them and the "seen
    again" updates the operator confirmed."""
    audit_head: str = ""
    """The audit log's head (``SEQ:HASH``) when the report was made: published with it, it
    anchors the log (``pinchpoint audit verify --head``), so rows deleted later are caught."""


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


class Reports:
    """Reads for audit and publication; exports are audited (R11, R19)."""

    def __init__(self, ctx: DomainContext, alerts: Alerts, watchlists: WatchLists) -> None:
        self.ctx = ctx
        self.alerts = alerts
        self.watchlists = watchlists

    async def record_face_counts(self, deployment_id: str, camera_id: str, minute: datetime,
                                 seen: int, matched: int) -> None:
        """Add one camera-minute's counts (called by the pipeline; R3, R20)."""
        minute = minute.replace(second=0, microsecond=0)
        async with self.ctx.store.transaction() as tx:
            await tx.statistics.add_face_counts(FaceCount(
                deployment_id=deployment_id, camera_id=camera_id, minute=minute, seen=seen,
                matched=matched))

    async def record_edge_counts(self, counts: Sequence[FaceCount],
                                 key: str | None = None) -> int | None:
        """Add an edge's face counts (issue 13) in one transaction, so that a retry after a
        storage fault adds all or none; a count for a deployment this store does not know
        is left out (an edge's stale or forged message). How many were added.

        ``key``: the key the edge gave the message, recorded in the same transaction: a
        message redelivered after a console died between this commit and its acknowledgement
        adds nothing (None) instead of counting twice. Keys older than
        :data:`COUNTS_KEY_HORIZON` are forgotten here."""
        added = 0
        async with self.ctx.store.transaction() as tx:
            if key is not None:
                now = self.ctx.clock.now()
                if not await tx.statistics.claim_counts_key(key, now):
                    return None
                await tx.statistics.forget_counts_keys(now - COUNTS_KEY_HORIZON)
            known: dict[str, bool] = {}
            for c in counts:
                if c.deployment_id not in known:
                    known[c.deployment_id] = await tx.deployments.get(c.deployment_id) is not None
                if not known[c.deployment_id]:
                    continue
                await tx.statistics.add_face_counts(msgspec.structs.replace(
                    c, minute=c.minute.replace(second=0, microsecond=0)))
                added += 1
        return added

    async def match_report(self, deployment_id: str, actor: str) -> list[MatchRow]:
        """Every alert of the deployment, what became of it and the devices' receipts
        (R19); audited."""
        async with self.ctx.store.transaction() as tx:
            await load(tx, deployment_id)
            alerts = await tx.alerts.in_deployment(deployment_id)
            found = await tx.devices.receipts(deployment_id)
            await audit.append(tx, self.ctx.clock, actor, "report.match",
                               {"deployment": deployment_id}, {"rows": len(alerts)})
        receipts: dict[str, list[MatchReceipt]] = {}
        for r in found:
            receipts.setdefault(r.alert_id, []).append(
                MatchReceipt(r.device_id, r.kind, r.path, r.at.isoformat()))
        return [MatchRow(alert_id=a.id, entry_id=a.entry_id, list=a.list, category=a.category,
                         camera_id=a.camera_id, score=a.score,
                         captured_at=a.captured_at.isoformat(), state=a.state,
                         decided_by=a.decided_by, decided_at=_iso(a.decided_at),
                         outcome=a.outcome, outcome_by=a.outcome_by,
                         outcome_at=_iso(a.outcome_at), hold=a.hold,
                         receipts=tuple(receipts.get(a.id, ())), episode_id=a.episode_id,
                         seen_again=a.seen_again) for a in alerts]

    @staticmethod
    def to_csv(rows: list[MatchRow]) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(MatchRow.__struct_fields__)
        for r in rows:
            writer.writerow(["" if v is None else "; ".join(map(str, v)) if isinstance(v, tuple)
                             else v for v in msgspec.structs.astuple(r)])
        return out.getvalue()

    @staticmethod
    def to_json(rows: list[MatchRow]) -> bytes:
        return msgspec.json.format(msgspec.json.encode(rows))

    async def stats(self, deployment_id: str) -> DeploymentStats:
        """Faces seen per camera, alerts, decisions, outcomes, blue-list detection rate."""
        async with self.ctx.store.transaction() as tx:
            dep = await load(tx, deployment_id)
            counts = await tx.statistics.face_counts(deployment_id)
            alerts = await tx.alerts.in_deployment(deployment_id)
            walks = await tx.watchlists.blue_walks(deployment_id)
            last = await tx.audit.last()
        cams: dict[str, list[int]] = {}
        for c in counts:
            acc = cams.setdefault(c.camera_id, [0, 0])
            acc[0] += c.seen
            acc[1] += c.matched
        watch = [a for a in alerts if a.list == "watch"]
        outcomes: dict[str, int] = {}
        for a in watch:
            if a.outcome:
                outcomes[a.outcome] = outcomes.get(a.outcome, 0) + 1
        scores = score(walks, alerts, dep.live_at, dep.ended_at)
        detected = sum(s.detected for s in scores)
        people = group(watch)
        alone = [a for a in watch if a.episode_id is None]
        return DeploymentStats(
            deployment_id=deployment_id,
            cameras=[CameraStats(k, v[0], v[1]) for k, v in sorted(cams.items())],
            faces_seen=sum(v[0] for v in cams.values()), candidates=len(watch),
            confirmed=sum(a.state == "confirmed" and not a.seen_again for a in watch),
            rejected=sum(a.state == "rejected" for a in watch), outcomes=outcomes,
            people=len(people) + len(alone),
            people_confirmed=sum(e.state == "confirmed" for e in people)
            + sum(a.state == "confirmed" for a in alone),
            people_rejected=sum(e.state == "rejected" for e in people)
            + sum(a.state == "rejected" for a in alone),
            sightings_confirmed=sum(a.state == "confirmed" for a in watch),
            blue_walks_declared=len(walks), blue_walks_detected=detected,
            blue_detection_rate=detected / len(walks) if walks else None,
            blue_periods=rates(scores),
            audit_head=f"{last.seq}:{last.hash}" if last is not None else "")

    async def blue_walks(self, deployment_id: str) -> list[WalkScore]:
        """Every declared walk-past of the deployment's blue list with its score (R21),
        oldest first: detected or not, by which test event, the time to candidate."""
        async with self.ctx.store.transaction() as tx:
            dep = await load(tx, deployment_id)
            walks = await tx.watchlists.blue_walks(deployment_id)
            alerts = await tx.alerts.in_states(deployment_id, ["test"], "blue")
        return score(walks, alerts, dep.live_at, dep.ended_at)

    async def published(self, deployment_id: str, actor: str, *, default_threshold: float,
                        calibration: CalibrationFigure | None) -> PublishedRecord:
        """The published deployment record (R20, :mod:`kernel.domain.published`): the counts
        of :meth:`stats`, where and when, the watch list's size by category, the threshold
        (the deployment's, else ``default_threshold``: what ``[matching]`` decides at) with
        ``calibration``. Audited as ``report.published`` (R19)."""
        stats = await self.stats(deployment_id)
        async with self.ctx.store.transaction() as tx:
            dep = await load(tx, deployment_id)
            entries = await tx.watchlists.entries(deployment_id, "watch")
            review = await tx.watchlists.last_review(deployment_id)
            await audit.append(tx, self.ctx.clock, actor, "report.published",
                               {"deployment": deployment_id}, {"audit_head": stats.audit_head})
        return build(
            deployment_id=dep.id, state=dep.state, location=dep.location,
            starts_at=dep.starts_at, ends_at=dep.ends_at, live_at=dep.live_at,
            ended_at=dep.ended_at, categories=[e.category for e in entries],
            reviewed_entries=review.entries if review else 0, faces_seen=stats.faces_seen,
            candidates=stats.candidates, confirmed=stats.confirmed, rejected=stats.rejected,
            people=stats.people, people_confirmed=stats.people_confirmed,
            people_rejected=stats.people_rejected,
            sightings_confirmed=stats.sightings_confirmed,
            outcomes=stats.outcomes, blue_declared=stats.blue_walks_declared,
            blue_detected=stats.blue_walks_detected, blue_rate=stats.blue_detection_rate,
            match_threshold=dep.match_threshold, default_threshold=default_threshold,
            calibration=calibration, audit_head=stats.audit_head, now=self.ctx.clock.now(),
            blue_periods=stats.blue_periods)

    async def export_alert(self, alert_id: str, actor: str) -> bytes:
        """A zip with an alert's decrypted images and its record (R20); audited (R11)."""
        rec = await self.alerts.get(alert_id)
        images = await self.alerts.images(alert_id)
        files = {"alert.json": msgspec.json.format(msgspec.json.encode(rec)),
                 "face.jpg": images.face, "torso.jpg": images.torso}
        if images.watchlist_photo is not None:
            # a photo stored before uploads were re-encoded keeps its own type's extension
            photo = images.watchlist_photo
            files[f"watchlist_photo.{sniff(photo).extension}"] = photo
        async with self.ctx.store.transaction() as tx:
            await load_alert(tx, alert_id)
            await audit.append(tx, self.ctx.clock, actor, "export.alert",
                               {"deployment": rec.deployment_id, "alert": alert_id},
                               {"files": sorted(files)})
        return await asyncio.to_thread(_zip, files)

    async def export_entry(self, entry_id: str, actor: str) -> bytes:
        """A zip with a watch-list entry's details and photos (R20); audited (R11)."""
        async with self.ctx.store.transaction() as tx:
            rec = await load_entry(tx, entry_id)
        entry = next(e for e in await self.watchlists.entries(rec.deployment_id)
                     if e.id == entry_id)
        files = {"entry.json": msgspec.json.format(msgspec.json.encode(entry))}
        for i, photo in enumerate(await self.watchlists.photos(entry_id), 1):
            files[f"photo_{i}.{sniff(photo).extension}"] = photo
        async with self.ctx.store.transaction() as tx:
            await load_entry(tx, entry_id)
            await audit.append(tx, self.ctx.clock, actor, "export.entry",
                               {"deployment": rec.deployment_id, "entry": entry_id},
                               {"files": sorted(files)})
        return await asyncio.to_thread(_zip, files)


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()
