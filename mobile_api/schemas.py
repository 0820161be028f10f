"""Request and response bodies of the API (msgspec Structs; the OpenAPI schema comes from
these). Multipart uploads are dataclasses because Litestar binds ``UploadFile`` lists only to
those. Nothing here carries a template; watch-list details appear only in :class:`EntryOut`,
served to the roles of :data:`mobile_api.roles.WATCHLIST` (R11)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from litestar.datastructures import UploadFile

from kernel.auth.roles import Role
from kernel.domain.records import AlertState, Category, DeploymentState, ListKind, Outcome
from kernel.domain.thresholds import FLOOR
from mobile_api.settings import Calibration

Short = Annotated[str, msgspec.Meta(max_length=200)]
Text = Annotated[str, msgspec.Meta(max_length=4000)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class ErrorOut(msgspec.Struct, kw_only=True):
    """Every error: the HTTP status and a sentence for the user."""

    status_code: int
    detail: str


# sessions ---------------------------------------------------------------------------------
class LoginIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    password: Annotated[str, msgspec.Meta(max_length=1024)]


class UnlockOut(msgspec.Struct, kw_only=True):
    """An account's failed-login counts cleared by an admin (``failures_cleared``: how many
    the account had)."""

    user: str
    failures_cleared: int


UserName = Annotated[str, msgspec.Meta(min_length=1, max_length=64,
                                        pattern=r"^[A-Za-z0-9._@-]+$")]
"""A user name as :func:`kernel.auth.accounts.valid_name` has it (checked again there)."""
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
"""The policy (length, variety, common passwords) is :func:`kernel.auth.passwords.check_policy`'s;
the bound here only keeps an over-long body from reaching the hasher."""


class UserIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new account (R23): name, role and a first password under the password policy."""

    name: UserName
    role: Role
    password: Password


class PasswordIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new password set by an admin; every session of the user ends."""

    password: Password


class UserChangeOut(msgspec.Struct, kw_only=True):
    """What an admin action did: ``action`` as audited (``user.<action>``), and how many of
    the user's sessions it ended (disable, password reset, end sessions)."""

    user: str
    action: str
    sessions_ended: int = 0


class MeOut(msgspec.Struct, kw_only=True):
    """Who is logged in; ``csrf_token`` goes into ``X-CSRF-Token`` on every POST, PUT,
    PATCH and DELETE."""

    user: str
    role: Role
    csrf_token: str
    idle_timeout_s: float
    absolute_timeout_s: float
    device_id: str | None = None
    """The enrolled device this session belongs to (``None``: a plain browser login)."""


# deployments ----------------------------------------------------------------------------
class DeploymentIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new deployment and its authorisation (R18)."""

    name: Short
    authorising_officer: Short
    location: Short
    starts_at: datetime
    ends_at: datetime
    objectives: Text
    case_reference: Short
    command_team: Annotated[list[Short], msgspec.Meta(max_length=50)] = []
    match_threshold: float | None = None


class WipeIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Wipe a deployment (R16): its name typed exactly, to confirm, and why (audited)."""

    confirm_name: Short
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class WipeCountOut(msgspec.Struct, kw_only=True):
    kind: str
    count: int


class WipeOut(msgspec.Struct, kw_only=True):
    """What the wipe destroyed (the disposal records, R17): kinds and counts only."""

    deployment_id: str
    disposals: list[WipeCountOut]


class DeploymentOut(msgspec.Struct, kw_only=True):
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
    watchlist_version: int
    match_threshold: float | None
    live_at: datetime | None
    ended_at: datetime | None
    console: str | None = None
    """The ``[node] id`` of the console that runs it (issue 13); ``None``: every console
    publishes its watch list."""


# watch lists ------------------------------------------------------------------------------
@dataclass
class EntryUpload:
    """A new entry (R8) with one or more photos; every photo is checked (R10).

    For the blue list (R21) ``category`` is ignored (always ``blue``). ``accept_reason``
    enrols photos the quality gate soft-refused (small, turned, blurred, unclear: see
    :class:`ImageResult` ``acceptable``) with that reason recorded and audited; trimmed, 1–500
    characters. It never overrides a hard refusal (no face, several faces, not an image, too
    large)."""

    reference: str
    category: str
    source: str
    reason: str
    marking: str = "OFFICIAL-SENSITIVE"
    photos: list[UploadFile] = field(default_factory=list)
    accept_reason: str | None = None


