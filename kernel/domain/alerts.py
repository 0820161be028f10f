"""Candidate and alert state machine (R4, R5, R7, R14, R21).

``candidate`` → ``confirmed`` | ``rejected`` by the operator (R5); a confirmed alert then gets
an outcome from an officer (R7). A blue-list match is stored as a ``test`` event: it is never
confirmed and never reaches the outbox (R21).

The only way a face image enters storage is :meth:`Alerts.create_candidate`, which requires an
entry id that exists and belongs to the deployment (the store's composite foreign key enforces
it a second time): no API stores a face without a watch-list match (R3). The candidate, its
encrypted crops and its audit row are committed in one transaction, and only then is its
:class:`~kernel.domain.events.CandidateRaised` published; :meth:`Alerts.confirm` writes the
alert and its outbox row in one transaction, and :meth:`Alerts.reject` the rejection with its
reason's audit row, each then publishing :class:`~kernel.domain.events.AlertDecided`.

What officers see is decided here, not by a caller's query (R5): :meth:`Alerts.listing_for`
and :meth:`Alerts.get_for` give an officer confirmed watch-list alerts only, whatever else is
asked.

Legal hold (R14): the outcomes ``arrested``, ``stopped_identity_confirmed`` and
``other_action`` may lead to criminal-justice use (evidence of the stop, a summons, a
safeguarding referral), so they are placed on hold automatically and kept until an authorised
user releases them; an alert can also be held by hand (a complaint, an access request).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from kernel import crashpoints
from kernel.auth.roles import Role
from kernel.domain import audit
from kernel.domain.context import DomainContext
from kernel.domain.deployments import load
from kernel.domain.episodes import EPISODE_ACTOR, Episode, EpisodeSettings, group, joined, place
from kernel.domain.errors import DomainError, NotFound, TransitionRefused
from kernel.domain.events import alert_event
from kernel.domain.records import AlertRecord, AlertState, AuditRecord, BlobRecord, Outcome
from kernel.protocols.store import StoreTx

OUTCOMES: tuple[Outcome, ...] = ("not_stopped", "stopped_identity_confirmed",
                                 "stopped_not_the_person", "arrested", "other_action")
HOLD_OUTCOMES: frozenset[str] = frozenset({"arrested", "stopped_identity_confirmed",
                                           "other_action"})
"""Outcomes that put an alert on legal hold automatically (R14)."""
WATCH_STATES: tuple[AlertState, ...] = ("candidate", "confirmed", "rejected")
"""The states of a watch-list alert (a blue-list event is ``test``)."""


@dataclass(frozen=True)
class SealedCandidate:
    """An accepted match before it is stored: the alert's id, assigned at acceptance, and
    its crops already encrypted (R24). Held in memory only, never written elsewhere."""

    id: str
    deployment_id: str
    entry_id: str
    camera_id: str
    score: float
    captured_at: datetime
    face: BlobRecord
    torso: BlobRecord


@dataclass(frozen=True)
class AlertImages:
    """The decrypted images of an alert, for the authenticated API only (R24)."""

    face: bytes
    torso: bytes
    watchlist_photo: bytes | None


async def load_alert(tx: StoreTx, alert_id: str) -> AlertRecord:
    rec = await tx.alerts.get(alert_id)
    if rec is None:
        raise NotFound(f"no alert {alert_id}")
    return rec


class Alerts:
    """Creating candidates (pipeline) and deciding them (operator, officers)."""

    def __init__(self, ctx: DomainContext, episodes: EpisodeSettings | None = None) -> None:
        self.ctx = ctx
        self.episode_settings = episodes or EpisodeSettings()
        """The window and rejected margin sightings join episodes by (issue 15)."""

    async def create_candidate(self, deployment_id: str, entry_id: str, camera_id: str,
                               score: float, captured_at: datetime | float,
                               face_crop_jpeg: bytes, torso_jpeg: bytes) -> AlertRecord:
        """Persist a match (R4) of a live deployment: returns once it is committed.

        ``entry_id`` must be an entry of ``deployment_id`` (else :class:`NotFound`). A blue-list
        entry gives a ``test`` event (R21). ``captured_at`` may be epoch seconds (a Frame's).
        :meth:`seal_candidate` then :meth:`store_candidate`.
        """
        sealed = await self.seal_candidate(deployment_id, entry_id, camera_id, score,
                                           captured_at, face_crop_jpeg, torso_jpeg)
        return await self.store_candidate(sealed)

    async def seal_candidate(self, deployment_id: str, entry_id: str, camera_id: str,
                             score: float, captured_at: datetime | float,
                             face_crop_jpeg: bytes, torso_jpeg: bytes, *,
                             alert_id: str | None = None) -> SealedCandidate:
        """A match accepted: its alert id (the key that makes storing it idempotent) and its
        crops encrypted as they will be stored (R24). Nothing is written. ``alert_id``: the
        key an edge assigned (issue 13), so that a redelivered candidate is stored once."""
        if isinstance(captured_at, int | float):
            captured_at = datetime.fromtimestamp(float(captured_at), UTC)
        if not face_crop_jpeg or not torso_jpeg:
            raise DomainError("a candidate needs its face crop and torso image (R4, R6)")
        keys = self.ctx.keys
        face = await keys.seal(deployment_id, "face", face_crop_jpeg)
        torso = await keys.seal(deployment_id, "torso", torso_jpeg)
        return SealedCandidate(id=alert_id or secrets.token_hex(8), deployment_id=deployment_id,
                               entry_id=entry_id, camera_id=camera_id, score=float(score),
                               captured_at=captured_at, face=face, torso=torso)

    async def store_candidate(self, sealed: SealedCandidate) -> AlertRecord:
        """Commit an accepted match, then announce it (:class:`CandidateRaised`).

        Idempotent by ``sealed.id``: a retry after an ambiguous failure (COMMIT raised after
        the rows reached the WAL) finds the alert and stores nothing twice. That alert was
        never announced here; its audit row is un-staged, so following the audit log
        (``events.follow``) announces it once it is seen committed."""
        row: AuditRecord | None = None
        try:
            async with self.ctx.store.transaction() as tx:
                existing = await tx.alerts.get(sealed.id)
                if existing is not None:
                    return existing
                dep = await load(tx, sealed.deployment_id)
                entry = await tx.watchlists.get_entry(sealed.entry_id)
                # R21: a blue-list volunteer is also looked for before going live (the pre-
                # live check, kernel.pipeline.session); any other match only while live
                if dep.state != "live" and not (
                        dep.state == "authorised" and entry is not None
                        and entry.list == "blue"):
                    raise TransitionRefused(f"deployment {sealed.deployment_id} is "
                                            f"{dep.state}; matches are recorded only while "
                                            "it is live")
                if entry is None or entry.deployment_id != sealed.deployment_id:
                    raise NotFound(f"entry {sealed.entry_id} is not on a list of deployment "
                                   f"{sealed.deployment_id}; nothing stored (R3)")
                now = self.ctx.clock.now()
                rec = AlertRecord(
                    id=sealed.id, deployment_id=sealed.deployment_id, entry_id=sealed.entry_id,
                    list=entry.list, category=entry.category, camera_id=sealed.camera_id,
                    score=sealed.score, captured_at=sealed.captured_at, created_at=now,
                    state="test" if entry.list == "blue" else "candidate",
                    face_blob=sealed.face.id, torso_blob=sealed.torso.id)
                details: dict[str, object] = {"camera": sealed.camera_id,
                                              "score": round(sealed.score, 4)}
                if entry.list == "watch":
                    # issue 15: in this transaction (the stores serialise them), so two
                    # sightings raised at once join one episode
                    episode = joined(await tx.alerts.of_entry(sealed.deployment_id,
                                                              sealed.entry_id),
                                     sealed.captured_at, self.episode_settings)
                    placed = place(rec.id, rec.score, episode, self.episode_settings)
                    rec.episode_id, rec.seen_again = placed.episode_id, placed.seen_again
                    details["episode"] = placed.episode_id
                    if placed.seen_again:
                        details["seen_again"] = True
                    if placed.state == "rejected":  # the episode's rejection stands
                        rec.state, rec.decided_by, rec.decided_at = "rejected", EPISODE_ACTOR, now
                        details["rejected_with_episode"] = True
                await tx.blobs.insert(sealed.face)
                await tx.blobs.insert(sealed.torso)
                await tx.alerts.insert(rec)
                row = await audit.append(
                    tx, self.ctx.clock, "pipeline",
                    "bluelist.detect" if entry.list == "blue" else "alert.candidate",
                    {"deployment": sealed.deployment_id, "alert": rec.id,
                     "entry": sealed.entry_id}, details)
                self.ctx.events.stage(row)
        except BaseException:
            if row is not None:
                self.ctx.events.unstage(row)
            raise
        crashpoints.reached("candidate.committed")
        self.ctx.events.publish(alert_event(row, rec))
        crashpoints.reached("candidate.announced")
        return rec

    async def get(self, alert_id: str) -> AlertRecord:
        async with self.ctx.store.transaction() as tx:
            return await load_alert(tx, alert_id)

    async def list_for(self, deployment_id: str) -> list[AlertRecord]:
        async with self.ctx.store.transaction() as tx:
            await load(tx, deployment_id)
            return await tx.alerts.in_deployment(deployment_id)

    async def listing_for(self, role: Role, deployment_id: str | None = None,
                          state: AlertState | None = None) -> list[AlertRecord]:
        """Watch-list alerts of one deployment (or all) as ``role`` may see them, oldest
        first. R5: an officer gets confirmed alerts only, whatever ``state`` asks; any other
        role gets every watch-list alert, or those in ``state``."""
        states: list[str] = (["confirmed"] if role == "officer"
                             else [state] if state else list(WATCH_STATES))
        async with self.ctx.store.transaction() as tx:
            found = await tx.alerts.in_states(deployment_id, states)
        # an officer has one alert per person: later sightings are updates of it (issue 15)
        return [a for a in found if not a.seen_again] if role == "officer" else found

    async def sightings_for(self, role: Role, alert_id: str) -> list[AlertRecord]:
        """The sightings of ``alert_id``'s episode as ``role`` may see them, oldest first. R5:
        an officer gets the confirmed ones of a confirmed alert only (the alert itself and its
        "seen again" updates); an alert without an episode is its only sighting."""
        rec = await self.get_for(role, alert_id)
        if rec.episode_id is None:
            return [rec]
        async with self.ctx.store.transaction() as tx:
            episode = await self._episode_of(tx, rec)
        sightings = episode.sightings if episode is not None else [rec]
        return [s for s in sightings if role != "officer" or s.state == "confirmed"]

    async def get_for(self, role: Role, alert_id: str) -> AlertRecord:
        """One alert as ``role`` may see it. R5: for an officer an alert that is not a
        confirmed watch-list alert does not exist (:class:`NotFound`, as for a wrong id)."""
        rec = await self.get(alert_id)
        if role == "officer" and (rec.state != "confirmed" or rec.list != "watch"):
            raise NotFound(f"no alert {alert_id}")
        return rec

    async def candidates(self, deployment_id: str | None = None) -> list[AlertRecord]:
        """The operator's queue: undecided watch-list candidates, oldest first (R4)."""
        async with self.ctx.store.transaction() as tx:
            return await tx.alerts.in_states(deployment_id, ["candidate"])

    async def blue_test_events(self, deployment_id: str) -> list[AlertRecord]:
        """Blue-list test events of a deployment, oldest first (R21)."""
        async with self.ctx.store.transaction() as tx:
            return await tx.alerts.in_states(deployment_id, ["test"], "blue")

    async def confirm(self, alert_id: str, actor: str) -> AlertRecord:
        """candidate → confirmed (R5) and queue its notice for the sinks, atomically.

        Episodes (issue 15): confirming a sighting of an open episode confirms every
        undecided sighting of it, and only this one is queued (the episode's alert); a
        ``seen_again`` sighting of a confirmed episode is queued as an update of that alert.
        """
        async with self.ctx.store.transaction() as tx:
            rec = await load_alert(tx, alert_id)
            if rec.state != "candidate" or rec.list != "watch":
                raise TransitionRefused(f"alert {alert_id} is {rec.state}; only a watch-list "
                                        "candidate can be confirmed")
            dep = await load(tx, rec.deployment_id)
            if dep.state != "live":
                raise TransitionRefused(f"deployment {dep.id} is {dep.state}; alerts are "
                                        "confirmed only while it is live")
            now = self.ctx.clock.now()
            episode = await self._episode_of(tx, rec)
            rec.state, rec.decided_by, rec.decided_at = "confirmed", actor, now
            await tx.alerts.update(rec)
            together = []
            if episode is not None and not rec.seen_again:
                # decided once: the episode's other undecided sightings are the same person,
                # shown on the one alert, never an alert of their own
                for other in episode.sightings:
                    if other.id != rec.id and other.state == "candidate":
                        other.state, other.decided_by, other.decided_at = (
                            "confirmed", actor, now)
                        other.seen_again = True
                        await tx.alerts.update(other)
                        together.append(other.id)
            # R5 is checked here, where the outbox is filled (and by the store again)
            seq = await tx.outbox.insert(rec.id, now)
            details: dict[str, object] = {"outbox_seq": seq}
            if rec.episode_id is not None:
                details["episode"] = rec.episode_id
                details["seen_again"] = rec.seen_again
                if rec.seen_again and episode is not None and episode.alert_id:
                    details["update_of"] = episode.alert_id
                if together:
                    details["sightings"] = together
            row = await audit.append(tx, self.ctx.clock, actor, "alert.confirm",
                                     {"deployment": rec.deployment_id, "alert": rec.id},
                                     details)
            self.ctx.events.stage(row)
            crashpoints.reached("confirm.in_transaction")
        crashpoints.reached("confirm.committed")
        # after the commit: the outbox dispatcher and the officers' feed hear of it now
        self.ctx.events.publish(alert_event(row, rec))
        return rec

    async def reject(self, alert_id: str, actor: str, reason: str | None = None
                     ) -> AlertRecord:
        """candidate → rejected (R5): nothing reaches officers. ``reason`` (a code, never
        free text about a person) is audited as ``alert.reject_reason`` in the same
        transaction: a rejection never lacks its reason, a reason never lacks its rejection.

        Rejecting a sighting of an open episode rejects its every undecided sighting (issue
        15); a ``seen_again`` sighting is rejected alone (the confirmed alert stands)."""
        async with self.ctx.store.transaction() as tx:
            rec = await load_alert(tx, alert_id)
            if rec.state != "candidate":
                raise TransitionRefused(f"alert {alert_id} is {rec.state}; only a candidate "
                                        "can be rejected")
            now = self.ctx.clock.now()
            episode = await self._episode_of(tx, rec)
            rec.state, rec.decided_by, rec.decided_at = "rejected", actor, now
            await tx.alerts.update(rec)
            together = []
            if episode is not None and not rec.seen_again:
                for other in episode.sightings:
                    if other.id != rec.id and other.state == "candidate":
                        other.state, other.decided_by, other.decided_at = (
                            "rejected", actor, now)
                        await tx.alerts.update(other)
                        together.append(other.id)
            details: dict[str, object] = {}
            if rec.episode_id is not None:
                details["episode"] = rec.episode_id
                if together:
                    details["sightings"] = together
            row = await audit.append(tx, self.ctx.clock, actor, "alert.reject",
                                     {"deployment": rec.deployment_id, "alert": rec.id},
                                     details or None)
            self.ctx.events.stage(row)
            if reason is not None:
                await audit.append(tx, self.ctx.clock, actor, "alert.reject_reason",
                                   {"deployment": rec.deployment_id, "alert": rec.id},
                                   {"reason": reason})
        self.ctx.events.publish(alert_event(row, rec))
        return rec

    @staticmethod
    async def _episode_of(tx: StoreTx, rec: AlertRecord) -> Episode | None:
        if rec.episode_id is None:
            return None
        sightings = await tx.alerts.of_entry(rec.deployment_id, rec.entry_id)
        return next((e for e in group(sightings) if e.id == rec.episode_id), None)

    async def episodes(self, deployment_id: str | None = None) -> list[Episode]:
        """The console's episodes (issue 15), oldest first, each with every sighting."""
        async with self.ctx.store.transaction() as tx:
            alerts = await tx.alerts.in_states(deployment_id, list(WATCH_STATES))
        return group(alerts)

    async def episode(self, episode_id: str, deployment_id: str | None = None) -> Episode:
        """One episode by its id (its first sighting's); :class:`NotFound` if none, or if it
        is not of ``deployment_id`` (when given: another deployment's id finds nothing)."""
        async with self.ctx.store.transaction() as tx:
            head = await tx.alerts.get(episode_id)
            found = None if head is None else await self._episode_of(tx, head)
        if (found is None or found.id != episode_id or head is None or head.list != "watch"
                or (deployment_id is not None and found.deployment_id != deployment_id)):
            raise NotFound(f"no episode {episode_id}")
        return found

    async def record_outcome(self, alert_id: str, outcome: Outcome, actor: str) -> AlertRecord:
        """An officer's outcome for a confirmed alert (R7); may be corrected, each audited."""
        if outcome not in OUTCOMES:
            raise DomainError(f"outcome must be one of {', '.join(OUTCOMES)} (R7)")
        async with self.ctx.store.transaction() as tx:
            rec = await load_alert(tx, alert_id)
            if rec.state != "confirmed":
                raise TransitionRefused(f"alert {alert_id} is {rec.state}; outcomes are "
                                        "recorded for confirmed alerts only")
            now = self.ctx.clock.now()
            old = rec.outcome
            rec.outcome, rec.outcome_by, rec.outcome_at = outcome, actor, now
            held = outcome in HOLD_OUTCOMES and not rec.hold
            if held:
                rec.hold, rec.hold_by, rec.hold_at = True, actor, now
                rec.released_by = rec.released_at = None
            await tx.alerts.update(rec)
            event = self.ctx.events.staged(await audit.append(
                tx, self.ctx.clock, actor, "alert.outcome",
                {"deployment": rec.deployment_id, "alert": rec.id},
                {"outcome": outcome, "previous": old, "legal_hold": held}))
        self.ctx.events.publish(event)
        return rec

    async def hold(self, alert_id: str, actor: str, reason: str = "") -> AlertRecord:
        """Place an alert on legal hold (R14): retention keeps it until released.

        ``reason`` must not hold personal data (it is audited), e.g. a case or complaint ref.
        """
        async with self.ctx.store.transaction() as tx:
            rec = await load_alert(tx, alert_id)
            if rec.hold:
                raise TransitionRefused(f"alert {alert_id} is already on hold")
            rec.hold, rec.hold_by, rec.hold_at = True, actor, self.ctx.clock.now()
            rec.released_by = rec.released_at = None
            await tx.alerts.update(rec)
            event = self.ctx.events.staged(await audit.append(
                tx, self.ctx.clock, actor, "alert.hold",
                {"deployment": rec.deployment_id, "alert": rec.id}, {"reason": reason}))
        self.ctx.events.publish(event)
        return rec

    async def release(self, alert_id: str, actor: str) -> AlertRecord:
        """Release a legal hold (R14); the normal rule then applies at the next run."""
        async with self.ctx.store.transaction() as tx:
            rec = await load_alert(tx, alert_id)
            if not rec.hold:
                raise TransitionRefused(f"alert {alert_id} is not on hold")
            rec.hold = False
            rec.released_by, rec.released_at = actor, self.ctx.clock.now()
            await tx.alerts.update(rec)
            event = self.ctx.events.staged(await audit.append(
                tx, self.ctx.clock, actor, "alert.release",
                {"deployment": rec.deployment_id, "alert": rec.id}))
        self.ctx.events.publish(event)
        return rec

    async def images(self, alert_id: str) -> AlertImages:
        """Decrypt the camera face crop, torso image and the entry's first photo (R4, R6)."""
        async with self.ctx.store.transaction() as tx:
            rec = await load_alert(tx, alert_id)
            face = await tx.blobs.get(rec.face_blob)
            torso = await tx.blobs.get(rec.torso_blob)
            photos = await tx.watchlists.photos(rec.deployment_id, rec.entry_id)
            photo = await tx.blobs.get(photos[0].photo_blob) if photos else None
        if face is None or torso is None:
            raise NotFound(f"images of alert {alert_id} are gone")
        keys = self.ctx.keys
        return AlertImages(face=await keys.unseal(face), torso=await keys.unseal(torso),
                           watchlist_photo=None if photo is None else await keys.unseal(photo))
