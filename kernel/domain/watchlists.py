"""Watch lists (R8-R12) and the blue watch list of volunteers (R21).

A list belongs to one deployment. An entry's personal fields (reference, source, reason) are
stored encrypted, and so are each enrolled photo and its template (R24). Enrolment hands the
uploaded bytes to :meth:`FaceEngine.enrol`; an unusable image is refused with the engine's
reason (R10), nothing of it is stored, and the refusal is audited (reason only). What is stored
of a photo is never the uploaded bytes but a re-encoded JPEG of its upright pixels, with no
metadata (:mod:`kernel.images.reencode`), in the domain's pool; a photo that cannot be
re-encoded is refused. A *soft* refusal (a small, turned, blurred or unclear face: it can still be
matched, less often) may be accepted by the enroller with a recorded reason: the photo is
enrolled, the entry's photo records the gates it missed and the reason, and
``watchlist.enrol_accepted_below_gate`` is audited with both (R19). A hard refusal (no usable
face at all) can never be accepted. An entry may hold several photos: enrolling with
``entry_id`` adds one (audited ``new_entry: false``).

The watch list can change only before the deployment goes live; each change bumps
``watchlist_version``, so a review (R9) covers exactly the list it saw. The blue list may
change while live: it never raises officer alerts and needs no review.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import msgspec
import numpy as np
import numpy.typing as npt

from kernel.domain import audit
from kernel.domain.bluelist_scores import MAX_WALK_WINDOW_S
from kernel.domain.context import DomainContext
from kernel.domain.deployments import load
from kernel.domain.errors import DomainError, NotFound, TransitionRefused
from kernel.domain.records import (
    BlueWalk,
    Category,
    DeploymentRecord,
    EntryRecord,
    ListKind,
    PhotoGate,
    PhotoRecord,
    ReviewRecord,
)
from kernel.images.reencode import reencode_upload
from kernel.images.upload_decode import UnusableImage
from kernel.protocols.engine import FaceEngine
from kernel.protocols.store import StoreTx

WATCH_CATEGORIES: tuple[Category, ...] = ("wanted", "risk_of_harm", "area_condition",
                                         "vulnerable_missing")


class EntryDetails(msgspec.Struct, kw_only=True, frozen=True):
    """The personal part of an entry, stored only encrypted."""

    reference: str
    source: str
    reason: str


class EntryInput(msgspec.Struct, kw_only=True, frozen=True):
    """A new entry's fields (R8). For the blue list, category is ``blue`` and the reference is
    the volunteer's staff reference."""

    reference: str
    category: Category
    source: str
    reason: str
    marking: str = "OFFICIAL-SENSITIVE"
    list: ListKind = "watch"


ACCEPT_REASON_MAX = 500
"""The longest accept reason (characters): a sentence or two for the record, not a file."""


def clean_accept_reason(text: str | None) -> str | None:
    """The enroller's reason for accepting a soft refusal, trimmed; ``None`` when none was
    given. Refuses an empty or whitespace-only reason, one longer than
    :data:`ACCEPT_REASON_MAX` or one with control characters (it goes into the audit log)."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise DomainError("the accept reason must be text")
    reason = text.strip()
    if not reason:
        raise DomainError("an accept reason cannot be empty: say why this photo should be "
                          "enrolled although it is below the enrolment gate (R10)")
    if len(reason) > ACCEPT_REASON_MAX:
        raise DomainError(f"the accept reason is {len(reason)} characters long; at most "
                          f"{ACCEPT_REASON_MAX} are kept")
    if any((ord(c) < 32 and c not in "\t\n") or ord(c) == 127 for c in reason):
        raise DomainError("the accept reason contains control characters")
    return reason


class EnrolResult(msgspec.Struct, kw_only=True, frozen=True):
    """One image's result (R10): ``ok`` with the entry and template key, or the rejection.

    ``gates``: every enrolment gate the face missed. ``acceptable``: the refusal is soft, so the
    enroller may enrol the photo anyway with an accept reason; ``cost`` is then the measured
    expected cost of doing so and ``measurements`` what the gate measured (face_px, sharpness,
    yaw, pitch, score). ``accepted``: enrolled below the gate with the given reason.
    ``found``: how the face was found (``direct`` or ``padded``)."""

    ok: bool
    message: str
    rejection: str | None = None
    entry_id: str | None = None
    key: int | None = None
    new_entry: bool = False
    gates: tuple[str, ...] = ()
    acceptable: bool = False
    cost: str = ""
    measurements: dict[str, float] = {}
    accepted: bool = False
    found: str | None = None


class Entry(msgspec.Struct, kw_only=True, frozen=True):
    """An entry as shown to roles that may see watch-list data (R11)."""

    id: str
    deployment_id: str
    list: ListKind
    category: Category
    marking: str
    reference: str
    source: str
    reason: str
    photos: int
    created_at: datetime
    created_by: str
    photo_gates: tuple[PhotoGate, ...] = ()
    """How each photo, oldest first, passed the enrolment gate (R10)."""


@dataclass(frozen=True)
class Template:
    """A template for the matcher's index: ``key`` goes into the :class:`VectorIndex`."""

    key: int
    entry_id: str
    deployment_id: str
    list: ListKind
    category: Category
    model_id: str
    embedding: npt.NDArray[np.float32]


