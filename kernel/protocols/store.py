"""Storage seam: the governed records (deployments, watch lists, alerts, outbox, audit,
disposals) behind a small transactional interface, so that SQLite today and PostgreSQL later
hold the same data under the same rules.

The kernel's domain (:mod:`kernel.domain`) holds every rule; a store only keeps rows. All work
happens inside ``async with store.transaction() as tx``: the calls on ``tx`` commit together
or not at all, which is how "persist before announce" and "alert and outbox row in one
transaction" are kept. A store serialises transactions (one writer at a time).

Personal data never reaches a store in clear: images, templates and watch-list details arrive
as :class:`BlobRecord` ciphertext sealed by the domain with the deployment's key (R24).
Timestamps are timezone-aware UTC ``datetime`` values.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

import msgspec

from kernel.protocols.sink import AlertNotice

DeploymentState = Literal["draft", "authorised", "live", "ended", "closed"]
ListKind = Literal["watch", "blue"]
AlertState = Literal["candidate", "confirmed", "rejected", "test"]
Outcome = Literal[
    "not_stopped",
    "stopped_identity_confirmed",
    "stopped_not_the_person",
    "arrested",
    "other_action",
]
Category = Literal["wanted", "risk_of_harm", "area_condition", "vulnerable_missing", "blue"]


class DeploymentRecord(msgspec.Struct, kw_only=True):
    """One deployment and its authorisation (R18). ``command_team`` holds role-holder names."""

    id: str
    name: str
    authorising_officer: str
    location: str
    starts_at: datetime
    ends_at: datetime
    objectives: str
    case_reference: str
    command_team: list[str]
    state: DeploymentState
    created_at: datetime
    created_by: str
    watchlist_version: int = 0
    match_threshold: float | None = None
    live_at: datetime | None = None
    ended_at: datetime | None = None


class TransitionRecord(msgspec.Struct, kw_only=True, frozen=True):
    """Who moved a deployment from one state to another, and when (R18)."""

    deployment_id: str
    from_state: DeploymentState
    to_state: DeploymentState
    actor: str
    at: datetime


class BlobRecord(msgspec.Struct, kw_only=True, frozen=True):
    """An AES-GCM ciphertext. ``kind`` says what it holds (photo, template, details, face,
    torso); the domain binds id, deployment and kind into the associated data."""

    id: str
    deployment_id: str
    kind: str
    nonce: bytes
    ciphertext: bytes


class EntryRecord(msgspec.Struct, kw_only=True, frozen=True):
    """A watch-list (or blue-list) entry. The personal fields (reference, source, reason) live
    encrypted in ``details_blob``; category and protective marking stay readable for reports."""

    id: str
    deployment_id: str
    list: ListKind
    category: Category
    marking: str
    details_blob: str
    created_at: datetime
    created_by: str


class PhotoGate(msgspec.Struct, kw_only=True, frozen=True):
    """How an enrolled photo passed the enrolment gate (R10, R19).

    ``found``: ``direct`` or ``padded`` (the face was found only after a border was added).
    ``below_gate``: the soft gates it missed (empty: it passed); ``accept_reason``: the
    enroller's recorded reason for enrolling it anyway (empty when it passed).
    """

    found: str = "direct"
    below_gate: tuple[str, ...] = ()
    accept_reason: str = ""


class PhotoRecord(msgspec.Struct, kw_only=True, frozen=True):
    """One enrolled photo of an entry: the encrypted photo and template (R8, R24).

    ``key`` is the int64 under which the template goes into a :class:`VectorIndex`; it is
    assigned by the store (0 on insert). ``template_blob`` is ``None`` once the template was
    destroyed after the deployment (the photo may be kept for a retained alert).
    """

    key: int
    entry_id: str
    deployment_id: str
    photo_blob: str
    template_blob: str | None
    model_id: str
    quality: dict[str, float]
    created_at: datetime
    gate: PhotoGate = PhotoGate()


class ReviewRecord(msgspec.Struct, kw_only=True, frozen=True):
    """A named user's review of the watch list at ``watchlist_version`` (R9)."""

    deployment_id: str
    reviewer: str
    reviewed_at: datetime
    watchlist_version: int
    entries: int


class AlertRecord(msgspec.Struct, kw_only=True):
    """A candidate match and what became of it (R4, R5, R7, R14).

    ``state`` ``test`` marks a blue-list detection (R21): never confirmed, never delivered.
    """

    id: str
    deployment_id: str
    entry_id: str
    list: ListKind
    category: Category
    camera_id: str
    score: float
    captured_at: datetime
    created_at: datetime
    state: AlertState
    face_blob: str
    torso_blob: str
    decided_by: str | None = None
    decided_at: datetime | None = None
    outcome: Outcome | None = None
    outcome_by: str | None = None
    outcome_at: datetime | None = None
    hold: bool = False
    hold_by: str | None = None
    hold_at: datetime | None = None
    released_by: str | None = None
    released_at: datetime | None = None


