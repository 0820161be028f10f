"""The one post-commit event path: the domain says what it committed, subscribers listen.

Every domain service that commits something another part may want to hear of (a candidate
raised, an alert decided, an outcome recorded, a hold placed or released, a watch-list entry
enrolled or removed, a deployment's state changed) builds a typed :data:`DomainEvent` and
publishes it on :class:`DomainEvents` (``governance.events``) *after* its transaction has
committed: a rolled-back transaction publishes nothing, and a subscriber never sees a change
the store does not hold (persist before announce).

Subscribers are plain callables ``(event) -> None``, called in the committing task right after
the commit. They must not block (hand slow work to a task of their own). One that raises is
logged and skipped: it never fails the caller's call and never undoes its commit; the other
subscribers still hear. Today's subscribers: the live feed (``mobile_api/live_feed.py`` →
:class:`kernel.events.EventBus` → SSE), the outbox dispatcher's wake-up
(:class:`kernel.runtime.Runtime`), the demo (prints candidates) and the walk-past evaluation
(counts them).

**Across processes.** Each event corresponds to exactly one audit row written in the same
transaction (``seq`` is that row's seq): the audit chain (R19) is the committed, gap-free
sequence of events. :meth:`DomainEvents.follow` polls the chain's head every ``interval``
seconds (one row read, ``tx.audit.last()``) and, when another process (the ``pinchpoint``
CLI, a second node) has appended rows, reads only those rows and publishes their events here
(:func:`from_audit`). Rows this process committed itself were marked inside their transaction
(:meth:`DomainEvents.stage`), so they are never announced twice. A change committed elsewhere
reaches the subscribers within about ``interval`` seconds; one made here, at once.

**What an event may carry** (R3, R6): ids, states, categories, camera ids, times, the
actor's account name, and the score of a *match* (a raised candidate). Never an image, a
template, a name or other personal detail of a listed person, nor anything of a face that
matched nothing (a non-match is never recorded, so it has no event). Events are msgspec
Structs tagged by ``type``: ``msgspec.json.encode(event)`` and
``msgspec.json.decode(data, type=DomainEvent)`` carry them to another process unchanged.
``tests/kernel/domain/test_domain_events.py`` fails if a field could carry more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Literal, cast

import msgspec

from kernel.domain.records import (
    AlertRecord,
    AuditRecord,
    Category,
    DeploymentState,
    ListKind,
    Outcome,
)
from kernel.protocols.store import Store, StoreTx

log = logging.getLogger("pinchpoint.events")


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """What every event has: ``seq``, the audit row of the commit (R19), and ``at``, its
    time."""

    seq: int
    at: datetime


class CandidateRaised(_Event, frozen=True, kw_only=True, tag="candidate_raised"):
    """The pipeline recorded a match (R4): a watch-list candidate for the operator, or a
    blue-list test event (``list == "blue"``, R21). ``score`` is the match's."""

    alert_id: str
    deployment_id: str
    entry_id: str
    list: ListKind
    category: Category
    camera_id: str
    score: float
    captured_at: datetime
    episode_id: str = ""
    """The episode the sighting joined or opened (issue 15); empty for a blue-list event."""
    seen_again: bool = False
    """A later sighting of a confirmed episode: held for the operator's one-key confirm."""
    rejected: bool = False
    """Rejected with its episode (its score did not rise by the margin): nothing to decide."""


class AlertDecided(_Event, frozen=True, kw_only=True, tag="alert_decided"):
    """The operator confirmed (the outbox holds its notice) or rejected a candidate (R5)."""

    alert_id: str
    deployment_id: str
    state: Literal["confirmed", "rejected"]
    actor: str
    category: Category
    camera_id: str
    decided_at: datetime
    episode_id: str = ""
    seen_again: bool = False
    """Confirmed: an update ("seen again") of the episode's alert, not an alert of its own."""
    update_of: str = ""
    """The alert (id) a confirmed ``seen_again`` sighting updates; else empty."""


class OutcomeRecorded(_Event, frozen=True, kw_only=True, tag="outcome_recorded"):
    """An officer recorded (or corrected) what happened after a confirmed alert (R7)."""

    alert_id: str
    deployment_id: str
    outcome: Outcome
    actor: str
    legal_hold: bool


class HoldChanged(_Event, frozen=True, kw_only=True, tag="hold_changed"):
    """An alert was placed on legal hold or released (R14)."""

    alert_id: str
    deployment_id: str
    hold: bool
    actor: str


