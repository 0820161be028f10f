"""Row mapping shared by the SQL stores: a row of a Pinchpoint table, as ``store.sqlite`` or
``store.postgres`` hands it back, made into its record of :mod:`kernel.domain.records`.

Both engines name the columns alike, so one function per table reads either a
``sqlite3.Row`` or an ``asyncpg.Record``. They differ only in how a value comes back: SQLite
gives ISO-8601 text for a time, 0/1 for a flag and a ``memoryview`` for a BLOB, PostgreSQL a
``datetime``, a ``bool`` and ``bytes``; :func:`when` and the ``bool``/``bytes`` calls take
either. JSON columns are text on both (sorted keys), so what was written reads back equal and
the audit hash chain verifies on either engine.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Protocol

import msgspec

from kernel.domain.records import (
    AlertRecord,
    AuditRecord,
    BlobRecord,
    BlueWalk,
    DeploymentRecord,
    DeviceRecord,
    DisposalRecord,
    EdgeRecord,
    EnrolmentCodeRecord,
    EntryRecord,
    FaceCount,
    LoginFailures,
    PhotoGate,
    PhotoRecord,
    PushSubscriptionRecord,
    ReceiptRecord,
    ReviewRecord,
    SessionRecord,
    TransitionRecord,
    UserRecord,
)
from kernel.protocols.sink import AlertNotice


class Row(Protocol):
    """A database row addressed by column name (``sqlite3.Row``, ``asyncpg.Record``)."""

    def __getitem__(self, key: str, /) -> Any: ...


def when(value: str | datetime) -> datetime:
    """A stored time: ISO-8601 text (SQLite) or a ``datetime`` (PostgreSQL ``timestamptz``)."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def maybe_when(value: str | datetime | None) -> datetime | None:
    return None if value is None else when(value)


def iso(value: str | datetime) -> str:
    """A stored time as the ISO-8601 text that notices carry (``AlertNotice.confirmed_at``)."""
    return value.isoformat() if isinstance(value, datetime) else value


def deployment(r: Row) -> DeploymentRecord:
    return DeploymentRecord(
        id=r["id"], name=r["name"], authorising_officer=r["authorising_officer"],
        location=r["location"], starts_at=when(r["starts_at"]), ends_at=when(r["ends_at"]),
        objectives=r["objectives"], case_reference=r["case_reference"],
        command_team=json.loads(r["command_team"]), state=r["state"],
        created_at=when(r["created_at"]), created_by=r["created_by"],
        watchlist_version=r["watchlist_version"], match_threshold=r["match_threshold"],
        live_at=maybe_when(r["live_at"]), ended_at=maybe_when(r["ended_at"]),
        console=r["console"])


def transition(r: Row) -> TransitionRecord:
    return TransitionRecord(deployment_id=r["deployment_id"], from_state=r["from_state"],
                            to_state=r["to_state"], actor=r["actor"], at=when(r["at"]))


def blob(r: Row) -> BlobRecord:
    return BlobRecord(id=r["id"], deployment_id=r["deployment_id"], kind=r["kind"],
                      nonce=bytes(r["nonce"]), ciphertext=bytes(r["ciphertext"]))


def entry(r: Row) -> EntryRecord:
    return EntryRecord(id=r["id"], deployment_id=r["deployment_id"], list=r["list"],
                       category=r["category"], marking=r["marking"],
                       details_blob=r["details_blob"], created_at=when(r["created_at"]),
                       created_by=r["created_by"])


def photo(r: Row) -> PhotoRecord:
    return PhotoRecord(key=r["key"], entry_id=r["entry_id"], deployment_id=r["deployment_id"],
                       photo_blob=r["photo_blob"], template_blob=r["template_blob"],
                       model_id=r["model_id"], quality=json.loads(r["quality"]),
                       created_at=when(r["created_at"]),
                       gate=msgspec.json.decode(r["gate"], type=PhotoGate))


def review(r: Row) -> ReviewRecord:
    return ReviewRecord(deployment_id=r["deployment_id"], reviewer=r["reviewer"],
                        reviewed_at=when(r["reviewed_at"]),
                        watchlist_version=r["watchlist_version"], entries=r["entries"])


def blue_walk(r: Row) -> BlueWalk:
    return BlueWalk(deployment_id=r["deployment_id"], entry_id=r["entry_id"], at=when(r["at"]),
                    until=maybe_when(r["until"]), camera_id=r["camera_id"])