async def load_entry(tx: StoreTx, entry_id: str) -> EntryRecord:
    rec = await tx.watchlists.get_entry(entry_id)
    if rec is None:
        raise NotFound(f"no watch-list entry {entry_id}")
    return rec


class WatchLists:
    """Enrolment, review and reading of a deployment's watch and blue lists."""

    def __init__(self, ctx: DomainContext) -> None:
        self.ctx = ctx

    async def _check_editable(self, tx: StoreTx, deployment_id: str, kind: ListKind) -> None:
        dep = await load(tx, deployment_id)
        allowed = ("draft", "authorised", "live") if kind == "blue" else ("draft", "authorised")
        if dep.state not in allowed:
            raise TransitionRefused(f"the {kind} list of deployment {deployment_id} cannot "
                                    f"change while it is {dep.state}")

    async def enrol(self, deployment_id: str, engine: FaceEngine, data: bytes, *, actor: str,
                    entry: EntryInput | None = None, entry_id: str | None = None,
                    label: str = "", accept_reason: str | None = None) -> EnrolResult:
        """Enrol one photo: into a new entry (``entry``) or an existing one (``entry_id``).

        ``accept_reason`` (trimmed, non-empty, at most :data:`ACCEPT_REASON_MAX` characters)
        enrols a photo the engine soft-refused; it is ignored for a photo that passes and
        cannot override a hard refusal. ``label`` (e.g. a file name) is returned in messages
        only, never stored.
        """
        if (entry is None) == (entry_id is None):
            raise DomainError("enrol needs either a new entry's fields or an existing entry id")
        accept = clean_accept_reason(accept_reason)
        if entry is not None:
            if entry.list == "blue" and entry.category != "blue":
                raise DomainError("blue-list entries have category 'blue' (R21)")
            if entry.list == "watch" and entry.category not in WATCH_CATEGORIES:
                raise DomainError(f"watch-list category must be one of "
                                  f"{', '.join(WATCH_CATEGORIES)} (R8)")
            if not entry.reference.strip():
                raise DomainError("an entry needs a reference (R8)")
        async with self.ctx.store.transaction() as tx:
            if entry_id is not None:
                existing = await load_entry(tx, entry_id)
                if existing.deployment_id != deployment_id:
                    raise NotFound(f"entry {entry_id} is not in deployment {deployment_id}")
                kind: ListKind = existing.list
            else:
                assert entry is not None
                kind = entry.list
            await self._check_editable(tx, deployment_id, kind)

        result = await engine.enrol(data)
        prefix = f"{label}: " if label else ""
        q = result.quality
        quality = ({} if q is None else
                   {"face_px": float(q.face_px), "sharpness": float(q.sharpness),
                    "yaw": float(q.yaw), "pitch": float(q.pitch), "score": float(q.score)})
        gates = tuple(str(r) for r in q.reasons) if q is not None else ()
        found = str(result.found) if result.found is not None else None
        acceptable = result.rejection is not None and result.acceptable
        refused = result.rejection is not None or result.embedding is None
        if refused and not (acceptable and accept is not None):
            reason = str(result.rejection or "no_template")
            message = result.message or reason
            if acceptable:
                message += (f" {result.cost}" if result.cost else "") + (
                    " It can still be enrolled with an accept reason.")
            elif accept is not None:
                message += " This refusal cannot be accepted: the photo has no face that " \
                           "can be matched."
            return await self._refuse(deployment_id, entry_id, kind, actor, reason,
                                      prefix + message, gates=gates, acceptable=acceptable,
                                      accept_refused=accept is not None, cost=result.cost,
                                      measurements=quality, found=found)
        try:
            # never the uploaded bytes: EXIF (GPS), XMP, ICC, comments and trailing bytes go,
            # the orientation is applied, and every stored photo is one JPEG (finding 10)
            stored = await self.ctx.executor.run(reencode_upload, data)
        except UnusableImage as exc:
            reason = "too_large" if exc.too_large else "not_an_image"
            return await self._refuse(deployment_id, entry_id, kind, actor, reason,
                                      f"{prefix}The photo could not be re-encoded for "
                                      f"storage ({exc}).", found=found)
        assert result.embedding is not None
        below = result.rejection is not None  # accepted below the gate (checked above)

        now = self.ctx.clock.now()
        keys = self.ctx.keys
        emb = np.ascontiguousarray(result.embedding, dtype=np.float32)
        photo = await keys.seal(deployment_id, "photo", stored)
        template = await keys.seal(deployment_id, "template", emb.tobytes())
        gate = PhotoGate(found=found or "direct", below_gate=gates if below else (),
                         accept_reason=(accept or "") if below else "")
        model_id = str(getattr(engine, "model_id", "unknown"))
        async with self.ctx.store.transaction() as tx:
            # state is checked again: it may have changed while the engine worked
            await self._check_editable(tx, deployment_id, kind)
            if entry is not None:
                new_id = secrets.token_hex(8)
                details = EntryDetails(reference=entry.reference, source=entry.source,
                                       reason=entry.reason)
                blob = await keys.seal(deployment_id, "details", msgspec.json.encode(details))
                await tx.blobs.insert(blob)
                await tx.watchlists.insert_entry(EntryRecord(
                    id=new_id, deployment_id=deployment_id, list=entry.list,
                    category=entry.category, marking=entry.marking, details_blob=blob.id,
                    created_at=now, created_by=actor))
                target = new_id
            else:
                assert entry_id is not None
                target = entry_id
            await tx.blobs.insert(photo)
            await tx.blobs.insert(template)
            key = await tx.watchlists.insert_photo(PhotoRecord(
                key=0, entry_id=target, deployment_id=deployment_id, photo_blob=photo.id,
                template_blob=template.id, model_id=model_id, quality=quality, created_at=now,
                gate=gate))
            photos = len(await tx.watchlists.photos(deployment_id, target))
            if kind == "watch":
                await self._bump(tx, deployment_id)
            subjects = {"deployment": deployment_id, "entry": target}
            details_: dict[str, object] = {"list": kind, "key": key,
                                           "new_entry": entry is not None, "photos": photos,
                                           "found": gate.found}
            event = self.ctx.events.staged(await audit.append(
                tx, self.ctx.clock, actor, "watchlist.enrol", subjects, details_))
            if below:
                await audit.append(tx, self.ctx.clock, actor,
                                   "watchlist.enrol_accepted_below_gate", subjects,
                                   {"list": kind, "key": key, "gates": list(gates),
                                    "accept_reason": gate.accept_reason,
                                    "measurements": quality})
        self.ctx.events.publish(event)
        done = "enrolled below the enrolment gate (accepted with a reason)" if below else \
            "enrolled"
        if gate.found == "padded":
            done += " (face found after padding the photo)"
        return EnrolResult(ok=True, entry_id=target, key=key, new_entry=entry is not None,
                           message=prefix + done, gates=gates if below else (),
                           accepted=below, cost=result.cost if below else "",
                           measurements=quality, found=gate.found)

    async def _refuse(self, deployment_id: str, entry_id: str | None, kind: ListKind,
                      actor: str, reason: str, message: str, *, gates: tuple[str, ...] = (),
                      acceptable: bool = False, accept_refused: bool = False, cost: str = "",
                      measurements: dict[str, float] | None = None,
                      found: str | None = None) -> EnrolResult:
        """Audit a refused photo (its reason only, R10/R19) and say why; nothing is stored."""
        async with self.ctx.store.transaction() as tx:
            await audit.append(tx, self.ctx.clock, actor, "watchlist.enrol_rejected",
                               {"deployment": deployment_id,
                                **({"entry": entry_id} if entry_id else {})},
                               {"reason": reason, "list": kind, "gates": list(gates),
                                "acceptable": acceptable, "accept_refused": accept_refused})
        return EnrolResult(ok=False, rejection=reason, message=message, gates=gates,
                           acceptable=acceptable, cost=cost, measurements=measurements or {},
                           found=found)

    async def _bump(self, tx: StoreTx, deployment_id: str) -> None:
        dep = await load(tx, deployment_id)
        dep.watchlist_version += 1
        await tx.deployments.update(dep)

    async def remove_entry(self, entry_id: str, actor: str) -> None:
        """Delete an entry before the deployment goes live (a mistaken enrolment)."""
        async with self.ctx.store.transaction() as tx:
            rec = await load_entry(tx, entry_id)
            await self._check_editable(tx, rec.deployment_id, rec.list)
            photos = await tx.watchlists.photos(rec.deployment_id, entry_id)
            blobs = [rec.details_blob] + [p.photo_blob for p in photos] + [
                p.template_blob for p in photos if p.template_blob]
            await tx.watchlists.delete_entries([entry_id])
            await tx.blobs.delete(blobs)
            if rec.list == "watch":
                await self._bump(tx, rec.deployment_id)
            event = self.ctx.events.staged(await audit.append(
                tx, self.ctx.clock, actor, "watchlist.remove",
                {"deployment": rec.deployment_id, "entry": entry_id},
                {"list": rec.list, "photos": len(photos)}))
        self.ctx.events.publish(event)

    async def review(self, deployment_id: str, reviewer: str) -> ReviewRecord:
        """Record that ``reviewer`` reviewed the watch list as it is now (R9)."""
        if not reviewer.strip():
            raise DomainError("a review needs the reviewer's name (R9)")
        async with self.ctx.store.transaction() as tx:
            dep = await load(tx, deployment_id)
            if dep.state not in ("draft", "authorised"):
                raise TransitionRefused(f"deployment {deployment_id} is {dep.state}; its watch "
                                        "list is no longer reviewed")
            entries = await tx.watchlists.entries(deployment_id, "watch")
            rec = ReviewRecord(deployment_id=deployment_id, reviewer=reviewer,
                               reviewed_at=self.ctx.clock.now(),
                               watchlist_version=dep.watchlist_version, entries=len(entries))
            await tx.watchlists.insert_review(rec)
            await audit.append(tx, self.ctx.clock, reviewer, "watchlist.review",
                               {"deployment": deployment_id},
                               {"watchlist_version": rec.watchlist_version,
                                "entries": rec.entries})
            return rec

    async def entry(self, entry_id: str) -> EntryRecord:
        """One entry (its personal details stay sealed), or :class:`NotFound`."""
        async with self.ctx.store.transaction() as tx:
            return await load_entry(tx, entry_id)

    async def last_review(self, deployment_id: str) -> ReviewRecord | None:
        async with self.ctx.store.transaction() as tx:
            await load(tx, deployment_id)
            return await tx.watchlists.last_review(deployment_id)

    async def entries(self, deployment_id: str, list_kind: ListKind | None = None
                      ) -> list[Entry]:
        """The entries with their decrypted details (for roles allowed to see them, R11)."""
        async with self.ctx.store.transaction() as tx:
            await load(tx, deployment_id)
            recs = await tx.watchlists.entries(deployment_id, list_kind)
            photos = await tx.watchlists.photos(deployment_id)
            blobs = {r.id: await tx.blobs.get(r.details_blob) for r in recs}
        gates: dict[str, list[PhotoGate]] = {}
        for p in photos:
            gates.setdefault(p.entry_id, []).append(p.gate)
        out = []
        for r in recs:
            blob = blobs[r.id]
            if blob is None:
                raise NotFound(f"details of entry {r.id} are missing")
            d = msgspec.json.decode(await self.ctx.keys.unseal(blob), type=EntryDetails)
            out.append(Entry(id=r.id, deployment_id=r.deployment_id, list=r.list,
                             category=r.category, marking=r.marking, reference=d.reference,
                             source=d.source, reason=d.reason,
                             photos=len(gates.get(r.id, [])),
                             created_at=r.created_at, created_by=r.created_by,
                             photo_gates=tuple(gates.get(r.id, []))))
        return out

    async def photos(self, entry_id: str) -> list[bytes]:
        """The decrypted enrolled photos of one entry, oldest first."""
        async with self.ctx.store.transaction() as tx:
            rec = await load_entry(tx, entry_id)
            photos = await tx.watchlists.photos(rec.deployment_id, entry_id)
            blobs = [await tx.blobs.get(p.photo_blob) for p in photos]
        return [await self.ctx.keys.unseal(b) for b in blobs if b is not None]

    async def templates(self, deployment_id: str) -> list[Template]:
        """Every live template of the deployment's watch and blue lists, for the matcher."""
        async with self.ctx.store.transaction() as tx:
            await load(tx, deployment_id)
            entries = {e.id: e for e in await tx.watchlists.entries(deployment_id)}
            photos = [p for p in await tx.watchlists.photos(deployment_id) if p.template_blob]
            blobs = {p.key: await tx.blobs.get(p.template_blob or "") for p in photos}
        out = []
        for p in photos:
            blob, e = blobs[p.key], entries[p.entry_id]
            if blob is None:
                continue
            emb = np.frombuffer(await self.ctx.keys.unseal(blob), dtype=np.float32).copy()
            out.append(Template(key=p.key, entry_id=p.entry_id, deployment_id=deployment_id,
                                list=e.list, category=e.category, model_id=p.model_id,
                                embedding=emb))
        return out

    async def checking(self, now: datetime) -> list[DeploymentRecord]:
        """Authorised deployments (not yet live) with a blue-list walk-past window open at
        ``now``: the pipeline matches their blue list alone while it lasts, the technical
        lead's check before going live (R21; :mod:`kernel.domain.bluelist_scores`)."""
        out = []
        async with self.ctx.store.transaction() as tx:
            for dep in await tx.deployments.all():
                if dep.state != "authorised":
                    continue
                walks = await tx.watchlists.blue_walks(dep.id)
                if any(w.until is not None and w.at <= now <= w.until for w in walks):
                    out.append(dep)
        return out

    async def record_blue_walk(self, deployment_id: str, entry_id: str, at: datetime,
                               actor: str, *, until: datetime | None = None,
                               camera_id: str | None = None) -> BlueWalk:
        """Declare that a blue-list volunteer walks past the cameras (R21): at ``at``, or
        over ``[at, until]`` on ``camera_id`` ("walking past camera N now"; at most
        :data:`~kernel.domain.bluelist_scores.MAX_WALK_WINDOW_S` long). Which cameras
        exist is the caller's to check (the domain does not run them). Audited."""
        if at.tzinfo is None or (until is not None and until.tzinfo is None):
            raise DomainError("walk-past times must carry a timezone")
        if until is not None and not 0 < (until - at).total_seconds() <= MAX_WALK_WINDOW_S:
            raise DomainError(f"a walk-past window lasts more than 0 and at most "
                              f"{MAX_WALK_WINDOW_S:.0f} seconds")
        walk = BlueWalk(deployment_id=deployment_id, entry_id=entry_id, at=at, until=until,
                        camera_id=camera_id)
        async with self.ctx.store.transaction() as tx:
            rec = await load_entry(tx, entry_id)
            if rec.deployment_id != deployment_id or rec.list != "blue":
                raise DomainError(f"entry {entry_id} is not on the blue list of deployment "
                                  f"{deployment_id} (R21)")
            await tx.watchlists.insert_blue_walk(walk)
            details: dict[str, object] = {"at": at.isoformat()}
            if until is not None:
                details["until"] = until.isoformat()
            if camera_id is not None:
                details["camera"] = camera_id
            await audit.append(tx, self.ctx.clock, actor, "bluelist.walk",
                               {"deployment": deployment_id, "entry": entry_id}, details)
        return walk