@dataclass
class PhotoUpload:
    """More photos for an existing entry (several photos per entry, R8); ``accept_reason`` as
    in :class:`EntryUpload`."""

    photos: list[UploadFile] = field(default_factory=list)
    accept_reason: str | None = None


class ImageResult(msgspec.Struct, kw_only=True):
    """One uploaded image: enrolled, or refused with the reason (R10).

    ``gates``: the enrolment gates the face missed. ``acceptable``: a soft refusal, which the
    enroller may accept by sending the photo again with ``accept_reason``; ``cost`` then says
    what enrolling it is expected to cost (measured) and ``measurements`` what the gate saw
    (face_px, sharpness, yaw, pitch, score). ``accepted``: enrolled below the gate with the
    reason given. ``found``: ``direct``, or ``padded`` when the face was found only after a
    border was added to a tightly framed photo."""

    file: str
    ok: bool
    message: str
    rejection: str | None = None
    key: int | None = None
    gates: list[str] = []
    acceptable: bool = False
    cost: str = ""
    measurements: dict[str, float] = {}
    accepted: bool = False
    found: str | None = None


class UploadOut(msgspec.Struct, kw_only=True):
    entry_id: str | None
    enrolled: int
    rejected: int
    results: list[ImageResult]


class PhotoGateOut(msgspec.Struct, kw_only=True):
    """How one photo of an entry passed the enrolment gate (R10): ``found`` ``direct`` or
    ``padded``; ``below_gate`` the soft gates it missed and ``accept_reason`` the recorded
    reason it was enrolled anyway (both empty when it passed)."""

    found: str
    below_gate: list[str] = []
    accept_reason: str = ""


class EntryOut(msgspec.Struct, kw_only=True):
    """A watch-list or blue-list entry with its details (R8; roles per R11)."""

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
    photo_gates: tuple[PhotoGateOut, ...] = ()
    """How each photo, oldest first, passed the enrolment gate (R10)."""


class ReviewOut(msgspec.Struct, kw_only=True):
    """The last review (R9); ``current`` tells whether it still covers the list as it is."""

    reviewer: str
    reviewed_at: datetime
    watchlist_version: int
    entries: int
    current: bool


class BlueWalkIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A blue-list volunteer's declared walk-past (R21): "walking past camera N now".

    Without ``at`` the walk starts now (the server's clock); it is then scored over the next
    ``seconds`` (default 60) on ``camera_id`` (any camera when absent). With ``at`` and
    neither ``seconds`` nor ``camera_id`` it is the point declaration of before (scored over
    ``at`` ± 120 s on any camera)."""

    entry_id: Short
    at: datetime | None = None
    camera_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    seconds: Annotated[float, msgspec.Meta(gt=0, le=600)] | None = None


# alerts -----------------------------------------------------------------------------------
class AlertImagesOut(msgspec.Struct, kw_only=True):
    """Authenticated URLs of an alert's images (R6, R24)."""

    face: str
    torso: str
    watchlist: str


class AlertOut(msgspec.Struct, kw_only=True):
    """A candidate or alert: facts, decisions and image links; no name or reference."""

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
    decided_by: str | None
    decided_at: datetime | None
    outcome: Outcome | None
    outcome_by: str | None
    outcome_at: datetime | None
    hold: bool
    late: bool
    """It reached the store more than ``[node] late_after_s`` after capture (an edge's
    candidate queued while its link was down): shown as late, never dropped."""
    images: AlertImagesOut
    episode_id: str | None = None
    """The episode (one person's repeated sightings, issue 15) it belongs to."""
    seen_again: bool = False
    """A later sighting: an update of the episode's alert, never an alert of its own."""


class EpisodeOut(msgspec.Struct, kw_only=True):
    """One person's episode in the console (issue 15): decided once, every sighting shown."""

    id: str
    deployment_id: str
    entry_id: str
    category: Category
    state: Literal["open", "confirmed", "rejected"]
    alert_id: str | None
    first_at: datetime
    last_at: datetime
    best_score: float
    pending: int
    sightings: list[AlertOut]


RejectReason = Literal["not_the_person", "poor_image", "duplicate", "not_relevant", "other"]


class RejectIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Why the operator rejected a candidate (R5): a code, never free text about a person."""

    reason: RejectReason


class OutcomeIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What the officer did (R7)."""

    outcome: Outcome


class HoldIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Legal hold (R14). ``reason`` is audited: a case or complaint reference, no names."""

    reason: Annotated[str, msgspec.Meta(max_length=100)] = ""


# settings ---------------------------------------------------------------------------------
class SettingsOut(msgspec.Struct, kw_only=True):
    """The deployment's match threshold (``None``: the engine's default) and, when the
    configuration carries one, the calibration figure to judge it by (R22)."""

    deployment_id: str
    match_threshold: float | None
    calibration: Calibration | None
    floor: float = FLOOR
    """The lowest threshold anything may be set to (kernel.domain.thresholds, R3)."""


class SettingsIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    match_threshold: float | None


# push -------------------------------------------------------------------------------------
class PushKeys(msgspec.Struct, kw_only=True):
    p256dh: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    auth: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class PushSubscriptionIn(msgspec.Struct, kw_only=True):
    """``PushSubscription.toJSON()`` of the PWA, plus an optional device label and the
    deployment to be woken for (``None``: any)."""

    endpoint: Annotated[str, msgspec.Meta(min_length=8, max_length=2000,
                                          pattern="^https://")]
    keys: PushKeys
    device: Annotated[str, msgspec.Meta(max_length=100)] = ""
    deployment_id: Short | None = None


class PushSubscriptionOut(msgspec.Struct, kw_only=True):
    endpoint: str
    device: str
    deployment_id: str | None
    created_at: datetime


class VapidKeyOut(msgspec.Struct, kw_only=True):
    """The Web Push application server key (RFC 8292), base64url."""

    public_key: str


class MqttCredentialsIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The live deployment whose alerts the officer's app wants over MQTT."""

    deployment_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128,
                                               pattern=r"^[A-Za-z0-9_.-]+$")]


class MqttCredentialsOut(msgspec.Struct, kw_only=True):
    """An MQTT-over-WebSockets login for this session only (deleted at logout): subscribe to
    ``topic`` with ``client_id``; the broker refuses anything else (R6, R23)."""

    ws_url: str
    username: str
    password: str
    client_id: str
    topic: str


# enrolled devices (issue 14) --------------------------------------------------------------
class EnrolmentCodeIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Issue a one-time code for a device of ``officer``; ``label`` names the tablet on the
    device list (a call sign or asset tag, never a person's details)."""

    officer: UserName
    label: Annotated[str, msgspec.Meta(max_length=64)] = ""


class EnrolIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The code shown on the console, as typed on the tablet (case, spaces and dashes do not
    matter), and the app's version."""

    code: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    app_version: Annotated[str, msgspec.Meta(max_length=40)] = ""


class DeviceReportIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """How this device takes its alerts now, and the app version it runs."""

    delivery: Literal["mqtt", "feed"] | None = None
    app_version: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    deployment_id: Annotated[str, msgspec.Meta(max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
                             ] | None = None
    """The live deployment whose alerts the device takes now (its receipts are for those)."""


class AlarmIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The officer muted (``true``) or unmuted the alarm of this app (the session's own: a
    body naming another device or user is refused)."""

    muted: bool


class AlarmOut(msgspec.Struct, kw_only=True, frozen=True):
    """The alarm's state as recorded, and the device it was recorded for (``None``: a
    session of no enrolled device)."""

    muted: bool
    device_id: str | None


class ReceiptIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """This device's receipt for a confirmed alert (the device is the session's: a body
    naming another device is refused). ``path`` with ``delivered`` only."""

    kind: Literal["delivered", "opened", "responding"]
    path: Literal["mqtt", "webpush", "feed"] | None = None