def alert(r: Row) -> AlertRecord:
    return AlertRecord(
        id=r["id"], deployment_id=r["deployment_id"], entry_id=r["entry_id"],
        list=r["list"], category=r["category"], camera_id=r["camera_id"], score=r["score"],
        captured_at=when(r["captured_at"]), created_at=when(r["created_at"]),
        state=r["state"], face_blob=r["face_blob"], torso_blob=r["torso_blob"],
        decided_by=r["decided_by"], decided_at=maybe_when(r["decided_at"]),
        outcome=r["outcome"], outcome_by=r["outcome_by"],
        outcome_at=maybe_when(r["outcome_at"]), hold=bool(r["hold"]), hold_by=r["hold_by"],
        hold_at=maybe_when(r["hold_at"]), released_by=r["released_by"],
        released_at=maybe_when(r["released_at"]), episode_id=r["episode_id"],
        seen_again=bool(r["seen_again"]))


def notice(r: Row) -> AlertNotice:
    return AlertNotice(seq=r["seq"], alert_id=r["alert_id"], deployment_id=r["deployment_id"],
                       category=r["category"], camera_id=r["camera_id"],
                       confirmed_at=iso(r["confirmed_at"]))


def audit(r: Row) -> AuditRecord:
    return AuditRecord(seq=r["seq"], at=when(r["at"]), actor=r["actor"], action=r["action"],
                       subjects=json.loads(r["subjects"]), details=json.loads(r["details"]),
                       prev_hash=r["prev_hash"], hash=r["hash"])


def disposal(r: Row) -> DisposalRecord:
    return DisposalRecord(at=when(r["at"]), deployment_id=r["deployment_id"], kind=r["kind"],
                          count=r["count"], rule=r["rule"], actor=r["actor"])


def edge(r: Row) -> EdgeRecord:
    return EdgeRecord(node_id=r["node_id"], console=r["console"],
                      cameras=tuple(json.loads(r["cameras"])),
                      deployments=tuple(json.loads(r["deployments"])),
                      reported_at=when(r["reported_at"]))


def face_count(r: Row) -> FaceCount:
    return FaceCount(deployment_id=r["deployment_id"], camera_id=r["camera_id"],
                     minute=when(r["minute"]), seen=r["seen"], matched=r["matched"])


def user(r: Row) -> UserRecord:
    return UserRecord(name=r["name"], role=r["role"], password_hash=r["password_hash"],
                      enabled=bool(r["enabled"]), created_at=when(r["created_at"]),
                      created_by=r["created_by"],
                      password_changed_at=when(r["password_changed_at"]))


def login_failures(r: Row) -> LoginFailures:
    return LoginFailures(name=r["name"], failures=r["failures"],
                         last_failure_at=when(r["last_failure_at"]),
                         locked_until=maybe_when(r["locked_until"]))


def session(r: Row) -> SessionRecord:
    return SessionRecord(id=r["id"], user=r["user_name"], csrf=r["csrf"],
                         created_at=when(r["created_at"]),
                         last_seen_at=when(r["last_seen_at"]), device_id=r["device_id"])


def push_subscription(r: Row) -> PushSubscriptionRecord:
    return PushSubscriptionRecord(endpoint=r["endpoint"], user=r["user_name"],
                                  p256dh=r["p256dh"], auth=r["auth"], device=r["device"],
                                  deployment_id=r["deployment_id"],
                                  created_at=when(r["created_at"]), device_id=r["device_id"])


def device(r: Row) -> DeviceRecord:
    return DeviceRecord(id=r["id"], user=r["user_name"], label=r["label"],
                        token_hash=r["token_hash"], enrolled_by=r["enrolled_by"],
                        enrolled_at=when(r["enrolled_at"]),
                        last_seen_at=when(r["last_seen_at"]), app_version=r["app_version"],
                        delivery=r["delivery"], revoked_at=maybe_when(r["revoked_at"]),
                        revoked_by=r["revoked_by"], deployment_id=r["deployment_id"])


def receipt(r: Row) -> ReceiptRecord:
    return ReceiptRecord(alert_id=r["alert_id"], device_id=r["device_id"], user=r["user_name"],
                         kind=r["kind"], path=r["path"], at=when(r["at"]))


def enrolment_code(r: Row) -> EnrolmentCodeRecord:
    return EnrolmentCodeRecord(code_hash=r["code_hash"], user=r["user_name"], label=r["label"],
                               issued_by=r["issued_by"], issued_at=when(r["issued_at"]),
                               expires_at=when(r["expires_at"]))