class EntryChanged(_Event, frozen=True, kw_only=True, tag="entry_changed"):
    """A watch-list or blue-list entry was enrolled (a photo added) or removed (R8-R10)."""

    entry_id: str
    deployment_id: str
    list: ListKind
    change: Literal["enrolled", "removed"]
    actor: str


class DeploymentChanged(_Event, frozen=True, kw_only=True, tag="deployment_changed"):
    """A deployment was created or changed state (R9, R16, R18), or was wiped."""

    deployment_id: str
    state: DeploymentState | Literal["wiped"]
    actor: str


DomainEvent = (CandidateRaised | AlertDecided | OutcomeRecorded | HoldChanged | EntryChanged
               | DeploymentChanged)
"""Every kind of post-commit event (a tagged union: decode with ``type=DomainEvent``)."""

EVENT_TYPES: tuple[type[_Event], ...] = (CandidateRaised, AlertDecided, OutcomeRecorded,
                                         HoldChanged, EntryChanged, DeploymentChanged)

Subscriber = Callable[[DomainEvent], None]

_STAGED_MAX = 4096

_ALERT_ACTIONS = frozenset({"alert.candidate", "bluelist.detect", "alert.confirm",
                            "alert.reject"})
_DEPLOYMENT_STATES: dict[str, DeploymentState | Literal["wiped"]] = {
    "deployment.create": "draft", "deployment.authorised": "authorised",
    "deployment.live": "live", "deployment.ended": "ended", "deployment.closed": "closed",
    "deployment.wipe": "wiped"}


def alert_event(row: AuditRecord, rec: AlertRecord) -> CandidateRaised | AlertDecided | None:
    """The event of an alert's audit row (``alert.candidate``, ``bluelist.detect``,
    ``alert.confirm``, ``alert.reject``), with the alert's immutable facts from ``rec``."""
    if row.action in ("alert.candidate", "bluelist.detect"):
        return CandidateRaised(seq=row.seq, at=row.at, alert_id=rec.id,
                               deployment_id=rec.deployment_id, entry_id=rec.entry_id,
                               list=rec.list, category=rec.category, camera_id=rec.camera_id,
                               score=rec.score, captured_at=rec.captured_at,
                               episode_id=rec.episode_id or "",
                               seen_again=bool(row.details.get("seen_again")),
                               rejected=bool(row.details.get("rejected_with_episode")))
    if row.action in ("alert.confirm", "alert.reject"):
        return AlertDecided(seq=row.seq, at=row.at, alert_id=rec.id,
                            deployment_id=rec.deployment_id,
                            state="confirmed" if row.action == "alert.confirm" else "rejected",
                            actor=row.actor, category=rec.category, camera_id=rec.camera_id,
                            decided_at=rec.decided_at or row.at,
                            episode_id=rec.episode_id or "",
                            seen_again=bool(row.details.get("seen_again")),
                            update_of=str(row.details.get("update_of") or ""))
    return None


def row_event(row: AuditRecord) -> DomainEvent | None:
    """The event of an audit row that needs nothing but the row itself (outcome, hold,
    entry, deployment); ``None`` for rows that announce nothing."""
    subjects, details = row.subjects, row.details
    dep = subjects.get("deployment", "")
    if row.action == "alert.outcome":
        return OutcomeRecorded(seq=row.seq, at=row.at, alert_id=subjects["alert"],
                               deployment_id=dep, outcome=cast(Outcome, details["outcome"]),
                               actor=row.actor, legal_hold=bool(details.get("legal_hold")))
    if row.action in ("alert.hold", "alert.release"):
        return HoldChanged(seq=row.seq, at=row.at, alert_id=subjects["alert"],
                           deployment_id=dep, hold=row.action == "alert.hold", actor=row.actor)
    if row.action in ("watchlist.enrol", "watchlist.remove"):
        return EntryChanged(seq=row.seq, at=row.at, entry_id=subjects["entry"],
                            deployment_id=dep, list=cast(ListKind, details["list"]),
                            change="enrolled" if row.action == "watchlist.enrol"
                            else "removed", actor=row.actor)
    state = _DEPLOYMENT_STATES.get(row.action)
    if state is not None:
        return DeploymentChanged(seq=row.seq, at=row.at, deployment_id=dep, state=state,
                                 actor=row.actor)
    return None