class AuditRecord(msgspec.Struct, kw_only=True, frozen=True):
    """One link of the hash-chained audit log (R19). ``seq`` is assigned by the domain
    (previous + 1); details hold no personal data."""

    seq: int
    at: datetime
    actor: str
    action: str
    subjects: dict[str, str]
    details: dict[str, object]
    prev_hash: str
    hash: str


class DisposalRecord(msgspec.Struct, kw_only=True, frozen=True):
    """What was destroyed, how much, when and under which rule (R17). Never personal data."""

    at: datetime
    deployment_id: str
    kind: str
    count: int
    rule: str
    actor: str


class FaceCount(msgspec.Struct, kw_only=True, frozen=True):
    """Faces seen and matched by one camera in one minute: the only trace of non-matches (R3)."""

    deployment_id: str
    camera_id: str
    minute: datetime
    seen: int
    matched: int


class BlueWalk(msgspec.Struct, kw_only=True, frozen=True):
    """A declared walk-past of a blue-list volunteer (R21)."""

    deployment_id: str
    entry_id: str
    at: datetime


class StoreTx(Protocol):
    """The operations available inside one transaction. ``get_*`` return ``None`` when absent;
    ``delete_*`` return how many rows went."""

    # deployments (R18)
    async def insert_deployment(self, rec: DeploymentRecord) -> None: ...
    async def update_deployment(self, rec: DeploymentRecord) -> None: ...
    async def get_deployment(self, deployment_id: str) -> DeploymentRecord | None: ...
    async def list_deployments(self) -> list[DeploymentRecord]: ...
    async def insert_transition(self, rec: TransitionRecord) -> None: ...
    async def list_transitions(self, deployment_id: str) -> list[TransitionRecord]: ...
    async def delete_deployment(self, deployment_id: str) -> dict[str, int]:
        """Delete the deployment and every row that belongs to it (R16); counts per kind."""
        ...

    # encrypted blobs (R24)
    async def insert_blob(self, rec: BlobRecord) -> None: ...
    async def get_blob(self, blob_id: str) -> BlobRecord | None: ...
    async def delete_blobs(self, blob_ids: list[str]) -> int: ...
    async def list_blob_ids(self, deployment_id: str) -> list[str]: ...

    # watch lists (R8-R12, R21)
    async def insert_entry(self, rec: EntryRecord) -> None: ...
    async def get_entry(self, entry_id: str) -> EntryRecord | None: ...
    async def list_entries(
        self, deployment_id: str, list_kind: ListKind | None = None
    ) -> list[EntryRecord]: ...
    async def delete_entries(self, entry_ids: list[str]) -> int:
        """Delete entries with their photos and blue walks (not their blobs)."""
        ...
    async def insert_photo(self, rec: PhotoRecord) -> int:
        """Insert and return the assigned template key."""
        ...
    async def list_photos(self, deployment_id: str, entry_id: str | None = None
                          ) -> list[PhotoRecord]: ...
    async def clear_template(self, key: int) -> None: ...
    async def insert_review(self, rec: ReviewRecord) -> None: ...
    async def last_review(self, deployment_id: str) -> ReviewRecord | None: ...
    async def insert_blue_walk(self, rec: BlueWalk) -> None: ...
    async def list_blue_walks(self, deployment_id: str) -> list[BlueWalk]: ...

    # alerts (R4-R7, R13-R15)
    async def insert_alert(self, rec: AlertRecord) -> None:
        """Insert a candidate. The store refuses (raises) an ``entry_id`` that is not an entry
        of ``deployment_id``: there is no way to store a face without a watch-list match (R3)."""
        ...
    async def update_alert(self, rec: AlertRecord) -> None: ...
    async def get_alert(self, alert_id: str) -> AlertRecord | None: ...
    async def list_alerts(self, deployment_id: str) -> list[AlertRecord]: ...
    async def delete_alerts(self, alert_ids: list[str]) -> int: ...

    # outbox (R5, R6)
    async def insert_outbox(self, alert_id: str, confirmed_at: datetime) -> int:
        """Queue a notice of a confirmed alert; returns its seq. The store itself refuses an
        alert that is not ``confirmed`` or is a blue-list event (R5), as a second line."""
        ...
    async def outbox_pending(self, after_seq: int, limit: int) -> list[AlertNotice]: ...
    async def outbox_ack(self, sink_name: str, seq: int) -> None: ...
    async def outbox_position(self, sink_name: str) -> int: ...

    # audit (R19)
    async def last_audit(self) -> AuditRecord | None: ...
    async def insert_audit(self, rec: AuditRecord) -> None: ...
    async def audit_page(self, after_seq: int, limit: int) -> list[AuditRecord]:
        """Rows in storage order (rowid), from the first whose position is after ``after_seq``."""
        ...

    # disposals (R17), statistics (R20)
    async def insert_disposal(self, rec: DisposalRecord) -> None: ...
    async def list_disposals(self, deployment_id: str | None = None) -> list[DisposalRecord]: ...
    async def add_face_counts(self, rec: FaceCount) -> None:
        """Add ``seen``/``matched`` to the row of (deployment, camera, minute)."""
        ...
    async def list_face_counts(self, deployment_id: str) -> list[FaceCount]: ...

    # R5 in the query: alerts of the given states only (an officer's list asks for confirmed)
    async def list_alerts_in_states(self, deployment_id: str | None, states: list[str],
                                    list_kind: ListKind = "watch") -> list[AlertRecord]:
        """Alerts of one deployment (or all, ``None``) whose state is one of ``states``."""
        ...

    # accounts of the HTTP API and the CLI (R23)
    async def insert_user(self, rec: UserRecord) -> None: ...
    async def update_user(self, rec: UserRecord) -> None: ...
    async def get_user(self, name: str) -> UserRecord | None: ...
    async def list_users(self) -> list[UserRecord]: ...
    async def insert_session(self, rec: SessionRecord) -> None: ...
    async def get_session(self, session_id: str) -> SessionRecord | None: ...
    async def touch_session(self, session_id: str, at: datetime) -> None: ...
    async def delete_session(self, session_id: str) -> int: ...
    async def delete_user_sessions(self, name: str) -> int: ...
    async def delete_sessions_before(self, created_before: datetime,
                                     seen_before: datetime) -> int:
        """Delete sessions created before ``created_before`` or idle since ``seen_before``."""
        ...
    async def get_login_failures(self, name: str) -> LoginFailures | None: ...
    async def put_login_failures(self, rec: LoginFailures) -> None: ...
    async def clear_login_failures(self, name: str) -> None: ...
    async def put_push_subscription(self, rec: PushSubscriptionRecord) -> None:
        """Insert, or replace by ``endpoint`` (a device re-subscribing)."""
        ...
    async def delete_push_subscription(self, endpoint: str, name: str | None = None) -> int:
        """Delete by endpoint (only the user's own when ``name`` is given)."""
        ...
    async def list_push_subscriptions(self, name: str | None = None
                                      ) -> list[PushSubscriptionRecord]: ...


