"""Deployments and their authorisation (R18), with the checked state machine
draft → authorised → live → ended → closed (an authorised deployment may also be ended
without going live, to cancel it).

Going live is refused before the window starts or after it ends, unless authorised, and
unless the watch list was reviewed by a named user no more than 48 hours before and has not
changed since (R9). Every transition is stored with who and when, and audited (R19), and
announced after its commit (:class:`~kernel.domain.events.DeploymentChanged`).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import msgspec

from kernel.domain import audit
from kernel.domain.context import DomainContext
from kernel.domain.errors import DomainError, NotFound, TransitionRefused
from kernel.domain.events import DomainEvent
from kernel.domain.node_id import check_console
from kernel.domain.records import DeploymentRecord, DeploymentState, TransitionRecord
from kernel.domain.thresholds import (
    LIVE_CHANGE_ROLE,
    NotPermitted,
    SettingRefused,
    check_threshold,
)
from kernel.protocols.store import StoreTx

REVIEW_MAX_AGE = timedelta(hours=48)
"""R9: the last review must be at most this old when the deployment goes live."""

_ALLOWED: dict[DeploymentState, tuple[DeploymentState, ...]] = {
    "draft": ("authorised",),
    "authorised": ("live", "ended"),
    "live": ("ended",),
    "ended": ("closed",),
    "closed": (),
}


class DeploymentDraft(msgspec.Struct, kw_only=True, frozen=True):
    """What a commander fills in to create a deployment (R18)."""

    name: str
    authorising_officer: str
    location: str
    starts_at: datetime
    ends_at: datetime
    objectives: str
    case_reference: str
    command_team: list[str]
    match_threshold: float | None = None
    console: str | None = None
    """The ``[node] id`` of the console that is to run it (issue 13), set explicitly (a
    deployment made on a command workstation for a van); ``None``: the creating process's own
    id when it is a console, else none (every console then publishes its list)."""


async def load(tx: StoreTx, deployment_id: str) -> DeploymentRecord:
    """The deployment or :class:`NotFound`."""
    rec = await tx.deployments.get(deployment_id)
    if rec is None:
        raise NotFound(f"no deployment {deployment_id}")
    return rec


class Deployments:
    """Creation, the state machine and the per-deployment settings."""

    def __init__(self, ctx: DomainContext) -> None:
        self.ctx = ctx

    async def create(self, draft: DeploymentDraft, actor: str) -> DeploymentRecord:
        """Create a deployment in ``draft`` with its own data key (R24), run by the console
        ``draft.console`` names (checked: :func:`~kernel.domain.node_id.check_console`) or
        else by this process's console (``ctx.console``), the console audited with it."""
        for field in ("name", "authorising_officer", "location", "objectives",
                      "case_reference"):
            if not str(getattr(draft, field)).strip():
                raise DomainError(f"deployment {field.replace('_', ' ')} is required (R18)")
        if draft.starts_at.tzinfo is None or draft.ends_at.tzinfo is None:
            raise DomainError("deployment window times must carry a timezone")
        if draft.ends_at <= draft.starts_at:
            raise DomainError("deployment window must end after it starts")
        if draft.match_threshold is not None:
            check_threshold(draft.match_threshold)
        console = self.ctx.console if draft.console is None else check_console(draft.console)
        now = self.ctx.clock.now()
        rec = DeploymentRecord(
            id=secrets.token_hex(8), name=draft.name, authorising_officer=draft.authorising_officer,
            location=draft.location, starts_at=draft.starts_at, ends_at=draft.ends_at,
            objectives=draft.objectives, case_reference=draft.case_reference,
            command_team=list(draft.command_team), state="draft", created_at=now,
            created_by=actor, match_threshold=draft.match_threshold, console=console)
        await self.ctx.keys.create(rec.id)
        async with self.ctx.store.transaction() as tx:
            await tx.deployments.insert(rec)
            event = self.ctx.events.staged(await audit.append(
                tx, self.ctx.clock, actor, "deployment.create", {"deployment": rec.id},
                {"starts_at": rec.starts_at.isoformat(), "ends_at": rec.ends_at.isoformat(),
                 **({} if console is None else {"console": console})}))
        self.ctx.events.publish(event)
        return rec

    async def get(self, deployment_id: str) -> DeploymentRecord:
        async with self.ctx.store.transaction() as tx:
            return await load(tx, deployment_id)

    async def list_all(self) -> list[DeploymentRecord]:
        async with self.ctx.store.transaction() as tx:
            return await tx.deployments.all()

    async def live(self) -> list[DeploymentRecord]:
        """The deployments currently live (the pipeline matches against these)."""
        return [d for d in await self.list_all() if d.state == "live"]

    async def transitions(self, deployment_id: str) -> list[TransitionRecord]:
        async with self.ctx.store.transaction() as tx:
            await load(tx, deployment_id)
            return await tx.deployments.transitions(deployment_id)

    async def _move(self, tx: StoreTx, rec: DeploymentRecord, to: DeploymentState,
                    actor: str, details: dict[str, object] | None = None
                    ) -> tuple[DeploymentRecord, DomainEvent | None]:
        """Change state inside ``tx``; returns the record and the event to publish once
        ``tx`` has committed."""
        if to not in _ALLOWED[rec.state]:
            raise TransitionRefused(f"deployment {rec.id} is {rec.state}; it cannot become {to}")
        now = self.ctx.clock.now()
        old = rec.state
        rec.state = to
        if to == "live":
            rec.live_at = now
        if to == "ended":
            rec.ended_at = now
        await tx.deployments.update(rec)
        await tx.deployments.insert_transition(TransitionRecord(
            deployment_id=rec.id, from_state=old, to_state=to, actor=actor, at=now))
        row = await audit.append(tx, self.ctx.clock, actor, f"deployment.{to}",
                                 {"deployment": rec.id}, {"from": old, **(details or {})})
        return rec, self.ctx.events.staged(row)

    def _published(self, moved: tuple[DeploymentRecord, DomainEvent | None]
                   ) -> DeploymentRecord:
        """After the commit of a :meth:`_move`: publish its event."""
        rec, event = moved
        self.ctx.events.publish(event)
        return rec

    async def authorise(self, deployment_id: str, actor: str) -> DeploymentRecord:
        """draft → authorised, by the user who authorises it (role checked by the API)."""
        async with self.ctx.store.transaction() as tx:
            moved = await self._move(tx, await load(tx, deployment_id), "authorised", actor)
        return self._published(moved)

    async def go_live(self, deployment_id: str, actor: str) -> DeploymentRecord:
        """authorised → live, within the window and with a fresh, current review (R9)."""
        async with self.ctx.store.transaction() as tx:
            rec = await load(tx, deployment_id)
            now = self.ctx.clock.now()
            if rec.state != "authorised":
                raise TransitionRefused(f"deployment {rec.id} is {rec.state}; only an "
                                        "authorised deployment can go live")
            if now < rec.starts_at:
                raise TransitionRefused(f"deployment {rec.id} cannot go live before its window "
                                        f"starts at {rec.starts_at.isoformat()}")
            if now >= rec.ends_at:
                raise TransitionRefused(f"deployment {rec.id} cannot go live: its window ended "
                                        f"at {rec.ends_at.isoformat()}")
            review = await tx.watchlists.last_review(rec.id)
            if review is None:
                raise TransitionRefused(f"deployment {rec.id} cannot go live: its watch list "
                                        "has not been reviewed (R9)")
            if now - review.reviewed_at > REVIEW_MAX_AGE:
                raise TransitionRefused(
                    f"deployment {rec.id} cannot go live: the watch-list review by "
                    f"{review.reviewer} at {review.reviewed_at.isoformat()} is older than 48 "
                    "hours; review it again (R9)")
            if review.watchlist_version != rec.watchlist_version:
                raise TransitionRefused(f"deployment {rec.id} cannot go live: the watch list "
                                        "changed since its last review; review it again (R9)")
            if review.entries == 0:
                raise TransitionRefused(f"deployment {rec.id} cannot go live with an empty "
                                        "watch list")
            moved = await self._move(tx, rec, "live", actor,
                                     {"review_at": review.reviewed_at.isoformat(),
                                      "watchlist_version": review.watchlist_version})
        return self._published(moved)

    async def end(self, deployment_id: str, actor: str) -> DeploymentRecord:
        """live (or authorised) → ended; the retention clock starts now (R12-R15)."""
        async with self.ctx.store.transaction() as tx:
            moved = await self._move(tx, await load(tx, deployment_id), "ended", actor)
        return self._published(moved)

    async def close(self, deployment_id: str, actor: str) -> DeploymentRecord:
        """ended → closed: the command team has finished with it (retention goes on)."""
        async with self.ctx.store.transaction() as tx:
            moved = await self._move(tx, await load(tx, deployment_id), "closed", actor)
        return self._published(moved)

    async def set_threshold(self, deployment_id: str, threshold: float | None,
                            actor: str) -> DeploymentRecord:
        """Set (or clear, None = the configured default) the match threshold (R22), audited.

        The value must pass :func:`kernel.domain.thresholds.check_threshold` (finite, in
        ``[FLOOR, 1]``). On a live deployment the actor must be an enabled account with the
        commander's role; an attempt refused on a live deployment is audited too (R19)."""
        refusal: DomainError | None = None
        try:
            value = None if threshold is None else check_threshold(threshold)
        except SettingRefused as exc:
            refusal, value = exc, None
        async with self.ctx.store.transaction() as tx:
            rec = await load(tx, deployment_id)
            if rec.state in ("ended", "closed"):
                raise TransitionRefused(f"deployment {rec.id} is {rec.state}; settings are "
                                        "frozen")
            role = None
            if rec.state == "live":
                user = await tx.accounts.get(actor)
                role = user.role if user is not None and user.enabled else None
                if refusal is None and role != LIVE_CHANGE_ROLE:
                    refusal = NotPermitted(
                        f"deployment {rec.id} is live: changing its match threshold needs "
                        f"the {LIVE_CHANGE_ROLE}'s role (R22)")
            elif refusal is not None:
                raise refusal
            if refusal is None:
                old = rec.match_threshold
                rec.match_threshold = value
                await tx.deployments.update(rec)
                await audit.append(tx, self.ctx.clock, actor, "setting.match_threshold",
                                   {"deployment": rec.id},
                                   {"old": old, "new": value, "state": rec.state,
                                    **({"role": role} if role else {})})
                return rec
        # A refused change to a live deployment: recorded, then refused.
        async with self.ctx.store.transaction() as tx:
            await audit.append(tx, self.ctx.clock, actor, "setting.match_threshold_refused",
                               {"deployment": deployment_id},
                               {"requested": repr(threshold), "state": "live",
                                "role": role, "reason": str(refusal)})
        assert refusal is not None
        raise refusal
