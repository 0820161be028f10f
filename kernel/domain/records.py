"""The governed records: what the domain reads and writes through the store seam
(:mod:`kernel.protocols.store`). Plain ``msgspec`` structs with no behaviour; the rules that
produce them live in the domain's services (:mod:`kernel.domain`, :mod:`kernel.auth`).

Personal data never appears here in clear: images, templates and watch-list details are
:class:`BlobRecord` ciphertext sealed with the deployment's key (R24). Timestamps are
timezone-aware UTC ``datetime`` values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from kernel.auth.roles import Role

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
    console: str | None = None
    """The ``[node] id`` of the console that runs it (issue 13): only that console publishes
    its watch list to its edges; ``None`` (made on a single box or by a tool with no node
    config): every console publishes it."""


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

    ``episode_id``: the episode this sighting belongs to (:mod:`kernel.domain.episodes`), the
    id of its first sighting; None for a blue-list event and for alerts stored before
    episodes. ``seen_again``: a sighting that is not the episode's alert to officers (later
    sightings of a confirmed person, and those confirmed with the episode): once confirmed it
    reaches officers as an update of that alert, never as an alert of its own.
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
    episode_id: str | None = None
    seen_again: bool = False


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


class EdgeRecord(msgspec.Struct, kw_only=True, frozen=True):
    """What a console last read of one edge's report (issue 13), kept in the store so that
    every console sharing it shows every console's edges in the force-wide view: ids only."""

    node_id: str
    console: str
    """The console that read it (its ``[node] id``)."""
    cameras: tuple[str, ...]
    deployments: tuple[str, ...]
    """The deployments whose watch list the edge held."""
    reported_at: datetime
    """When the edge made that report."""


class DeploymentTally(msgspec.Struct, kw_only=True, frozen=True):
    """One deployment's counts for the force-wide view (issue 13), added up by the store:
    ids and numbers only, never an image, an entry or a name. Watch-list alerts only (the
    blue list's test events are not candidates)."""

    deployment_id: str
    cameras: tuple[str, ...]
    """Every camera that counted a face or raised an alert for it, sorted."""
    faces_seen: int
    candidates: int
    """Watch-list sightings raised (each stored candidate, whatever became of it)."""
    pending: int
    """Of those, still undecided."""
    confirmed: int
    """Confirmed alerts, one per person (a confirmed seen-again sighting is not counted)."""
    rejected: int
    outcomes: dict[str, int]
    """Recorded outcomes by kind (R7); absent kinds are left out."""
    held: int
    """Alerts on legal hold (R14): kept past the retention date."""


class BlueWalk(msgspec.Struct, kw_only=True, frozen=True):
    """A declared walk-past of a blue-list volunteer (R21): "walking past camera N now".

    The volunteer should be detected on ``camera_id`` between ``at`` (the tap) and
    ``until``. A walk declared without a window (``until`` None: the CLI, older rows) is
    scored over ``at`` ± :data:`kernel.domain.bluelist_scores.LEGACY_WINDOW_S`, and without a
    camera on any camera (:mod:`kernel.domain.bluelist_scores`)."""

    deployment_id: str
    entry_id: str
    at: datetime
    until: datetime | None = None
    camera_id: str | None = None


# accounts of the HTTP API and the CLI (R23), push subscriptions (R6)

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
    database does not hand out live cookies); ``csrf`` is the session's CSRF token;
    ``device_id`` the enrolled device it belongs to (``None``: a plain browser login)."""

    id: str
    user: str
    csrf: str
    created_at: datetime
    last_seen_at: datetime
    device_id: str | None = None


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
    device_id: str | None = None
    """The enrolled device it belongs to (revoking the device deletes it), if any."""


DeliveryPath = Literal["", "mqtt", "feed"]
"""How a device last took its alerts: over MQTT, over the live feed, or not yet ("")."""


class DeviceRecord(msgspec.Struct, kw_only=True):
    """An officer's enrolled tablet (issue 14, R23): its sessions, push subscription and MQTT
    account belong to it. ``token_hash`` is the SHA-256 of the device cookie (never the
    cookie); ``revoked_at`` set: the device was revoked and nothing of it works any more."""

    id: str
    user: str
    label: str
    token_hash: str
    enrolled_by: str
    enrolled_at: datetime
    last_seen_at: datetime
    app_version: str = ""
    delivery: DeliveryPath = ""
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    deployment_id: str | None = None
    """The live deployment whose alerts the device takes now (set by the server when it
    grants the device its MQTT login or the device reports its path): receipts are accepted
    for that deployment's alerts only."""


ReceiptKind = Literal["delivered", "opened", "responding"]
"""What a device says of a confirmed alert: it arrived, the officer opened it, the officer
is responding (so the other officers see it is taken)."""
ReceiptPath = Literal["mqtt", "webpush", "feed"]
"""Which path brought the alert to the device (a ``delivered`` receipt's; the other kinds
repeat the path it was delivered by)."""


class ReceiptRecord(msgspec.Struct, kw_only=True, frozen=True):
    """One receipt of one enrolled device for one confirmed alert (issue 14): ids, a kind, a
    path and a time, never an image or a name of the person (R6). One per alert, device and
    kind: a replayed receipt is the first one."""

    alert_id: str
    device_id: str
    user: str
    kind: ReceiptKind
    path: ReceiptPath
    at: datetime


class EnrolmentCodeRecord(msgspec.Struct, kw_only=True, frozen=True):
    """A one-time enrolment code issued on the console for one officer's device: only its
    SHA-256 is stored; it is deleted when used and worthless after ``expires_at``."""

    code_hash: str
    user: str
    label: str
    issued_by: str
    issued_at: datetime
    expires_at: datetime