@runtime_checkable
class Store(Protocol):
    """A database holding Pinchpoint's governed records.

    ``open()`` checks that the database is Pinchpoint's (never altering a damaged or foreign
    file: it raises :class:`kernel.errors.StoreError`), then applies pending schema migrations.
    Registered as ``store.<name>``, constructed as ``Cls(config, context)``.
    """


    async def open(self) -> None: ...

    def transaction(self) -> AbstractAsyncContextManager[StoreTx]:
        """One atomic unit of work; rolled back if the block raises."""
        ...

    async def compact(self) -> None:
        """Make deleted data physically go (checkpoint the journal, overwrite free pages)."""
        ...

    async def close(self) -> None: ...


Role = Literal["officer", "operator", "technical", "commander", "admin"]
"""The five roles of R23."""


class UserRecord(msgspec.Struct, kw_only=True):
    """A person who may log in (R23). ``password_hash`` is an encoded Argon2id hash."""

    name: str
    role: Role
    password_hash: str
    enabled: bool
    created_at: datetime
    created_by: str
    password_changed_at: datetime


class SessionRecord(msgspec.Struct, kw_only=True):
    """A server-side login session. ``id`` is the SHA-256 of the cookie token (a stolen
    database does not hand out live cookies); ``csrf`` is the session's CSRF token."""

    id: str
    user: str
    csrf: str
    created_at: datetime
    last_seen_at: datetime


class LoginFailures(msgspec.Struct, kw_only=True):
    """Consecutive failed logins for one user name, and the lock they caused (R23)."""

    name: str
    failures: int
    last_failure_at: datetime
    locked_until: datetime | None = None


class PushSubscriptionRecord(msgspec.Struct, kw_only=True, frozen=True):
    """One device's Web Push subscription (R6), owned by a user, optionally tied to one
    deployment (``None``: every deployment)."""

    endpoint: str
    user: str
    p256dh: str
    auth: str
    device: str
    deployment_id: str | None
    created_at: datetime
