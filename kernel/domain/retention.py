"""Retention (R12-R17, R21, R24): a pure rule evaluation and the executor that applies it.

The rules, for a deployment that has ended (``ended_at`` set; the clock is injected):

- alerts on legal hold are kept, whatever else applies (R14);
- no further action — rejected candidates, never-decided candidates, confirmed alerts with
  no outcome or ``not_stopped`` — deleted when ``now >= ended_at + 30 days`` (R13);
- blue-list test events: the same 30 days (R21);
- false-positive stops (``stopped_not_the_person``) deleted when
  ``now >= max(ended_at, outcome_at) + 30 days`` (R15);
- alerts released from hold: the normal rule, ``now >= ended_at + 30 days`` (R14);
- watch-list and blue-list entries (details, photos, templates, declared walks) are destroyed
  as soon as the deployment has ended, except entries tied to an alert that is kept (R12);
  the templates of kept entries go too, matching being over;
- blue-list entries stay (without templates) as long as the blue-list test events may, the
  same 30 days (R21): their declared walk-pasts are the detection rate's denominator, and
  destroying the missed volunteers' walks at the end would raise the published rate;
- once nothing of the deployment is left, its data key is destroyed (R24).

"Day 30" is inclusive: at exactly ``ended_at + 30 days`` the data goes. Every deletion writes
disposal records (kind, count, rule, time; no personal data) and an audit row (R17, R19).
A live or authorised deployment whose window has passed is ended by the executor first.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import msgspec

from kernel.domain import audit
from kernel.domain.context import DomainContext
from kernel.domain.deployments import Deployments, load
from kernel.domain.errors import DomainError
from kernel.domain.records import (
    AlertRecord,
    DeploymentRecord,
    DisposalRecord,
    EntryRecord,
    PhotoRecord,
)
from kernel.protocols.store import StoreTx

log = logging.getLogger("pinchpoint.retention")

RETENTION = timedelta(days=30)

RULE_NFA = "R13 no further action: 30 days after the deployment"
RULE_FP = "R15 false-positive stop: 30 days"
RULE_RELEASED = "R14 released from legal hold: 30 days after the deployment"
RULE_BLUE = "R21 blue-list test events: 30 days after the deployment"
RULE_WATCHLIST = "R12 watch list destroyed after the deployment"
RULE_TEMPLATES = "R12 templates destroyed after the deployment"
RULE_KEY = "R24 data key destroyed: nothing of the deployment left"
RULE_WIPE = "R16 wipe deployment"
WIPE_REASON_MAX = 500
"""The longest wipe reason the audit log takes (a reference and a sentence, no names)."""

ActionKind = Literal["alert", "entry", "template", "key"]


class Action(msgspec.Struct, frozen=True):
    """One decision of :func:`plan`: destroy these ids of this kind under this rule.
    For ``template`` the ids are photo keys (as strings); for ``key`` the deployment id."""

    deployment_id: str
    kind: ActionKind
    ids: list[str]
    rule: str


def alert_due(alert: AlertRecord, ended_at: datetime) -> tuple[datetime, str] | None:
    """When an alert of a deployment ended at ``ended_at`` must go, and why; None = hold."""
    if alert.hold:
        return None
    if alert.released_at is not None:
        return ended_at + RETENTION, RULE_RELEASED
    if alert.list == "blue":
        return ended_at + RETENTION, RULE_BLUE
    if alert.state == "confirmed" and alert.outcome == "stopped_not_the_person":
        start = max(ended_at, alert.outcome_at or ended_at)
        return start + RETENTION, RULE_FP
    if alert.state == "confirmed" and alert.outcome not in (None, "not_stopped"):
        # a criminal-justice outcome without hold can only come from a release (above)
        return ended_at + RETENTION, RULE_RELEASED
    return ended_at + RETENTION, RULE_NFA


def plan(now: datetime, deployment: DeploymentRecord, alerts: list[AlertRecord],
         entries: list[EntryRecord], photos: list[PhotoRecord]) -> list[Action]:
    """What must be destroyed now, and under which rule. Pure: no I/O, no clock."""
    ended = deployment.ended_at
    if ended is None or deployment.state not in ("ended", "closed"):
        return []
    actions: list[Action] = []
    by_rule: dict[str, list[str]] = {}
    kept: list[AlertRecord] = []
    for a in alerts:
        due = alert_due(a, ended)
        if due is not None and now >= due[0]:
            by_rule.setdefault(due[1], []).append(a.id)
        else:
            kept.append(a)
    for rule, ids in by_rule.items():
        actions.append(Action(deployment.id, "alert", sorted(ids), rule))
    kept_entries = {a.entry_id for a in kept}
    if now < ended + RETENTION:  # R21: the walk-pasts of every volunteer, missed ones too
        kept_entries |= {e.id for e in entries if e.list == "blue"}
    gone = sorted(e.id for e in entries if e.id not in kept_entries)
    if gone:
        actions.append(Action(deployment.id, "entry", gone, RULE_WATCHLIST))
    templates = sorted(str(p.key) for p in photos
                       if p.entry_id in kept_entries and p.template_blob is not None)
    if templates:
        actions.append(Action(deployment.id, "template", templates, RULE_TEMPLATES))
    if not kept and not kept_entries:
        actions.append(Action(deployment.id, "key", [deployment.id], RULE_KEY))
    return actions


class WipeRefused(DomainError):
    """A wipe the rules refuse (the typed name differs, no or an over-long reason): 422."""


class RetentionReport(msgspec.Struct, frozen=True):
    """What a run destroyed (or, with ``dry_run``, would destroy)."""

    dry_run: bool
    disposals: list[DisposalRecord]
    ended: list[str]


@dataclass
class _Counts:
    items: dict[str, int]

    def add(self, kind: str, n: int) -> None:
        if n:
            self.items[kind] = self.items.get(kind, 0) + n


class Retention:
    """Applies :func:`plan` to every deployment; also :meth:`wipe` (R16)."""

    def __init__(self, ctx: DomainContext, deployments: Deployments) -> None:
        self.ctx = ctx
        self.deployments = deployments

    async def run(self, *, dry_run: bool = False, actor: str = "retention") -> RetentionReport:
        """One pass over all deployments. Each deployment is done in one transaction."""
        now = self.ctx.clock.now()
        ended: list[str] = []
        disposals: list[DisposalRecord] = []
        for dep in await self.deployments.list_all():
            if dep.state in ("authorised", "live") and now >= dep.ends_at:
                if dry_run:
                    continue
                await self.deployments.end(dep.id, actor)
                ended.append(dep.id)
        for dep in await self.deployments.list_all():
            disposals += await self._one(dep.id, now, dry_run, actor)
        if disposals and not dry_run:
            await self.ctx.store.compact()
        return RetentionReport(dry_run=dry_run, disposals=disposals, ended=ended)

    async def _one(self, deployment_id: str, now: datetime, dry_run: bool,
                   actor: str) -> list[DisposalRecord]:
        destroy_key = False
        records: list[DisposalRecord] = []
        async with self.ctx.store.transaction() as tx:
            dep = await load(tx, deployment_id)
            alerts = await tx.alerts.in_deployment(dep.id)
            entries = await tx.watchlists.entries(dep.id)
            photos = await tx.watchlists.photos(dep.id)
            actions = plan(now, dep, alerts, entries, photos)
            if not actions:
                return []
            if actions == [Action(dep.id, "key", [dep.id], RULE_KEY)] and \
                    not self.ctx.keys.has_key(dep.id):
                return []
            for action in actions:
                counts = _Counts({})
                if action.kind == "alert":
                    await self._drop_alerts(tx, action.ids, alerts, counts, dry_run)
                elif action.kind == "entry":
                    await self._drop_entries(tx, dep.id, action.ids, entries, photos, counts,
                                             dry_run)
                elif action.kind == "template":
                    by_key = {str(p.key): p for p in photos}
                    blobs = [by_key[k].template_blob or "" for k in action.ids]
                    if not dry_run:
                        for k in action.ids:
                            await tx.watchlists.clear_template(int(k))
                        await tx.blobs.delete(blobs)
                    counts.add("template", len(action.ids))
                elif self.ctx.keys.has_key(dep.id):
                    destroy_key = True
                    counts.add("data_key", 1)
                for kind, n in counts.items.items():
                    records.append(DisposalRecord(at=now, deployment_id=dep.id, kind=kind,
                                                  count=n, rule=action.rule, actor=actor))
            if not dry_run and records:
                for rec in records:
                    await tx.disposals.insert(rec)
                await audit.append(tx, self.ctx.clock, actor, "retention.dispose",
                                   {"deployment": dep.id},
                                   {"disposals": [[r.kind, r.count, r.rule] for r in records]})
        if destroy_key and not dry_run:
            await self.ctx.keys.destroy(deployment_id)
        return records

    @staticmethod
    async def _drop_alerts(tx: StoreTx, ids: list[str], alerts: list[AlertRecord],
                           counts: _Counts, dry_run: bool) -> None:
        wanted = set(ids)
        chosen = [a for a in alerts if a.id in wanted]
        blobs = [b for a in chosen for b in (a.face_blob, a.torso_blob)]
        counts.add("alert", len(chosen))
        counts.add("alert_image", len(blobs))
        if not dry_run:
            await tx.alerts.delete(ids)
            await tx.blobs.delete(blobs)

    @staticmethod
    async def _drop_entries(tx: StoreTx, deployment_id: str, ids: list[str],
                            entries: list[EntryRecord], photos: list[PhotoRecord],
                            counts: _Counts, dry_run: bool) -> None:
        wanted = set(ids)
        chosen = [e for e in entries if e.id in wanted]
        their = [p for p in photos if p.entry_id in wanted]
        walks = [w for w in await tx.watchlists.blue_walks(deployment_id) if w.entry_id in wanted]
        blobs = [e.details_blob for e in chosen] + [p.photo_blob for p in their] + [
            p.template_blob for p in their if p.template_blob]
        counts.add("watchlist_entry", sum(e.list == "watch" for e in chosen))
        counts.add("bluelist_entry", sum(e.list == "blue" for e in chosen))
        counts.add("photo", len(their))
        counts.add("template", sum(p.template_blob is not None for p in their))
        counts.add("blue_walk", len(walks))
        if not dry_run:
            await tx.watchlists.delete_entries(ids)
            await tx.blobs.delete(blobs)

    async def disposals(self, deployment_id: str | None = None) -> list[DisposalRecord]:
        """The disposal records (R17), all or one deployment's, in the order written."""
        async with self.ctx.store.transaction() as tx:
            return await tx.disposals.all(deployment_id)

    async def wipe(self, deployment_id: str, actor: str, *, reason: str = "",
                   confirm_name: str | None = None) -> list[DisposalRecord]:
        """Destroy everything of a deployment at once, including its data key (R16, R24), in
        any state — a live one too (R16: "at once", the emergency case) — and alerts on
        legal hold with the rest.

        Only the audit chain and the disposal records (ids and counts, no personal data)
        remain; a copy of the database taken before cannot be decrypted afterwards.
        ``reason`` (at most :data:`WIPE_REASON_MAX` characters) is written to the audit row.
        ``confirm_name``: when given (the app's typed confirmation), it must equal the
        deployment's name exactly, else :class:`WipeRefused` and nothing is destroyed.
        """
        reason = reason.strip()
        if len(reason) > WIPE_REASON_MAX:
            raise WipeRefused(f"a wipe reason has at most {WIPE_REASON_MAX} characters")
        if confirm_name is not None and not reason:
            raise WipeRefused("say why the deployment is wiped (recorded in the audit log)")
        now = self.ctx.clock.now()
        async with self.ctx.store.transaction() as tx:
            dep = await load(tx, deployment_id)
            if confirm_name is not None and confirm_name != dep.name:
                raise WipeRefused("the name typed is not the deployment's name: nothing was "
                                  "wiped")
            counts = await tx.deployments.delete(deployment_id)
            records = [DisposalRecord(at=now, deployment_id=deployment_id, kind=kind, count=n,
                                      rule=RULE_WIPE, actor=actor)
                       for kind, n in sorted(counts.items()) if n]
            if self.ctx.keys.has_key(deployment_id):
                records.append(DisposalRecord(at=now, deployment_id=deployment_id,
                                              kind="data_key", count=1, rule=RULE_WIPE,
                                              actor=actor))
            for rec in records:
                await tx.disposals.insert(rec)
            event = self.ctx.events.staged(await audit.append(
                tx, self.ctx.clock, actor, "deployment.wipe", {"deployment": deployment_id},
                {"disposals": [[r.kind, r.count] for r in records], "state": dep.state,
                 **({"reason": reason} if reason else {})}))
        self.ctx.events.publish(event)
        await self.ctx.keys.destroy(deployment_id)
        await self.ctx.store.compact()
        return records

    async def run_forever(self, interval: timedelta = timedelta(hours=1)) -> None:
        """The scheduled runs, for the lead's supervisor. A failed run is logged (without
        personal data) and retried at the next interval; cancellation stops it."""
        while True:
            try:
                report = await self.run()
                if report.disposals:
                    log.info("retention: %d disposal records",
                             len(report.disposals))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("retention run failed: %s", type(exc).__name__)
            await asyncio.sleep(interval.total_seconds())