async def from_audit(tx: StoreTx, row: AuditRecord) -> DomainEvent | None:
    """The event of a committed audit row, read back (another process's commit): the same
    event the committing process published. ``None`` when the row announces nothing or its
    alert is already gone (retention)."""
    if row.action in _ALERT_ACTIONS:
        rec = await tx.alerts.get(row.subjects.get("alert", ""))
        return None if rec is None else alert_event(row, rec)
    return row_event(row)


class DomainEvents:
    """Post-commit publication: :meth:`subscribe`, :meth:`publish`, and :meth:`follow` for
    the commits of other processes."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._staged: dict[int, str] = {}
        """Audit seq → hash of the rows this process committed (or tried to)."""
        self._follower: asyncio.Task[None] | None = None
        self._followers = 0
        self.failures = 0
        """Subscriber calls that raised (each logged)."""

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber`` with every event from now on; returns the unsubscribe."""
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(subscriber)

        return unsubscribe

    def stage(self, row: AuditRecord) -> None:
        """Inside a transaction: mark its audit row as this process's, so :meth:`follow`
        never announces it a second time. A row rolled back is never matched (its hash
        covers its time and content) and is forgotten once :meth:`follow` passes its seq."""
        self._staged[row.seq] = row.hash
        while len(self._staged) > _STAGED_MAX:  # nobody follows: keep the newest only
            del self._staged[next(iter(self._staged))]

    def unstage(self, row: AuditRecord) -> None:
        """The commit of ``row``'s transaction raised: if the row was committed all the same
        (an ambiguous failure), :meth:`follow` is to announce it, once it sees it."""
        if self._staged.get(row.seq) == row.hash:
            del self._staged[row.seq]

    def staged(self, row: AuditRecord) -> DomainEvent | None:
        """:meth:`stage` ``row`` and return its event (:func:`row_event`) to publish."""
        self.stage(row)
        return row_event(row)

    def publish(self, event: DomainEvent | None) -> None:
        """After the commit: hand ``event`` to every subscriber (``None``: nothing to say).
        Never raises."""
        if event is None:
            return
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception:  # a subscriber's bug must not undo or fail the commit
                self.failures += 1
                log.exception("event subscriber %r failed on %s", subscriber,
                              type(event).__name__)

    @contextlib.asynccontextmanager
    async def follow(self, store: Store, interval: float) -> AsyncIterator[None]:
        """While open, publish what other processes commit to ``store`` (see the module
        docstring): a poll of the audit head every ``interval`` seconds. What was committed
        before it opened is not replayed; what is committed after, is published. Re-entrant:
        one poll runs however many callers follow."""
        if not interval > 0:
            raise ValueError("the follow interval must be positive")
        self._followers += 1
        if self._follower is None:
            cursor: int | None = None
            try:
                cursor = await self.catch_up(store, None)
            except Exception as exc:  # the poll retries; the caller must still start
                log.warning("reading the audit head failed: %s", type(exc).__name__)
            self._follower = asyncio.create_task(self._follow(store, interval, cursor),
                                                 name="domain-events-follow")
        try:
            yield
        finally:
            self._followers -= 1
            if self._followers == 0 and self._follower is not None:
                task, self._follower = self._follower, None
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _follow(self, store: Store, interval: float, cursor: int | None) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                cursor = await self.catch_up(store, cursor)
            except Exception as exc:  # a transient store error: try again at the next tick
                log.warning("following other processes' commits failed: %s",
                            type(exc).__name__)

    async def catch_up(self, store: Store, cursor: int | None, limit: int = 200) -> int:
        """Publish the events of rows after ``cursor`` that this process did not commit;
        returns the new cursor. With ``cursor`` ``None`` only the head is read (what was
        committed before one started following is not replayed)."""
        async with store.transaction() as tx:
            head = await tx.audit.last()
            top = 0 if head is None else head.seq
            events: list[DomainEvent] = []
            cursor = top if cursor is None else cursor
            while cursor < top:
                rows = await tx.audit.page(cursor, limit)
                if not rows:
                    break
                for row in rows:
                    if self._staged.pop(row.seq, None) == row.hash:
                        continue
                    event = await from_audit(tx, row)
                    if event is not None:
                        events.append(event)
                cursor = rows[-1].seq
        for seq in [s for s in self._staged if s <= cursor]:
            del self._staged[seq]
        for event in events:
            self.publish(event)
        return cursor
