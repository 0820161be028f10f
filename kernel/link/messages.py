"""What travels between an edge and a console: msgspec Structs, sealed where personal.

In clear (the broker sees them): ids, versions, times, counters. Sealed with the link
cipher (:mod:`kernel.link.cipher`, a key per deployment): the candidate's crops and score,
the watch-list templates. Never anything of a face that matched nothing (R3).
"""

from __future__ import annotations

import re
from typing import Annotated

import msgspec

KEY_PATTERN = re.compile(r"^[0-9a-f]{16}$")
"""An edge-assigned candidate key: the alert id it becomes (``secrets.token_hex(8)``, the
shape the console's own ids have)."""


class SealedCandidateMessage(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One candidate on the stream. ``sealed`` opens (AES-GCM, the deployment's evidence
    key, bound to ``key`` and ``deployment_id``) to a :class:`CandidatePayload`."""

    key: str
    node_id: str
    deployment_id: str
    list_version: int
    """The version of the deployment's bundle the edge matched against."""
    captured_at: float
    """Epoch seconds of the frame: a candidate queued while the link was down arrives late,
    and the console tells by this."""
    sealed: bytes


class CandidatePayload(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Inside the seal: exactly what the pipeline hands the governed core today (R4)."""

    entry_id: str
    camera_id: str
    score: float
    face_jpeg: bytes
    torso_jpeg: bytes


Count = Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]
"""Faces (tracks) one camera saw in one minute: far beyond any real corridor, still bounded."""


class MinuteTally(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One camera's faces of (part of) one minute: a number, nothing of any face (R3, R20)."""

    camera_id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    minute: float
    """Epoch seconds of the minute (UTC, seconds zero)."""
    seen: Count
    matched: Count


class FaceCountsMessage(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An edge's face counts since its last flush, for each deployment it matched for then
    (the lists it held). In clear: ids and numbers only. The console adds them to the
    deployments' per-minute counts, which its report and published record sum (R20)."""

    key: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{16}$")]
    node_id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    deployments: Annotated[tuple[Annotated[str, msgspec.Meta(
        pattern=r"^[A-Za-z0-9_-]{1,64}$")], ...], msgspec.Meta(max_length=256)]
    counts: Annotated[tuple[MinuteTally, ...], msgspec.Meta(max_length=100_000)]


class ListedTemplate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One watch- or blue-list photo's template, as the matcher indexes it."""

    key: int
    entry_id: str
    blue: bool
    model_id: str
    """The engine and alignment that made it: an edge searches only its own model's."""
    embedding: bytes
    """float32 little-endian, L2-normalised."""


class ListBundle(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Inside the seal of a deployment's published watch list."""

    deployment_id: str
    watchlist_version: int
    threshold: float
    """The decision threshold the console's config gives this deployment."""
    templates: tuple[ListedTemplate, ...]


class SealedList(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A bundle as stored on the broker: ``sealed`` opens with the deployment's list key."""

    deployment_id: str
    sealed: bytes


class HeldList(msgspec.Struct, frozen=True):
    """A deployment's list as an edge holds it: the acknowledgement the console shows."""

    deployment_id: str
    version: int
    templates: int


class CameraReport(msgspec.Struct, frozen=True):
    camera_id: str
    state: str
    processed: int
    dropped: int


class EdgeReport(msgspec.Struct, frozen=True):
    """What an edge reports of itself, every ``report_s`` and at once after a list change."""

    node_id: str
    at: float
    lists: tuple[HeldList, ...]
    cameras: tuple[CameraReport, ...]
    queued: int
    """Candidates waiting for the link."""
    published: int
    refused: int
    """Candidates refused because the queue was full (each a lost match, logged)."""


class DeadLetter(msgspec.Struct, frozen=True):
    """A refused stream message, described; its body is never copied (it may be sealed
    evidence, or anything)."""

    seq: int
    key: str | None
    size: int
    reason: str
    at: float
